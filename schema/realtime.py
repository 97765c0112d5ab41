"""`realtime`: the live queue view (queues, agents) as of now, for a Query and a Subscription.

The types hold a `Picture` (resolvers/realtime.py) and hand each field to it; `queues` and
`agents` of one document share its statements.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from resolvers.realtime import AgentConditions, AgentNow, Picture, QueueNumbers, picture
from resolvers.viewer import Viewer
from schema.agent import Agent
from schema.base import StringFilter, context, from_row

F = strawberry.field


@strawberry.input(description="Conditions on the queues of the live picture.")
class RealtimeQueueFilter:
    queue: StringFilter | None = F(default=None, description="The queue's name.")


@strawberry.input(description="Conditions on the agents of the live picture; all set must hold.")
class RealtimeAgentFilter:
    agent_id: StringFilter | None = F(default=None, description="The agent's worker SID.")
    activity: StringFilter | None = F(
        default=None, description="The current activity (`isNull: true`: logged out)."
    )
    queue: StringFilter | None = F(
        default=None, description="A queue the agent serves (see `RealtimeAgent.queues`)."
    )


@strawberry.type(description="One queue now: waiting and handled work, its agents, and today.")
class RealtimeQueue:
    queue: str = F(description="The queue's name.")
    waiting_tasks: int = F(description="Tasks in this queue now, not yet accepted by an agent.")
    longest_wait: int | None = F(
        description="Seconds the longest-waiting of them has waited at `asOf`; null when none."
    )
    active_tasks: int = F(
        description="Tasks of this queue accepted by an agent, not yet in wrap-up."
    )
    wrapping_tasks: int = F(description="Tasks of this queue in wrap-up.")
    agents_available: int = F(
        description="Agents serving this queue whose current activity is the available one."
    )
    agents_unavailable: int = F(
        description="Agents serving this queue in another activity than available or offline."
    )
    agents_offline: int = F(description="Agents serving this queue who are offline or logged out.")
    handled_today: int = F(
        description="`handledConversations` of this queue today (workspace time zone)."
    )
    abandoned_today: int = F(description="`abandonedConversations` of this queue today.")
    service_level_today: float | None = F(
        description="`serviceLevel` of this queue today, with the settings' thresholds."
    )
    service_level_last_30_minutes: float | None = F(
        description="`serviceLevel` of this queue over the 30 minutes before `asOf`."
    )

    @classmethod
    def of(cls, numbers: QueueNumbers) -> RealtimeQueue:
        return cls(**vars(numbers))


@strawberry.type(description="One agent now: current activity, tasks in hand, queues served.")
class RealtimeAgent:
    agent: Agent = F(description="The agent.")
    activity: str | None = F(description="Current activity; null when logged out or unknown.")
    activity_since: datetime | None = F(description="When the current activity began.")
    active_tasks: int = F(description="Tasks the agent accepted and has not completed yet.")
    queues: list[str] = F(
        description="Queues the agent serves: those of the conversations offered to them in the "
        "24 hours before `asOf`."
    )

    @classmethod
    def of(cls, now: AgentNow) -> RealtimeAgent:
        return cls(
            agent=from_row(Agent, now.row),
            activity=now.activity,
            activity_since=now.activity_since,
            active_tasks=now.active_tasks,
            queues=now.queues,
        )


@strawberry.type(
    description="The contact center now, computed from the ingested TaskRouter events."
)
class Realtime:
    _picture: strawberry.Private[Picture]

    @F(description="The instant the picture describes: every ingest committed before it is in.")
    def as_of(self) -> datetime:
        return self._picture.as_of  # read here, so a result that shows it is known to (`Reads`)

    @F(description="The queues the viewer may see, by name.")
    async def queues(
        self,
        filter: Annotated[
            RealtimeQueueFilter | None, strawberry.argument(description="Keep matching queues.")
        ] = None,
    ) -> list[RealtimeQueue]:
        ops = filter.queue if filter is not None else None
        return [RealtimeQueue.of(q) for q in await self._picture.queues(ops)]

    @F(description="The agents the viewer may see (not deleted ones), by agent id.")
    async def agents(
        self,
        filter: Annotated[
            RealtimeAgentFilter | None, strawberry.argument(description="Keep matching agents.")
        ] = None,
    ) -> list[RealtimeAgent]:
        conditions = (
            AgentConditions(filter.agent_id, filter.activity, filter.queue)
            if filter is not None
            else AgentConditions()
        )
        return [RealtimeAgent.of(a) for a in await self._picture.agents(conditions)]


def realtime_now(info: Info, viewer: Viewer) -> Realtime:
    """The picture for `viewer` at this instant."""
    shown = picture(context(info), viewer)
    return Realtime(_picture=shown)


def realtime_field() -> Realtime | None:
    def resolve(info: Info) -> Realtime | None:  # nullable, as every root field
        return realtime_now(info, context(info).viewer)

    return F(  # type: ignore[no-any-return]
        resolver=resolve,
        description="The live queue view: what waits, who handles what, and today's numbers, "
        "as of now (a Subscription field of the same name pushes each change).",
    )
