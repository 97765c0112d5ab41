"""Mutations: assessment and comment writes by supervisors and admins.

Every payload carries `errors`: a list of problems, each with the path of the field it is about,
so a frontend can show them next to its inputs. A payload with errors wrote nothing.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers.assessment_writes import (
    Draft,
    Problem,
    Rejected,
    create_assessments,
    delete_assessment,
    update_assessment,
)
from schema.assessment import Assessment
from schema.base import context
from schema.enums import AssessmentType
from schema.query import lookup

F = strawberry.field


def _opt(description: str) -> Any:
    return strawberry.field(default=None, description=description)


@strawberry.enum(description="What kind of problem an input had.")
class UserErrorCode(enum.Enum):
    REQUIRED = strawberry.enum_value("REQUIRED", description="A required value is missing.")
    INVALID = strawberry.enum_value("INVALID", description="A value does not fit the others.")
    OUT_OF_RANGE = strawberry.enum_value("OUT_OF_RANGE", description="A number is out of range.")
    TOO_LONG = strawberry.enum_value("TOO_LONG", description="A text is too long.")
    NOT_FOUND = strawberry.enum_value(
        "NOT_FOUND", description="The row named does not exist or is out of your scope."
    )
    FORBIDDEN = strawberry.enum_value("FORBIDDEN", description="Your role may not do this.")


@strawberry.type(description="A problem with the input of a mutation; nothing was written.")
class UserError:
    field: list[str] = F(
        description="Path of the input field (e.g. `input`, `score`); empty for the whole request."
    )
    code: UserErrorCode = F(description="The kind of problem.")
    message: str = F(description="What is wrong, for people.")


@strawberry.input(description="A new scored answer or comment on one segment.")
class CreateAssessmentInput:
    segment_id: str = F(description="The assessed segment (must be in your scope).")
    type: AssessmentType = F(description="A scored answer or a comment.")
    questionnaire: str | None = _opt("Questionnaire of the answer (required for answers).")
    category: str | None = _opt("Category of the question.")
    question: str | None = _opt("The question answered (required for answers).")
    answer: str | None = _opt("The answer chosen.")
    comment: str | None = _opt("Text of a comment (required for comments).")
    score: float | None = _opt("Score given, from 0 to the question's maximum (answers).")
    score_max: float | None = _opt(
        "Maximum score of the question; taken from earlier answers when omitted."
    )
    weight: float | None = _opt("Weight of the question in the questionnaire (0 or more).")
    offset: int | None = _opt("Seconds into the recording the comment refers to.")


@strawberry.input(description="Changes to an assessment; fields left out keep their value.")
class UpdateAssessmentInput:
    assessment_id: str = F(description="The assessment to change (one you made, unless admin).")
    questionnaire: str | None = _opt("New questionnaire.")
    category: str | None = _opt("New category.")
    question: str | None = _opt("New question.")
    answer: str | None = _opt("New answer.")
    comment: str | None = _opt("New comment text.")
    score: float | None = _opt("New score, within the question's range.")
    score_max: float | None = _opt("New maximum score of the question.")
    weight: float | None = _opt("New weight.")
    offset: int | None = _opt("New offset in seconds.")


@strawberry.type(description="The result of creating or updating one assessment.")
class AssessmentPayload:
    assessment: Assessment | None = F(description="The assessment written; null on errors.")
    errors: list[UserError] = F(description="Problems with the input; empty on success.")


@strawberry.type(description="The result of creating several assessments at once.")
class AssessmentsPayload:
    assessments: list[Assessment] = F(description="The assessments written; empty on errors.")
    errors: list[UserError] = F(description="Problems with the input; empty on success.")


@strawberry.type(description="The result of deleting an assessment.")
class DeleteAssessmentPayload:
    deleted_assessment_id: str | None = F(description="The id deleted; null on errors.")
    errors: list[UserError] = F(description="Problems with the input; empty on success.")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def user_errors(problems: list[Problem]) -> list[UserError]:
    return [
        UserError(
            field=[p if isinstance(p, str) and p in ("input", "inputs") else _camel(str(p))
                   for p in problem.path],
            code=UserErrorCode(problem.code),
            message=problem.message,
        )
        for problem in problems
    ]  # fmt: skip


CHANGES = (
    "questionnaire", "category", "question", "answer", "comment", "score", "score_max", "weight",
    "offset",
)  # fmt: skip


def _draft(item: CreateAssessmentInput) -> Draft:
    values = {name: getattr(item, name) for name in CHANGES}
    return Draft(item.type.name, item.segment_id, values)


async def _load(info: Info, assessment_id: str) -> Any:
    return await lookup(info, "Assessment", assessment_id)


@strawberry.type(description="Writes: assessments and comments (supervisors and admins).")
class Mutation:
    @strawberry.mutation(description="Create one assessment or comment; the assessor is you.")
    async def create_assessment(
        self,
        info: Info,
        input: Annotated[CreateAssessmentInput, strawberry.argument(description="What to create.")],
    ) -> AssessmentPayload | None:
        try:
            (new_id,) = await create_assessments(context(info), [_draft(input)], "input")
        except Rejected as rejected:
            return AssessmentPayload(assessment=None, errors=user_errors(rejected.problems))
        return AssessmentPayload(assessment=await _load(info, new_id), errors=[])

    @strawberry.mutation(
        description="Create several assessments (a filled questionnaire) all together or none."
    )
    async def create_assessments(
        self,
        info: Info,
        inputs: Annotated[
            list[CreateAssessmentInput], strawberry.argument(description="What to create.")
        ],
    ) -> AssessmentsPayload | None:
        cap = context(info).options.max_page_size
        if len(inputs) > cap:
            message = f"At most {cap} assessments at once."
            problem = Problem(("inputs",), "INVALID", message)
            return AssessmentsPayload(assessments=[], errors=user_errors([problem]))
        try:
            ids = await create_assessments(context(info), [_draft(i) for i in inputs], "inputs")
        except Rejected as rejected:
            return AssessmentsPayload(assessments=[], errors=user_errors(rejected.problems))
        return AssessmentsPayload(assessments=[await _load(info, i) for i in ids], errors=[])

    @strawberry.mutation(description="Change an assessment or comment you made.")
    async def update_assessment(
        self,
        info: Info,
        input: Annotated[UpdateAssessmentInput, strawberry.argument(description="The changes.")],
    ) -> AssessmentPayload | None:
        changes = {n: getattr(input, n) for n in CHANGES if getattr(input, n) is not None}
        try:
            await update_assessment(
                context(info), input.assessment_id, Draft(values=changes), "input"
            )
        except Rejected as rejected:
            return AssessmentPayload(assessment=None, errors=user_errors(rejected.problems))
        return AssessmentPayload(assessment=await _load(info, input.assessment_id), errors=[])

    @strawberry.mutation(description="Delete an assessment or comment you made.")
    async def delete_assessment(
        self,
        info: Info,
        assessment_id: Annotated[str, strawberry.argument(description="The `assessmentId`.")],
    ) -> DeleteAssessmentPayload | None:
        try:
            deleted = await delete_assessment(context(info), assessment_id)
        except Rejected as rejected:
            return DeleteAssessmentPayload(
                deleted_assessment_id=None, errors=user_errors(rejected.problems)
            )
        return DeleteAssessmentPayload(deleted_assessment_id=deleted, errors=[])
