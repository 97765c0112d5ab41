"""The Segment type: the lowest grain of the Conversations data set."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers.entities import ENTITIES
from resolvers.pages import fetch_row
from schema.base import Node, context, from_row, node_type
from schema.enums import AbandonedStatus, Direction, SegmentKind
from schema.fields import connection_field, date_field, to_one_field

F = strawberry.field


@node_type
@strawberry.type(
    description="One step a customer went through (waiting in a queue, talking with an agent, "
    "a reservation an agent missed or rejected) or one interval of agent status."
)
class Segment(Node):
    segment_id: str = F(description="Natural key of the segment.")
    external_id: str | None = F(description="The TaskRouter task SID for task segments.")
    kind: SegmentKind = F(description="What this segment records.")
    abandoned: AbandonedStatus = F(description="Did the customer fail to reach the intended party.")
    abandoned_phase: str | None = F(
        description="Where the customer gave up: `Queue` (default), `Short Queue`, `Ringing`, "
        "`Voicemail`, `Callback Request`."
    )
    activity: str | None = F(
        description="Agent activity (`Available`, `Idle`, `Break`, `Offline`, ...); Agent Status "
        "segments only."
    )
    communication_channel: str | None = F(
        description="Channel: `Call`, `Chat`, `SMS` or a custom one."
    )
    content: str | None = F(description="Short summary of the content, about 100 characters.")
    conversation_attribute_1: str | None = F(
        description="Custom text field 1; `Moved`/`Timeout` on queue segments that ended so."
    )
    conversation_attribute_2: str | None = F(description="Custom text field 2.")
    conversation_attribute_3: str | None = F(description="Custom text field 3.")
    conversation_attribute_4: str | None = F(description="Custom text field 4.")
    conversation_attribute_5: str | None = F(description="Custom text field 5.")
    conversation_attribute_6: str | None = F(description="Custom text field 6.")
    conversation_attribute_7: str | None = F(description="Custom text field 7.")
    conversation_attribute_8: str | None = F(description="Custom text field 8.")
    conversation_attribute_9: str | None = F(description="Custom text field 9.")
    conversation_attribute_10: str | None = F(description="Custom text field 10.")
    destination: str | None = F(description="The queue after this segment.")
    source: str | None = F(description="The queue before this segment.")
    direction: Direction | None = F(
        description="Direction of the conversation, from its first segment."
    )
    external_contact: str | None = F(
        description="The center's contact address (number, support e-mail) the customer used "
        "or saw."
    )
    hang_up_by: str | None = F(
        description="Who left first: `Unknown` (default), `Agent`, `Customer`, `Cold Transfer`, "
        "`Warm Transfer`, `External Cold Transfer`, `External Warm Transfer`."
    )
    in_business_hours: bool | None = F(description="Started within the center's business hours.")
    initiated_by: str | None = F(
        description="Who or what started the conversation (`Customer`, `Agent`, `Dialer`)."
    )
    ivr_path: str | None = F(description="IVR options the customer chose, joined by ` ▸ `.")
    language: str | None = F(description="Language of the conversation.")
    outcome: str | None = F(
        description="How it ended: the task's reason, else its completed or canceled reason."
    )
    productive: bool | None = F(description="Whether the conversation was productive.")
    queue: str | None = F(description="Queue the customer waited in before reaching the agent.")
    segment_link: str | None = F(description="Recording URL.")
    segment_order: int | None = F(
        description="Order within the conversation, 1, 2, 3 … (Conversation kind only)."
    )
    service_level: str | None = F(
        description="Custom service-level label (`Compliant`, `Failed`, `Short Abandoned`, "
        "`Not Applicable`)."
    )
    virtual: bool = F(
        description="Not a general-reporting segment; `false` only for kind `CONVERSATION`."
    )
    workflow: str | None = F(description="TaskRouter workflow that routed the task.")
    started_at: datetime = F(description="Start of the segment or activity (UTC).")
    abandon_time: int | None = F(description="Seconds until the customer gave up.")
    activity_time: int | None = F(description="Seconds spent in the activity (Agent Status).")
    agent_talk_time: int | None = F(description="Seconds the agent spoke.")
    average_response_time: int | None = F(
        description="Average seconds the agent took to answer a message (chat, SMS)."
    )
    conversation_measure_1: float | None = F(description="Custom numeric field 1.")
    conversation_measure_2: float | None = F(description="Custom numeric field 2.")
    conversation_measure_3: float | None = F(description="Custom numeric field 3.")
    conversation_measure_4: float | None = F(description="Custom numeric field 4.")
    conversation_measure_5: float | None = F(description="Custom numeric field 5.")
    conversation_measure_6: float | None = F(description="Custom numeric field 6.")
    conversation_measure_7: float | None = F(description="Custom numeric field 7.")
    conversation_measure_8: float | None = F(description="Custom numeric field 8.")
    conversation_measure_9: float | None = F(description="Custom numeric field 9.")
    conversation_measure_10: float | None = F(description="Custom numeric field 10.")
    crosstalk_time: int | None = F(description="Seconds both parties spoke at once.")
    customer_talk_time: int | None = F(description="Seconds the customer spoke.")
    first_response_time: int | None = F(
        description="Seconds until the agent's first response (chat, SMS)."
    )
    focus_time: int | None = F(description="Seconds the agent had the conversation in focus.")
    hold_time: int | None = F(description="Seconds the customer was on hold.")
    ivr_time: int | None = F(description="Seconds spent in the IVR.")
    longest_silence_before_agent: int | None = F(
        description="Longest silence, in seconds, before the agent spoke."
    )
    longest_silence_before_customer: int | None = F(
        description="Longest silence, in seconds, before the customer spoke."
    )
    longest_talk_by_agent: int | None = F(description="Longest agent monologue, seconds.")
    longest_talk_by_customer: int | None = F(description="Longest customer monologue, seconds.")
    priority: int | None = F(description="Task priority.")
    queue_time: int | None = F(description="Seconds in queue before this segment.")
    ring_time: int | None = F(description="Seconds the reservation rang before the answer.")
    silence_time: int | None = F(description="Seconds of silence.")
    talk_time: int | None = F(description="Seconds from answer to hang-up, silences included.")
    time_in_seconds: int | None = F(
        description="Local time of day of the start, in seconds since midnight."
    )
    wrap_up_time: int | None = F(description="Seconds of after-call work.")

    conversation_id: strawberry.Private[str | None]
    agent_id: strawberry.Private[str | None]
    customer_id: strawberry.Private[str | None]
    handling_team_id: strawberry.Private[str | None]
    handling_department_id: strawberry.Private[str | None]
    preceded_by_id: strawberry.Private[str | None]

    date = date_field("started_at", "The start as a date dimension (workspace time zone).")
    conversation = to_one_field(
        "Segment", "conversation", description="The conversation this segment belongs to."
    )
    agent = to_one_field("Segment", "agent", description="The agent of this segment, if any.")
    customer = to_one_field("Segment", "customer", description="The customer served.")
    handling_team = to_one_field(
        "Segment", "handling_team", description="The agent's team at the time of handling."
    )
    handling_department = to_one_field(
        "Segment",
        "handling_department",
        description="The agent's department at the time of handling.",
    )
    preceded_by = to_one_field(
        "Segment", "preceded_by", description="The previous segment of the same conversation."
    )
    case = to_one_field(
        "Segment", "conversation", "case", description="The case, through the conversation."
    )
    campaign = to_one_field(
        "Segment",
        "conversation",
        "campaign",
        description="The campaign, through the conversation.",
    )
    project = to_one_field(
        "Segment",
        "conversation",
        "campaign",
        "project",
        description="The project, through the conversation's campaign.",
    )
    initiative = to_one_field(
        "Segment",
        "conversation",
        "campaign",
        "project",
        "initiative",
        description="The initiative, through the conversation's campaign and project.",
    )
    assessments = connection_field(
        "Assessment",
        "Assessments and comments supervisors made on this segment.",
        owner="Segment",
        link="assessments",
    )
    workload = connection_field(
        "WorkloadItem",
        "The 15-minute workload slices cut from this segment, in order.",
        owner="Segment",
        link="workload",
    )

    @strawberry.field(description="The next segment of the same conversation.")
    async def followed_by(self, info: Info) -> Segment | None:
        ctx = context(info)
        row = await fetch_row(ctx, ENTITIES["Segment"], self.segment_id, "preceded_by_id")
        return None if row is None else from_row(Segment, row)
