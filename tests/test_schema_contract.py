"""The printed SDL is checked in, every schema element is described, and the spec names exist."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from graphql import GraphQLEnumType, GraphQLInputObjectType, GraphQLInterfaceType, GraphQLObjectType

from schema import build_schema

ROOT = Path(__file__).resolve().parents[1]


def test_schema_graphql_is_the_printed_sdl() -> None:
    printed = build_schema().as_str() + "\n"
    assert (ROOT / "schema.graphql").read_text() == printed, (
        "schema.graphql drifted from the code: run `make schema` and commit it"
    )


def test_export_schema_command_prints_the_sdl() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "export-schema"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    assert result.stdout == (ROOT / "schema.graphql").read_text()


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    graphql_schema = build_schema()._schema
    missing = []
    for name, gtype in graphql_schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not gtype.description:
            missing.append(name)
        if isinstance(gtype, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in gtype.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing.extend(
                    f"{name}.{field_name}({arg})"
                    for arg, argument in field.args.items()
                    if not argument.description
                )
        if isinstance(gtype, GraphQLInputObjectType):
            missing.extend(
                f"{name}.{field_name}"
                for field_name, field in gtype.fields.items()
                if not field.description
            )
        if isinstance(gtype, GraphQLEnumType):
            missing.extend(
                f"{name}.{value}" for value, v in gtype.values.items() if not v.description
            )
    assert missing == []


SPEC_FIELDS = {
    "Segment": "segmentId externalId kind abandoned abandonedPhase activity communicationChannel "
    "content conversationAttribute1 conversationAttribute10 destination source direction "
    "externalContact hangUpBy inBusinessHours initiatedBy ivrPath language outcome productive "
    "queue segmentLink segmentOrder serviceLevel virtual workflow startedAt date abandonTime "
    "activityTime agentTalkTime averageResponseTime conversationMeasure1 conversationMeasure10 "
    "crosstalkTime customerTalkTime firstResponseTime focusTime holdTime ivrTime "
    "longestSilenceBeforeAgent longestSilenceBeforeCustomer longestTalkByAgent "
    "longestTalkByCustomer priority queueTime ringTime silenceTime talkTime timeInSeconds "
    "wrapUpTime conversation agent customer handlingTeam handlingDepartment precededBy "
    "followedBy case campaign project initiative assessments workload",
    "Conversation": "conversationId direction startedAt endedAt customer case campaign segments",
    "Case": "caseId name campaign conversations",
    "Campaign": "campaignId name project cases conversations",
    "Project": "projectId name initiative campaigns",
    "Initiative": "initiativeId name projects",
    "Agent": "agentId externalAgentId fullName email phone location manager role state "
    "agentAttribute1 agentAttribute2 agentAttribute3 dateJoined dateLeft team department "
    "segments conversations assessments workload",
    "Team": "teamId name nameInHierarchy department agents",
    "Department": "departmentId name nameInHierarchy teams agents",
    "Queue": "name segments conversations",
    "Customer": "customerId name phone email customerLink customerAttribute1 customerAttribute2 "
    "customerAttribute3 acquisitionDate category customerManager gender marketSegment "
    "organization yearOfBirth region country state city zip geoLocation type acquisitionCost "
    "businessValue conversations segments",
    "Supervisor": "supervisorId name email assessments",
    "Assessment": "assessmentId type segment agent supervisor questionnaire category question "
    "answer comment score scoreMax scorePercentage weight offset createdAt date",
    "WorkloadItem": "segment agent order kind activity intervalStart date talkTime wrapUpTime "
    "activityTime parallelConversations",
    "DateDimension": "date year quarter month monthName week dayOfWeek dayOfWeekName dayOfMonth "
    "hour interval30Minutes interval15Minutes time",
    "Query": "segments conversations cases campaigns projects initiatives agents teams "
    "departments customers supervisors assessments workload queues node nodes",
}


def test_the_spec_names_are_served() -> None:
    type_map = build_schema()._schema.type_map
    missing = [
        f"{type_name}.{field}"
        for type_name, fields in SPEC_FIELDS.items()
        for field in fields.split()
        if field not in type_map[type_name].fields  # type: ignore[union-attr]
    ]
    assert missing == []


def test_every_entity_implements_node() -> None:
    type_map = build_schema()._schema.type_map
    for type_name in SPEC_FIELDS:
        if type_name in {"DateDimension", "Query"}:
            continue
        interfaces = [i.name for i in type_map[type_name].interfaces]  # type: ignore[union-attr]
        assert interfaces == ["Node"], type_name
