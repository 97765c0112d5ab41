"""Shared subscriptions across the gateway processes of one host: one computes, the others relay.

`serve --workers N` starts N processes, and each used to compute every distinct subscription of
its own subscribers: with the same documents and viewers in every process, each change cost the
same SQL N times on the same cores. Here the processes given one private directory
(`INSIGHTS_SUBSCRIPTION_SHARING_DIR`; `serve` makes a fresh one for its workers) elect a leader
with an exclusive lock on a file in it. The leader serves a Unix socket in the same directory;
every other process (a follower) opens its distinct subscriptions there instead of computing
them, and relays the results it receives to its own subscribers, unchanged (the leader encoded
them once). The leader runs them in its own `Hub` groups, beside its local subscribers of the same
document, variables and viewer: the SQL a change causes follows the distinct subscriptions of all
the processes, not the processes or the subscribers.

- Scope: the viewer each follower authenticated is part of what it asks for; the leader computes
  the subscription for exactly that viewer (`Key`), as it would for a local subscriber.
- The directory is created private (0700) by `serve`; only processes of the same user reach it.
- A follower holds at most one pending result per subscription and the leader sends each
  subscription's latest result only (`Subscriber`), so a slow follower holds up no one.
- When the leader exits, its followers lose the socket; one of them takes the lock and leads,
  the others connect to it, and every subscription goes on (it receives the current result
  again, which the group does not send twice). A follower that cannot reach a leader computes
  its subscriptions itself: unshared but never wrong.

The wire is one line per message: a follower sends `o` + JSON (id, document, variables,
operation name, viewer) to open and `x <id>` to close; the leader sends `r <id> <result JSON>`,
`e <id>` + JSON errors, and `c <id>` when a subscription completes.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.subscriptions import Key, LinkLost, Result, Subscriber, SubscriptionFailed
from resolvers.viewer import Role, Viewer

log = logging.getLogger("insights_gateway")

LINE_LIMIT = 1 << 28  # a result is one line; a live report's may be large
CONNECT_SECONDS = 5.0  # how long a follower tries to reach a leader before computing itself
RETRY_SECONDS = 0.05


def viewer_to_wire(viewer: Viewer) -> dict[str, Any]:
    return {
        "role": viewer.role.value,
        "subject": viewer.subject,
        "agentId": viewer.agent_id,
        "teamIds": sorted(viewer.team_ids),
        "showContacts": viewer.show_contacts,
    }


def viewer_from_wire(value: dict[str, Any]) -> Viewer:
    return Viewer(
        Role(value["role"]),
        value["subject"],
        agent_id=value["agentId"],
        team_ids=frozenset(value["teamIds"]),
        show_contacts=bool(value["showContacts"]),
    )


@dataclass
class _Remote:
    """A subscription a follower opened at the leader: the latest result not yet relayed."""

    latest: Result | None = None
    end: list[dict[str, Any]] | None = None  # None: open; []: complete; errors: failed
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class _Link:
    """A follower's connection to the leader."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.remotes: dict[int, _Remote] = {}
        self.lost = False
        self._ids = 0
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            while line := await self.reader.readline():
                kind, _, rest = line.decode().rstrip("\n").partition(" ")
                number, _, body = rest.partition(" ")
                remote = self.remotes.get(int(number))
                if remote is None:
                    continue  # closed meanwhile
                if kind == "r":
                    remote.latest = Result(json.loads(body), body)
                elif kind == "e":
                    remote.end = json.loads(body)
                elif kind == "c":
                    remote.end = []
                remote.wake.set()
        except (OSError, ValueError) as error:
            log.warning("subscription sharing: leader connection failed (%s)", error)
        finally:
            self.lost = True
            for remote in self.remotes.values():
                remote.wake.set()

    async def stream(self, key: Key) -> AsyncIterator[Result]:
        """The results the leader computes for `key`; raises `LinkLost` if the leader goes."""
        if self.lost:
            raise LinkLost
        self._ids += 1
        number, remote = self._ids, _Remote()
        self.remotes[number] = remote
        request = {
            "id": number,
            "query": key.query,
            "variables": key.variables,
            "operationName": key.operation_name,
            "viewer": viewer_to_wire(key.viewer),
        }
        try:
            self.writer.write(("o" + json.dumps(request) + "\n").encode())
            while True:
                if remote.latest is not None:
                    latest, remote.latest = remote.latest, None
                    yield latest
                elif remote.end is not None:
                    if remote.end:
                        raise SubscriptionFailed(remote.end)
                    return
                elif self.lost:
                    raise LinkLost
                else:
                    await remote.wake.wait()
                    remote.wake.clear()
        finally:
            self.remotes.pop(number, None)
            if not self.lost and remote.end is None:
                with contextlib.suppress(OSError, RuntimeError):
                    self.writer.write(f"x {number}\n".encode())

    def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(Exception):
            self.writer.close()


