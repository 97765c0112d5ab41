"""Assessment writes: validate everything first, then write all rows in one transaction.

Input problems come back as `Problem`s (a field path, a code, a message) instead of exceptions, so
the schema can hand a frontend every problem of a request at once, each pinned to its field.
Nothing is written when there is any problem: all-or-nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers.context import Context
from resolvers.scope import visible
from resolvers.viewer import Role
from warehouse import tables as t

MAX_TEXT = 500
MAX_COMMENT = 10_000
WRITABLE = ("questionnaire", "category", "question", "answer", "comment", "score", "score_max",
            "weight", "offset")  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where (field path), what kind (code), and a message."""

    path: tuple[str | int, ...]
    code: str
    message: str


@dataclass
class Draft:
    """The values of one assessment to create, or the changes of one to update."""

    type: str | None = None
    segment_id: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


class Rejected(Exception):
    """The request had problems; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


def _forbidden(ctx: Context) -> list[Problem]:
    if ctx.viewer.role is Role.AGENT:
        return [Problem((), "FORBIDDEN", "Only supervisors and admins write assessments.")]
    return []


def _text_problems(values: dict[str, Any], at: tuple[str | int, ...]) -> list[Problem]:
    problems = []
    for name in ("questionnaire", "category", "question", "answer"):
        value = values.get(name)
        if value is not None and len(value) > MAX_TEXT:
            problems.append(Problem((*at, name), "TOO_LONG", f"At most {MAX_TEXT} characters."))
    comment = values.get("comment")
    if comment is not None and len(comment) > MAX_COMMENT:
        problems.append(Problem((*at, "comment"), "TOO_LONG", f"At most {MAX_COMMENT} characters."))
    return problems


async def _known_score_max(
    conn: AsyncConnection, questionnaire: Any, question: Any
) -> float | None:
    """The maximum score earlier answers to this question had: the question's range."""
    a = t.assessments.c
    statement = (
        select(a.score_max)
        .where(a.questionnaire == questionnaire, a.question == question, a.score_max.is_not(None))
        .limit(1)
    )
    found = (await conn.execute(statement)).first()
    return None if found is None else float(found[0])


async def _check_values(
    conn: AsyncConnection, kind: str, values: dict[str, Any], at: tuple[str | int, ...]
) -> list[Problem]:
    """Rules for the final values of an assessment (after an update merged its changes)."""
    problems = _text_problems(values, at)

    def need(name: str, message: str) -> None:
        value = values.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append(Problem((*at, name), "REQUIRED", message))

    if kind == "COMMENT":
        need("comment", "A comment needs its text.")
        for name in ("score", "score_max"):
            if values.get(name) is not None:
                problems.append(Problem((*at, name), "INVALID", "A comment has no score."))
    else:
        need("questionnaire", "An assessment names its questionnaire.")
        need("question", "An assessment names its question.")
        need("score", "An assessment needs a score.")
        known = None
        if values.get("question") and values.get("questionnaire"):
            known = await _known_score_max(conn, values["questionnaire"], values["question"])
        if values.get("score_max") is None:
            values["score_max"] = known
        top = values.get("score_max")
        if top is None:
            if values.get("question"):  # without a question the problem is the question
                need("score_max", "A new question needs its maximum score.")
        elif top <= 0:
            problems.append(Problem((*at, "score_max"), "OUT_OF_RANGE", "Must be above 0."))
        elif known is not None and top != known:
            message = f"This question's maximum score is {known:g}."
            problems.append(Problem((*at, "score_max"), "INVALID", message))
        score = values.get("score")
        if score is not None and top is not None and top > 0 and not 0 <= score <= top:
            message = f"Must be between 0 and {top:g} (the question's range)."
            problems.append(Problem((*at, "score"), "OUT_OF_RANGE", message))
    weight = values.get("weight")
    if weight is not None and weight < 0:
        problems.append(Problem((*at, "weight"), "OUT_OF_RANGE", "Must be 0 or more."))
    offset = values.get("offset")
    if offset is not None and offset < 0:
        problems.append(Problem((*at, "offset"), "OUT_OF_RANGE", "Must be 0 or more seconds."))
    return problems


async def _visible_segment(ctx: Context, conn: AsyncConnection, segment_id: str) -> Any:
    s = t.segments
    statement = select(s.c.segment_id, s.c.agent_id).where(
        s.c.segment_id == segment_id, visible(ctx.viewer, "Segment")
    )
    return (await conn.execute(statement)).first()


