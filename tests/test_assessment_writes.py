"""Assessment writes: validated, scoped, all-or-nothing, with typed errors at field paths."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from resolvers.viewer import Role, Viewer
from tests.conftest import Gateway, _demo
from tests.helpers import rows


@pytest.fixture(scope="module")
async def engine(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsyncEngine]:
    """A database of its own: these tests write."""
    engine = await _demo(tmp_path_factory.mktemp("writes") / "writes.db", 600, seed=5)
    yield engine
    await engine.dispose()


@dataclass(frozen=True)
class Setup:
    team: str
    mine: str  # a conversation segment handled in the supervisor's team
    foreign: str  # one handled in another team
    question: dict[str, Any]  # an existing question with its maximum score


@pytest.fixture(scope="module")
async def setup(engine: AsyncEngine) -> Setup:
    segments = await rows(
        engine,
        "SELECT segment_id, handling_team_id FROM segments WHERE kind = 'CONVERSATION' AND agent_id IS NOT NULL AND handling_team_id IS NOT NULL ORDER BY segment_id",
    )
    mine = segments[0]
    foreign = next(s for s in segments if s["handling_team_id"] != mine["handling_team_id"])
    (question,) = await rows(
        engine,
        "SELECT questionnaire, question, score_max FROM assessments WHERE score_max IS NOT NULL ORDER BY assessment_id LIMIT 1",
    )
    return Setup(mine["handling_team_id"], mine["segment_id"], foreign["segment_id"], question)


def supervisor(engine: AsyncEngine, setup: Setup, subject: str = "SUP-1") -> Gateway:
    return Gateway(
        engine, viewer=Viewer(Role.SUPERVISOR, subject, team_ids=frozenset({setup.team}))
    )


CREATE = """
mutation($input: CreateAssessmentInput!) {
  createAssessment(input: $input) {
    assessment { assessmentId type score scoreMax scorePercentage question comment
                 supervisor { supervisorId } agent { agentId } segment { segmentId } }
    errors { field code message }
  }
}
"""
CREATE_MANY = """
mutation($inputs: [CreateAssessmentInput!]!) {
  createAssessments(inputs: $inputs) { assessments { assessmentId } errors { field code message } }
}
"""
UPDATE = """
mutation($input: UpdateAssessmentInput!) {
  updateAssessment(input: $input) { assessment { assessmentId score comment } errors { field code message } }
}
"""
DELETE = """
mutation($id: String!) { deleteAssessment(assessmentId: $id) { deletedAssessmentId errors { field code message } } }
"""


def answer(setup: Setup, **changes: Any) -> dict[str, Any]:
    q = setup.question
    return {
        "segmentId": setup.mine, "type": "ASSESSMENT", "questionnaire": q["questionnaire"],
        "question": q["question"], "score": q["score_max"] / 2, **changes,
    }  # fmt: skip


async def count(engine: AsyncEngine) -> int:
    return int((await rows(engine, "SELECT COUNT(*) AS n FROM assessments"))[0]["n"])


async def test_supervisor_creates_an_answer_as_themselves(
    engine: AsyncEngine, setup: Setup
) -> None:
    data = await supervisor(engine, setup).query(CREATE, {"input": answer(setup)})
    payload = data["createAssessment"]
    assert payload["errors"] == []
    made = payload["assessment"]
    assert made["supervisor"] == {"supervisorId": "SUP-1"}
    assert made["segment"] == {"segmentId": setup.mine}
    assert (
        made["scoreMax"] == setup.question["score_max"]
    )  # the question's range, from earlier answers
    assert made["scorePercentage"] == 50.0
    (stored,) = await rows(
        engine,
        "SELECT agent_id, supervisor_id FROM assessments WHERE assessment_id = :a",
        a=made["assessmentId"],
    )
    (segment,) = await rows(
        engine, "SELECT agent_id FROM segments WHERE segment_id = :s", s=setup.mine
    )
    assert stored == {"agent_id": segment["agent_id"], "supervisor_id": "SUP-1"}


async def test_comment_needs_text_and_takes_no_score(engine: AsyncEngine, setup: Setup) -> None:
    gw = supervisor(engine, setup)
    ok = await gw.query(
        CREATE,
        {
            "input": {
                "segmentId": setup.mine,
                "type": "COMMENT",
                "comment": "Good call",
                "offset": 12,
            }
        },
    )
    assert ok["createAssessment"]["errors"] == []
    assert ok["createAssessment"]["assessment"]["comment"] == "Good call"
    bad = await gw.query(
        CREATE, {"input": {"segmentId": setup.mine, "type": "COMMENT", "score": 3}}
    )
    assert {(tuple(e["field"]), e["code"]) for e in bad["createAssessment"]["errors"]} == {
        (("input", "comment"), "REQUIRED"),
        (("input", "score"), "INVALID"),
    }


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"score": -0.5}, "score", "OUT_OF_RANGE"),
        ({"score": 1000.0}, "score", "OUT_OF_RANGE"),
        ({"score": None}, "score", "REQUIRED"),
        ({"question": None}, "question", "REQUIRED"),
        ({"question": "A brand new question"}, "scoreMax", "REQUIRED"),
        ({"scoreMax": 99.0}, "scoreMax", "INVALID"),
        ({"weight": -1.0}, "weight", "OUT_OF_RANGE"),
        ({"answer": "x" * 501}, "answer", "TOO_LONG"),
    ],
)
async def test_invalid_answers_are_typed_errors_and_write_nothing(
    engine: AsyncEngine, setup: Setup, changes: dict[str, Any], field: str, code: str
) -> None:
    before = await count(engine)
    data = await supervisor(engine, setup).query(CREATE, {"input": answer(setup, **changes)})
    payload = data["createAssessment"]
    assert payload["assessment"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(["input", field], code)]
    assert payload["errors"][0]["message"]
    assert await count(engine) == before


async def test_score_at_the_edges_of_the_range_is_accepted(
    engine: AsyncEngine, setup: Setup
) -> None:
    gw = supervisor(engine, setup)
    for score in (0.0, setup.question["score_max"]):
        data = await gw.query(CREATE, {"input": answer(setup, score=score)})
        assert data["createAssessment"]["errors"] == []


async def test_segment_out_of_scope_reads_like_a_missing_one(
    engine: AsyncEngine, setup: Setup
) -> None:
    gw = supervisor(engine, setup)
    hidden = await gw.query(CREATE, {"input": answer(setup, segmentId=setup.foreign)})
    missing = await gw.query(CREATE, {"input": answer(setup, segmentId="no-such-segment")})
    for data in (hidden, missing):
        (error,) = data["createAssessment"]["errors"]
        assert (error["field"], error["code"]) == (["input", "segmentId"], "NOT_FOUND")


async def test_many_are_all_or_nothing(engine: AsyncEngine, setup: Setup) -> None:
    gw = supervisor(engine, setup)
    before = await count(engine)
    data = await gw.query(
        CREATE_MANY, {"inputs": [answer(setup), answer(setup), answer(setup, score=-1.0)]}
    )
    payload = data["createAssessments"]
    assert payload["assessments"] == []
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        (["inputs", "2", "score"], "OUT_OF_RANGE")
    ]
    assert await count(engine) == before
    data = await gw.query(CREATE_MANY, {"inputs": [answer(setup), answer(setup)]})
    assert len(data["createAssessments"]["assessments"]) == 2
    assert await count(engine) == before + 2


async def test_agents_cannot_write(engine: AsyncEngine, setup: Setup) -> None:
    (segment,) = await rows(
        engine, "SELECT agent_id FROM segments WHERE segment_id = :s", s=setup.mine
    )
    gw = Gateway(engine, viewer=Viewer(Role.AGENT, "a", agent_id=segment["agent_id"]))
    before = await count(engine)
    data = await gw.query(CREATE, {"input": answer(setup)})
    assert [e["code"] for e in data["createAssessment"]["errors"]] == ["FORBIDDEN"]
    assert await count(engine) == before


async def test_update_and_delete_own_assessment(engine: AsyncEngine, setup: Setup) -> None:
    gw = supervisor(engine, setup)
    created = await gw.query(CREATE, {"input": answer(setup)})
    assessment_id = created["createAssessment"]["assessment"]["assessmentId"]
    updated = await gw.query(UPDATE, {"input": {"assessmentId": assessment_id, "score": 0.0}})
    assert updated["updateAssessment"] == {
        "assessment": {"assessmentId": assessment_id, "score": 0.0, "comment": None},
        "errors": [],
    }
    wrong = await gw.query(UPDATE, {"input": {"assessmentId": assessment_id, "score": 1000.0}})
    assert [(e["field"], e["code"]) for e in wrong["updateAssessment"]["errors"]] == [
        (["input", "score"], "OUT_OF_RANGE")
    ]
    (stored,) = await rows(
        engine, "SELECT score FROM assessments WHERE assessment_id = :a", a=assessment_id
    )
    assert stored["score"] == 0.0
    # another supervisor of the same team sees it but may not change it
    colleague = supervisor(engine, setup, subject="SUP-2")
    refused = await colleague.query(DELETE, {"id": assessment_id})
    assert [e["code"] for e in refused["deleteAssessment"]["errors"]] == ["FORBIDDEN"]
    deleted = await gw.query(DELETE, {"id": assessment_id})
    assert deleted["deleteAssessment"] == {"deletedAssessmentId": assessment_id, "errors": []}
    assert not await rows(
        engine, "SELECT 1 FROM assessments WHERE assessment_id = :a", a=assessment_id
    )
    again = await gw.query(DELETE, {"id": assessment_id})
    assert [(e["field"], e["code"]) for e in again["deleteAssessment"]["errors"]] == [
        (["assessmentId"], "NOT_FOUND")
    ]


async def test_admin_may_change_any_assessment(engine: AsyncEngine, setup: Setup) -> None:
    created = await supervisor(engine, setup).query(CREATE, {"input": answer(setup)})
    assessment_id = created["createAssessment"]["assessment"]["assessmentId"]
    admin = Gateway(engine)
    data = await admin.query(
        UPDATE, {"input": {"assessmentId": assessment_id, "comment": "checked"}}
    )
    assert data["updateAssessment"]["errors"] == []
    assert data["updateAssessment"]["assessment"]["comment"] == "checked"