class Sharing:
    """This process's part in the sharing: leader (computes for all) or follower (relays)."""

    def __init__(self, directory: Path, hub: Any) -> None:
        self.directory = directory
        self.hub = hub  # gateway.subscriptions.Hub (which imports this module's users)
        self.leading = False
        self._lock_file: int | None = None
        self._server: asyncio.AbstractServer | None = None
        self._link: _Link | None = None
        self._electing = asyncio.Lock()
        self._served: set[asyncio.Task[None]] = set()

    @property
    def socket_path(self) -> str:
        return str(self.directory / "leader.sock")

    async def link(self) -> _Link | None:
        """The connection to the leader, or None when this process leads (or none is found)."""
        async with self._electing:
            if self.leading:
                return None
            if self._link is not None and not self._link.lost:
                return self._link
            loop = asyncio.get_running_loop()
            deadline = loop.time() + CONNECT_SECONDS
            while loop.time() < deadline:
                if self._try_to_lead():
                    await self._serve()
                    return None
                try:
                    reader, writer = await asyncio.open_unix_connection(
                        self.socket_path, limit=LINE_LIMIT
                    )
                except OSError:
                    await asyncio.sleep(RETRY_SECONDS)  # the leader is still starting
                    continue
                self._link = _Link(reader, writer)
                return self._link
            log.warning("subscription sharing: no leader reachable; computing here")
            return None

    def _try_to_lead(self) -> bool:
        if self._lock_file is None:
            path = self.directory / "leader.lock"
            self._lock_file = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        self.leading = True
        return True

    async def _serve(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)  # a former leader's
        self._server = await asyncio.start_unix_server(
            self._follower, self.socket_path, limit=LINE_LIMIT
        )
        os.chmod(self.socket_path, 0o600)

    async def _follower(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one follower: open its subscriptions here, send each one's latest result."""
        task = asyncio.current_task()
        if task is not None:
            self._served.add(task)
        opened: dict[int, tuple[Subscriber, asyncio.Task[None]]] = {}
        try:
            while line := await reader.readline():
                text = line.decode()
                if text.startswith("o"):
                    request = json.loads(text[1:])
                    key = Key(
                        request["query"],
                        request["variables"],
                        request["operationName"],
                        viewer_from_wire(request["viewer"]),
                    )
                    number = int(request["id"])
                    subscriber = self.hub.open(key, counted=False)
                    relaying = self._relay(number, subscriber, writer)
                    opened[number] = (subscriber, asyncio.get_running_loop().create_task(relaying))
                elif text.startswith("x "):
                    found = opened.pop(int(text[2:]), None)
                    if found is not None:
                        found[1].cancel()
                        self.hub.close(found[0])
        except (OSError, ValueError, KeyError) as error:
            log.warning("subscription sharing: a follower's connection failed (%s)", error)
        finally:
            for subscriber, relay in opened.values():
                relay.cancel()
                self.hub.close(subscriber)
            with contextlib.suppress(Exception):
                writer.close()
            if task is not None:
                self._served.discard(task)

    async def _relay(
        self, number: int, subscriber: Subscriber, writer: asyncio.StreamWriter
    ) -> None:
        try:
            async for result in subscriber.results():
                writer.write(f"r {number} {result.text}\n".encode())
                await writer.drain()  # a slow follower waits here; newer results replace older
            writer.write(f"c {number}\n".encode())
        except SubscriptionFailed as failed:
            writer.write(f"e {number} {json.dumps(failed.errors)}\n".encode())
        except (OSError, RuntimeError):
            pass  # the follower went away; its connection's handler closes the subscriptions
        finally:
            self.hub.close(subscriber)

    async def stop(self) -> None:
        if self._link is not None:
            self._link.close()
        if self._server is not None:
            self._server.close()
            for task in list(self._served):
                task.cancel()
            await asyncio.gather(*self._served, return_exceptions=True)
        if self._lock_file is not None:
            os.close(self._lock_file)  # releases the lock: another process may lead
            self._lock_file = None
