"""uvicorn's HTTP protocols with TCP_NODELAY on every accepted connection.

asyncio sets TCP_NODELAY only on sockets whose `proto` is IPPROTO_TCP. With `--workers` above 1,
uvicorn binds the listening socket itself as `socket.socket(family)` (proto 0) and the workers
accept from it, so their connections keep Nagle's algorithm: a response written in two pieces
(headers, then body) waits for the client's delayed ACK, ~40 ms per keep-alive request after the
first. Setting the option on the accepted socket in `connection_made` makes every serving mode
alike; WebSocket upgrades start from these protocols, so they get it too.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    """Switch Nagle's algorithm off on the transport's TCP socket (Unix sockets have none)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, without Nagle's algorithm."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        set_nodelay(transport)
        super().connection_made(transport)
