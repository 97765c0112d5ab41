"""Servers a benchmark starts as production runs them, and the token its clients send."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import jwt

ROOT = Path(__file__).resolve().parent.parent
JSON = {"content-type": "application/json"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def admin_token(secret: str) -> str:
    """What production clients send: a short-lived HS256 JWT with the admin role."""
    claims = {"sub": "bench", "role": "admin", "exp": int(time.time()) + 6 * 3600}
    return jwt.encode(claims, secret, algorithm="HS256")


def serve_gateway(url: str, port: int, jwt_secret: str, log: Path) -> subprocess.Popen[bytes]:
    """`insights-gateway serve --workers 2` with authentication on, JWTs signed with the secret."""
    env = os.environ | {"INSIGHTS_JWT_SECRET": jwt_secret, "INSIGHTS_GRAPHIQL": "false"}
    sink = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--auth", "on", "--workers", "2", "--port",
         str(port), "--database", url, "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=sink, stderr=sink,
    )  # fmt: skip


def wait_ready(
    port: int, server: subprocess.Popen[bytes], log: Path, path: str, body: bytes | None = None
) -> None:
    """Until `GET path` (or `POST path` with `body`) answers 200; SystemExit if it never does."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}; see {log}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            if body is None:
                conn.request("GET", path)
            else:
                conn.request("POST", path, body, JSON)
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"server did not become ready; see {log}")


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