async def _ensure_assessor(ctx: Context, conn: AsyncConnection) -> str:
    """The assessor is who the token says; their supervisor row is created on first write."""
    subject = ctx.viewer.subject
    found = await conn.execute(
        select(t.supervisors.c.supervisor_id).where(t.supervisors.c.supervisor_id == subject)
    )
    if found.first() is None:
        await conn.execute(insert(t.supervisors).values(supervisor_id=subject, name=subject))
    return subject


def _percentage(values: dict[str, Any]) -> float | None:
    score, top = values.get("score"), values.get("score_max")
    return None if score is None or not top else round(score / top * 100, 2)


async def create_assessments(ctx: Context, drafts: list[Draft], at: str) -> list[str]:
    """Create every draft or none; returns the new assessment ids, in order."""
    if problems := _forbidden(ctx):
        raise Rejected(problems)
    if not drafts:
        raise Rejected([Problem((at,), "REQUIRED", "Pass at least one assessment to create.")])
    now = datetime.now(UTC).replace(microsecond=0)
    async with ctx.engine.begin() as conn:
        problems = []
        rows: list[dict[str, Any]] = []
        for index, draft in enumerate(drafts):
            where: tuple[str | int, ...] = (at, index) if len(drafts) > 1 else (at,)
            segment = await _visible_segment(ctx, conn, draft.segment_id or "")
            if segment is None:
                message = f"No segment {draft.segment_id!r} that you may see."
                problems.append(Problem((*where, "segment_id"), "NOT_FOUND", message))
            values = dict(draft.values)
            problems += await _check_values(conn, draft.type or "", values, where)
            rows.append({
                **values, "assessment_id": f"AS{uuid.uuid4().hex}", "type": draft.type,
                "segment_id": draft.segment_id, "agent_id": segment and segment.agent_id,
                "score_percentage": _percentage(values), "created_at": now,
            })  # fmt: skip
        if problems:
            raise Rejected(problems)
        assessor = await _ensure_assessor(ctx, conn)
        await conn.execute(insert(t.assessments), [{**r, "supervisor_id": assessor} for r in rows])
    return [r["assessment_id"] for r in rows]


async def _writable(
    ctx: Context, conn: AsyncConnection, assessment_id: str, path: tuple[str | int, ...]
) -> tuple[RowMapping | None, list[Problem]]:
    """The assessment if this viewer may change it: admins any, supervisors their own."""
    a = t.assessments
    statement = select(a).where(
        a.c.assessment_id == assessment_id, visible(ctx.viewer, "Assessment")
    )
    row = (await conn.execute(statement)).mappings().first()
    if row is None:
        message = f"No assessment {assessment_id!r} that you may see."
        return None, [Problem(path, "NOT_FOUND", message)]
    if ctx.viewer.role is not Role.ADMIN and row["supervisor_id"] != ctx.viewer.subject:
        message = "Supervisors change only the assessments they made."
        return None, [Problem(path, "FORBIDDEN", message)]
    return row, []


async def update_assessment(ctx: Context, assessment_id: str, changes: Draft, at: str) -> str:
    if problems := _forbidden(ctx):
        raise Rejected(problems)
    async with ctx.engine.begin() as conn:
        row, problems = await _writable(ctx, conn, assessment_id, (at, "assessment_id"))
        if row is None:
            raise Rejected(problems)
        values = {name: row[name] for name in WRITABLE} | changes.values
        if "score_max" not in changes.values and {"question", "questionnaire"} & set(
            changes.values
        ):
            values["score_max"] = None  # another question: its own range applies
        problems = await _check_values(conn, row["type"], values, (at,))
        if problems:
            raise Rejected(problems)
        a = t.assessments
        await conn.execute(
            update(a)
            .where(a.c.assessment_id == assessment_id)
            .values(**values, score_percentage=_percentage(values))
        )
    return assessment_id


async def delete_assessment(ctx: Context, assessment_id: str) -> str:
    if problems := _forbidden(ctx):
        raise Rejected(problems)
    async with ctx.engine.begin() as conn:
        row, problems = await _writable(ctx, conn, assessment_id, ("assessment_id",))
        if row is None:
            raise Rejected(problems)
        a = t.assessments
        await conn.execute(delete(a).where(and_(a.c.assessment_id == assessment_id)))
    return assessment_id
