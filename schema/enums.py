"""The closed value sets of the data model; each value is stored in the warehouse by its name."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry import enum_value


@strawberry.enum(description="What a segment records: a step of a conversation or agent status.")
class SegmentKind(Enum):
    CONVERSATION = enum_value("CONVERSATION", description="An agent handled the customer.")
    CONVERSATION_IN_PROGRESS = enum_value(
        "CONVERSATION_IN_PROGRESS", description="An agent is handling it now (not finished)."
    )
    QUEUE = enum_value("QUEUE", description="The customer waited in a queue.")
    AGENT_STATUS = enum_value("AGENT_STATUS", description="An interval of one agent activity.")
    AGENT_STATUS_IN_PROGRESS = enum_value(
        "AGENT_STATUS_IN_PROGRESS", description="The agent's current, still open activity."
    )
    MISSED_CONVERSATION = enum_value(
        "MISSED_CONVERSATION", description="Offered to an agent who did not answer in time."
    )
    REJECTED_CONVERSATION = enum_value(
        "REJECTED_CONVERSATION", description="Offered to an agent who declined it."
    )
    REVOKED_CONVERSATION = enum_value(
        "REVOKED_CONVERSATION", description="Offered to an agent, then withdrawn by routing."
    )


@strawberry.enum(description="Direction of a conversation, taken from its first segment.")
class Direction(Enum):
    INBOUND = enum_value("INBOUND", description="The customer contacted the center.")
    OUTBOUND = enum_value("OUTBOUND", description="The center contacted the customer.")
    INTERNAL = enum_value("INTERNAL", description="Between people of the center.")
    EXTERNAL = enum_value("EXTERNAL", description="Between parties outside the center.")
    UNKNOWN = enum_value("UNKNOWN", description="Direction not recorded.")


@strawberry.enum(description="Whether the customer failed to reach the intended party.")
class AbandonedStatus(Enum):
    YES = enum_value("YES", description="The customer gave up before reaching an agent.")
    NO = enum_value("NO", description="Not abandoned.")
    FOLLOW_UP = enum_value(
        "FOLLOW_UP", description="The customer left a voicemail or asked for a callback."
    )


@strawberry.enum(description="Which kind of segment a workload slice was cut from.")
class WorkloadKind(Enum):
    CONVERSATION = enum_value("CONVERSATION", description="Time spent handling a conversation.")
    AGENT_STATUS = enum_value("AGENT_STATUS", description="Time spent in an agent activity.")


@strawberry.enum(description="Whether an assessment row is a scored answer or a free comment.")
class AssessmentType(Enum):
    ASSESSMENT = enum_value("ASSESSMENT", description="A scored answer to a questionnaire.")
    COMMENT = enum_value("COMMENT", description="A comment on the conversation or recording.")
