"""Supervisor and Assessment: quality reviews of handled segments."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.base import Node, node_type
from schema.enums import AssessmentType
from schema.fields import connection_field, date_field, to_one_field

F = strawberry.field


@node_type
@strawberry.type(description="Someone who assessed or commented on conversations.")
class Supervisor(Node):
    supervisor_id: str = F(description="Natural key of the supervisor.")
    name: str | None = F(description="Full name.")
    email: str | None = F(description="E-mail address.")

    assessments = connection_field(
        "Assessment",
        "Assessments and comments this supervisor made.",
        owner="Supervisor",
        link="assessments",
    )


@node_type
@strawberry.type(description="A filled questionnaire answer, or a comment, on one segment.")
class Assessment(Node):
    assessment_id: str = F(description="Natural key of the assessment row.")
    type: AssessmentType = F(description="A scored answer or a comment.")
    questionnaire: str | None = F(description="Questionnaire the answer belongs to.")
    category: str | None = F(description="Category of the question.")
    question: str | None = F(description="The question asked.")
    answer: str | None = F(description="The answer chosen.")
    comment: str | None = F(description="Free text of a comment.")
    score: float | None = F(description="Score given.")
    score_max: float | None = F(description="Highest possible score of the question.")
    score_percentage: float | None = F(description="Score as a percentage of the maximum, 0–100.")
    weight: float | None = F(description="Weight of the question in the questionnaire.")
    offset: int | None = F(description="Seconds into the recording the comment refers to.")
    created_at: datetime = F(description="When the assessment was made (UTC).")
    segment_id: strawberry.Private[str | None]
    agent_id: strawberry.Private[str | None]
    supervisor_id: strawberry.Private[str | None]

    date = date_field("created_at", "Date - Assessment: when it was made, as a date dimension.")
    segment = to_one_field("Assessment", "segment", description="The assessed segment.")
    agent = to_one_field("Assessment", "agent", description="The assessed agent.")
    supervisor = to_one_field("Assessment", "supervisor", description="The assessor.")
