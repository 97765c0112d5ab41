"""Checks a command makes before it starts work, each answering with the one line to print.

They exist so that a mistake (a mistyped database path, a taken port) is named before anything
happens: SQLite would otherwise create an empty file at a mistyped path, and uvicorn would find the
port taken only after `serve` has announced where it serves.
"""

from __future__ import annotations

import errno
import os
import socket

from sqlalchemy.engine import make_url


def sqlite_file(url: str) -> str | None:
    """The file a SQLite URL names (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or "memory" in str(parsed.query.get("mode", "")):
        return None
    if database.startswith("file:"):  # a URI filename (`?uri=true`)
        database = database[len("file:") :].split("?", 1)[0]
    return database


def missing_database(url: str) -> str | None:
    """Why `url` names no existing database, or None: only a SQLite file can be seen missing.

    (A server database that does not exist is the server's answer on connecting.)
    """
    path = sqlite_file(url)
    if path is None or os.path.exists(path):
        return None
    return (
        f"no database file {path!r}: build the demo with `insights-gateway demo` "
        "or create an empty one with `insights-gateway db upgrade`"
    )


def port_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on `host:port`, or None when it can (bound and released).

    The family and socket options are uvicorn's (IPv6 for a host with a colon, else IPv4;
    SO_REUSEADDR), so a port in TIME_WAIT passes as it would for the server, and a port another
    process listens on fails as it would.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host.strip("[]"), port, family=family, type=socket.SOCK_STREAM
        )[0]
    except (socket.gaierror, UnicodeError) as error:
        return f"cannot listen on {host}:{port}: unknown host ({error})"
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is in use: stop what holds it or pick --port"
            if error.errno == errno.EACCES:
                return f"no permission to listen on port {port} (ports below 1024 need root)"
            if error.errno == errno.EADDRNOTAVAIL:
                return f"cannot listen on {host}: not an address of this machine"
            return f"cannot listen on {host}:{port}: {error.strerror or error}"
    return None
