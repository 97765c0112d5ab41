"""Every connection `serve` accepts has TCP_NODELAY, whatever binds the listening socket.

uvicorn binds the socket its workers share as `socket.socket(family)` (proto 0), and asyncio only
switches Nagle's algorithm off on sockets created as TCP; these tests accept from such a socket
on asyncio's loop (uvloop would set the option itself and hide a protocol that does not).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
import uvicorn

import gateway.serving
from gateway.cli import main
from gateway.nodelay import NoDelayH11Protocol, NoDelayHttpToolsProtocol


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _accepted_nodelay(http: type[asyncio.Protocol] | str) -> int:
    """TCP_NODELAY of the server side of one keep-alive connection, as uvicorn's workers accept it."""
    config = uvicorn.Config(
        _app, host="127.0.0.1", port=0, http=http, loop="asyncio", lifespan="off",
        log_level="warning", workers=2,
    )  # fmt: skip
    config.load()
    listener = config.bind_socket()  # what the supervisor of `--workers 2` binds
    assert listener.proto == 0
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)  # as Server.serve sets it up
    await server.startup(sockets=[listener])
    try:
        reader, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        writer.write(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        await writer.drain()
        assert (await reader.readuntil(b"ok")).startswith(b"HTTP/1.1 200")
        (protocol,) = server.server_state.connections
        accepted = protocol.transport.get_extra_info("socket")  # type: ignore[attr-defined]
        value = int(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()
        await writer.wait_closed()
        return value
    finally:
        server.should_exit = True
        await server.shutdown(sockets=[listener])
        listener.close()


@pytest.mark.parametrize("protocol", [NoDelayHttpToolsProtocol, NoDelayH11Protocol])
async def test_accepted_connections_have_tcp_nodelay(protocol: type[asyncio.Protocol]) -> None:
    assert await _accepted_nodelay(protocol) == 1


@pytest.mark.parametrize("protocol", ["httptools", "h11"])
async def test_uvicorn_protocols_alone_leave_nagle_on(protocol: str) -> None:
    """Why gateway.nodelay exists: when this fails, uvicorn sets the option itself."""
    assert await _accepted_nodelay(protocol) == 0


def test_serve_runs_httptools_without_nagle_on_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    handed: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: handed.update(k))
    for name in ("DATABASE_URL", "INSIGHTS_AUTH"):  # serve hands these to its workers
        monkeypatch.setenv(name, "")
    database = "sqlite+aiosqlite:///:memory:"
    assert main(["serve", "--auth", "off", "--no-migrate", "--database", database]) == 0
    protocol = uvicorn.Config(_app, http=handed["http"]).http
    assert uvicorn.importer.import_from_string(protocol) is NoDelayHttpToolsProtocol
    assert handed["loop"] == "uvloop" == gateway.serving.EVENT_LOOP
