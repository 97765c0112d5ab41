"""uvicorn's HTTP protocols with TCP_NODELAY on every accepted connection.

asyncio sets TCP_NODELAY only on sockets whose `proto` is IPPROTO_TCP. With `--workers` above 1,
uvicorn binds the listening socket itself as `socket.socket(family)` (proto 0) and the workers
accept from it, so their connections keep Nagle's algorithm: a response written in two pieces
(headers, then body) waits for the client's delayed ACK, ~40 ms per keep-alive request after the
first. Setting the option on the accepted socket in `connection_made` makes every serving mode
alike, whatever the event loop (uvloop happens to set it too; asyncio does not); WebSocket
upgrades start from these protocols, so they get it too.

`serve` runs `NoDelayHttpToolsProtocol` (httptools' parser); `NoDelayH11Protocol` is the pure
Python stack it replaced, kept for `bench/server_bench.py`'s comparison.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    """Switch Nagle's algorithm off on the transport's TCP socket (Unix sockets have none)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, without Nagle's algorithm (what `serve` runs)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, without Nagle's algorithm."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)
