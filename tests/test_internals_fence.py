"""A fence around what the gateway borrows from graphql-core's and Strawberry's internals.

schema/executor.py subclasses graphql-core's executor (through Strawberry's) and calls its methods
positionally; it reads Strawberry's field definitions to find its fast lanes, and converts
arguments with Strawberry's own function. None of that is public API: a minor release may rename a
method, reorder its parameters or drop an attribute. Some of those changes would raise at once,
others would only make the executor fall back to graphql-core's path for every field (correct but
several times slower) or stop masking errors with a request id. Each check below names the thing
that changed and who uses it, so an upgrade (`make lock UPGRADE=1`) fails here first.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from importlib import metadata
from typing import Any

import pytest
from graphql import GraphQLObjectType, GraphQLSchema
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import Info

from resolvers.context import Context, Options
from resolvers.viewer import Viewer
from schema import build_schema
from schema.executor import Executor, Plan
from schema.sources import source_of
from tests.conftest import SCHEMA

VERSIONS = ", ".join(
    f"{name} {metadata.version(name)}" for name in ("graphql-core", "strawberry-graphql")
)

# (module, name, who imports it): names from modules below the packages' documented top level
IMPORTS = [
    ("graphql.execution.collect_fields", "FieldDetailsList", "schema/executor.py"),
    ("graphql.execution.collect_fields", "GroupedFieldSet", "schema/executor.py"),
    ("graphql.execution.values", "get_argument_values", "schema/executor.py"),
    ("graphql.pyutils", "Path", "schema/executor.py"),
    ("graphql.pyutils", "Undefined", "schema/executor.py"),
    ("graphql.pyutils", "gather_with_cancel", "schema/executor.py"),
    ("strawberry.schema.schema", "StrawberryGraphQLCoreExecutionContext", "schema/executor.py"),
    ("strawberry.types.arguments", "convert_arguments", "schema/executor.py"),
    ("strawberry.schema.name_converter", "NameConverter", "schema/columns.py"),
    ("strawberry.annotation", "StrawberryAnnotation", "schema/declare.py"),
    ("strawberry.types.arguments", "StrawberryArgument", "schema/declare.py, schema/metrics.py"),
    ("strawberry.types.field", "StrawberryField", "schema/declare.py and its users"),
    ("strawberry.types.base", "get_object_definition", "schema/base.py, schema/columns.py"),
    ("strawberry.types.nodes", "SelectedField", "schema/base.py, schema/metrics.py"),
    ("strawberry.types.nodes", "FragmentSpread", "schema/base.py"),
    ("strawberry.types.nodes", "InlineFragment", "schema/base.py"),
    ("strawberry.types.private", "is_private", "schema/connections.py"),
    ("strawberry.schema.base", "BaseSchema", "gateway/graphql_http.py"),
    ("strawberry.schema.exceptions", "CannotGetOperationTypeError", "gateway/graphql_http.py"),
    ("strawberry.schema.exceptions", "InvalidOperationTypeError", "gateway/graphql_http.py"),
    ("strawberry.types.execution", "ExecutionResult", "gateway/graphql_http.py"),
    ("strawberry.types.execution", "PreExecutionError", "gateway/graphql_http.py"),
    ("strawberry.types.graphql", "OperationType", "gateway/graphql_http.py"),
]


@pytest.mark.parametrize(
    ("module", "name", "user"), IMPORTS, ids=[f"{m}.{n}" for m, n, _ in IMPORTS]
)
def test_internal_names_still_exist(module: str, name: str, user: str) -> None:
    try:
        found = hasattr(importlib.import_module(module), name)
    except ImportError:
        found = False
    assert found, f"{module}.{name} is gone ({VERSIONS}); {user} imports it"


# graphql-core executor methods schema/executor.py overrides (graphql-core must still call them
# with these arguments) or calls positionally (they must still take them in this order)
EXECUTOR_METHODS = {
    "execute_fields": (
        "overrides",
        ("parent_type", "source_value", "path", "grouped_field_set", "position_context"),
    ),
    "complete_iterable_value": (
        "overrides",
        ("item_type", "field_details_list", "info", "path", "items", "position_context"),
    ),
    "execute_field": (
        "calls",
        ("parent_type", "source", "field_details_list", "path", "position_context"),
    ),
    "complete_value": (
        "calls",
        ("return_type", "field_details_list", "info", "path", "result", "position_context"),
    ),
    "complete_awaitable_value": (
        "calls",
        ("return_type", "field_details_list", "info", "path", "result", "position_context"),
    ),
    "build_resolve_info": ("calls", ("field_def", "field_nodes", "parent_type", "path")),
    "handle_field_error": ("calls", ("raw_error", "return_type", "field_details_list", "path")),
    "collect_subfields": ("calls", ("return_type", "field_details_list")),
    "settle_in_background": ("calls", ("awaitables",)),
}


def _parameters(function: Any) -> tuple[str, ...]:
    names = tuple(inspect.signature(function).parameters)
    return names[1:] if names and names[0] == "self" else names


@pytest.mark.parametrize("method", list(EXECUTOR_METHODS))
def test_executor_methods_keep_their_parameters(method: str) -> None:
    use, expected = EXECUTOR_METHODS[method]
    base = getattr(StrawberryGraphQLCoreExecutionContext, method, None)
    assert base is not None, (
        f"graphql-core's executor has no `{method}` any more ({VERSIONS}); "
        f"schema/executor.py {use} it"
    )
    actual = _parameters(base)
    assert actual == expected, (
        f"graphql-core's executor `{method}` now takes {actual}, schema/executor.py {use} it "
        f"with {expected} ({VERSIONS})"
    )


FUNCTIONS = {
    "graphql.execution.values.get_argument_values": (
        ("type_def", "node", "variable_values", "fragment_variable_values", "hide_suggestions"),
        "schema/executor.py `_bind` passes them positionally",
    ),
    "strawberry.types.arguments.convert_arguments": (
        ("value", "arguments", "scalar_registry", "config"),
        "schema/executor.py `_convert` passes them",
    ),
    "strawberry.types.arguments.StrawberryArgument.__init__": (
        (
            "python_name",
            "graphql_name",
            "type_annotation",
            "is_subscription",
            "description",
            "default",
        ),
        "schema/declare.py passes them by name",
    ),
    "graphql.pyutils.Path": (
        ("prev", "key", "typename"),
        "schema/executor.py builds response paths with them",
    ),
    "graphql.pyutils.Path.add_key": (("key", "typename"), "schema/executor.py indexes lists"),
    "strawberry.extensions.MaskErrors.__init__": (
        ("should_mask_error", "error_message"),
        "schema/masking.py configures masking with them",
    ),
    "strawberry.extensions.MaskErrors.anonymise_error": (
        ("error",),
        "schema/masking.py overrides it to log and hand out the request id",
    ),
}


def _resolve(dotted: str) -> Any:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute, None)
        return target
    return None


@pytest.mark.parametrize("dotted", list(FUNCTIONS))
def test_functions_keep_their_parameters(dotted: str) -> None:
    expected, use = FUNCTIONS[dotted]
    function = _resolve(dotted)
    assert function is not None, f"{dotted} is gone ({VERSIONS}); {use}"
    actual = _parameters(function)[: len(expected)]
    assert actual == expected, f"{dotted} now takes {actual}, not {expected} ({VERSIONS}); {use}"


def test_collected_fields_start_with_the_grouped_set_and_defers() -> None:
    collected = inspect.signature(StrawberryGraphQLCoreExecutionContext.collect_subfields)
    fields = getattr(collected.return_annotation, "_fields", None)
    if fields is None:  # annotations are strings: look the class up where it is defined
        fields = _resolve("graphql.execution.collect_fields.CollectedFields")._fields
    assert fields[:2] == ("grouped_field_set", "new_defer_usages"), (
        f"graphql-core's CollectedFields is now {fields} ({VERSIONS}); schema/executor.py "
        "`_subplan` unpacks `fields, defers, *_` from collect_subfields"
    )


def test_field_arguments_can_be_set() -> None:
    """schema/declare.py sets a field's `arguments` list, as Strawberry's InputMutationExtension."""
    from strawberry.types.field import StrawberryField

    arguments = getattr(StrawberryField, "arguments", None)
    assert isinstance(arguments, property) and arguments.fset is not None, (
        f"Strawberry's field definitions no longer take an `arguments` list ({VERSIONS}); "
        "schema/declare.py `declared_field` sets it"
    )


def _field(type_name: str, field_name: str) -> Any:
    graphql_type = SCHEMA._schema.get_type(type_name)
    assert isinstance(graphql_type, GraphQLObjectType)
    return graphql_type.fields[field_name]


def test_strawberry_field_definitions_keep_what_the_executor_reads() -> None:
    """`Executor._step` picks a lane from these; a rename would send every field down the slow
    path without an error."""
    graphql_schema: GraphQLSchema = SCHEMA._schema
    assert getattr(graphql_schema, "_strawberry_schema", None) is SCHEMA, (
        f"graphql-core's schema no longer carries `_strawberry_schema` ({VERSIONS}); "
        "schema/executor.py `_convert` reads the scalar registry and config through it"
    )
    assert isinstance(SCHEMA.schema_converter.scalar_registry, Mapping), (
        f"Strawberry's `schema_converter.scalar_registry` changed ({VERSIONS}); "
        "schema/executor.py `_convert` passes it to convert_arguments"
    )
    leaf = _field("Segment", "segmentId")
    definition = leaf.extensions.get("strawberry-definition")
    assert definition is not None, (
        f"graphql-core fields no longer carry Strawberry's definition under "
        f"extensions['strawberry-definition'] ({VERSIONS}); schema/executor.py `_step` reads it"
    )
    for attribute in (
        "extensions",
        "default_resolver",
        "python_name",
        "base_resolver",
        "arguments",
    ):
        assert hasattr(definition, attribute), (
            f"Strawberry's field definition has no `{attribute}` any more ({VERSIONS}); "
            "schema/executor.py `_step`/`_convert` read it"
        )
    assert getattr(leaf.resolve, "_is_default", None) is True, (
        f"Strawberry's default resolver is no longer marked `_is_default` ({VERSIONS}); "
        "schema/executor.py `_step` tells plain attributes by it"
    )
    assert definition.default_resolver is getattr, (
        f"Strawberry's default resolver is no longer `getattr` ({VERSIONS}); "
        "schema/executor.py `_step` reads plain attributes itself only then"
    )
    bound = _field("Conversation", "segments").extensions["strawberry-definition"]
    wrapped = getattr(bound.base_resolver, "wrapped_func", None)
    assert wrapped is not None and source_of(wrapped) is not None, (
        f"Strawberry's resolver no longer exposes the function as `wrapped_func` ({VERSIONS}); "
        "schema/executor.py `_step` finds the binder of schema/fields.py on it"
    )


def test_info_keeps_graphql_cores_resolve_info() -> None:
    """schema/fields.py resolvers hand `info._raw_info.field_nodes/fragments` to their binders."""
    assert "_raw_info" in inspect.signature(Info).parameters or hasattr(Info, "_raw_info"), (
        f"Strawberry's Info no longer holds `_raw_info` ({VERSIONS}); schema/fields.py reads "
        "field_nodes and fragments from it"
    )


def test_is_type_of_ignores_its_info() -> None:
    """`Executor._complete_object(s)` call `is_type_of(value, None)`."""
    segment = SCHEMA._schema.get_type("Segment")
    assert isinstance(segment, GraphQLObjectType) and segment.is_type_of is not None
    assert segment.is_type_of(object(), None) is False, (
        f"Strawberry's is_type_of changed ({VERSIONS}); schema/executor.py calls it with no info"
    )


EXPECTED_LANES = {
    "Query.conversations": "BOUND",
    "ConversationConnection.nodes": "ATTRIBUTE",
    "Conversation.conversationId": "LEAF",
    "Conversation.segments": "BOUND",
    "SegmentConnection.nodes": "ATTRIBUTE",
    "Segment.segmentId": "LEAF",
    "Segment.agent": "BOUND",
    "Agent.fullName": "LEAF",
}
LANES_QUERY = """{ conversations(first: 3) { nodes { conversationId
  segments(first: 2) { nodes { segmentId agent { fullName } } } } } }"""


async def test_the_gateways_schema_takes_the_fast_lanes(small_engine: AsyncEngine) -> None:
    """The sum of the checks above: a nested page runs on the fast lanes, field by field, on the
    executor's own instance attributes (a rename there would raise or fall back)."""
    lanes: dict[str, str] = {}
    instance: list[Executor] = []

    class Spy(Executor):
        def _plan(self, parent_type: GraphQLObjectType, fields: Any) -> Plan:
            instance.append(self)
            plan = super()._plan(parent_type, fields)
            for step in plan.steps:
                lanes[f"{parent_type.name}.{step.name}"] = step.lane.name
            return plan

    context = Context(engine=small_engine, options=Options(), viewer=Viewer.system())
    result = await build_schema(executor=Spy).execute(LANES_QUERY, context_value=context)
    assert result.errors is None, result.errors
    assert len(result.data["conversations"]["nodes"]) == 3  # type: ignore[index]
    for attribute in ("schema", "variable_values", "fragment_definitions", "context_value"):
        assert hasattr(instance[0], attribute), (
            f"graphql-core's executor has no `{attribute}` any more ({VERSIONS}); "
            "schema/executor.py reads it"
        )
    manager = instance[0].middleware_manager
    assert manager is None or hasattr(manager, "_middleware_resolvers"), (
        f"graphql-core's MiddlewareManager has no `_middleware_resolvers` ({VERSIONS}); "
        "schema/executor.py takes the fast lanes only without middleware resolvers"
    )
    slow = {k: (lanes.get(k), lane) for k, lane in EXPECTED_LANES.items() if lanes.get(k) != lane}
    assert not slow, (
        f"fields left the executor's fast lanes ({VERSIONS}), as (now, expected): {slow}; "
        "an upgrade changed what schema/executor.py `_step` relies on"
    )
