"""A graphql-core executor with fast lanes for the fields a nested page is made of.

graphql-core runs every field the same way: a resolve-info object, a path, Strawberry's resolver
wrapper (argument conversion, an `Info`), completion, and a coroutine or task for each pending
value. A page of 50 conversations with their segments, agents and customers is ~1,300 fields;
that machinery was 90 % of its time. This executor plans each selection set once per request:

- plain leaves (`segmentId`) are read off the object and serialized inline;
- plain object fields (`nodes`, `pageInfo`) are read off the object and completed;
- fields declared with a *binder* (`schema/sources.py`, by `schema/fields.py`) get their arguments
  converted and bound once per field of the query, then are called per object directly (a scalar
  or enum they return is serialized inline);
- before a list of objects is completed, the bound fields below it are resolved breadth first,
  one level of the tree at a time, so each level's loads are one batch and one await, and the
  completion that follows runs synchronously;
- a list the database answered already (`JsonRows`, `resolvers/json_rows.py`) is the
  completed value as it is.

Any other field, any field whose arguments fail to bind, and any leaf that fails to serialize or is
null where null is not allowed take graphql-core's own path: errors, their paths and null
propagation are graphql-core's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from enum import Enum, auto
from typing import Any, NamedTuple

from graphql import (
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types.arguments import convert_arguments

from resolvers.context import Context
from resolvers.json_rows import JsonRow, JsonRows
from resolvers.pagination import PAGE_ARGUMENTS
from schema.sources import Binder, source_of
from schema.variable_binds import plan_variables


class Later(NamedTuple):
    """A value still loading: `then(result of future)` once the batch has run."""

    future: asyncio.Future[Any]
    then: Callable[[Any], Any]


async def settle(value: Any) -> Any:
    """The final value of a bound resolver's result (for Strawberry's own resolver path)."""
    if type(value) is Later:
        return value.then(await value.future)
    if isinstance(value, Awaitable):
        return await value
    return value


class Lane(Enum):
    LEAF = auto()  # a plain attribute serialized as a scalar or enum
    ATTRIBUTE = auto()  # a plain attribute holding objects
    BOUND = auto()  # a resolver with a binder
    CORE = auto()  # graphql-core's path


class Step(NamedTuple):
    """How to execute one response key of a selection set."""

    name: str
    details: FieldDetailsList
    lane: Lane
    field_def: Any = None
    attribute: str = ""
    serialize: Callable[[Any], Any] | None = None
    resolve: Callable[[Any], Any] | None = None
    # values that are objects (or lists of them, of `item_type`) are completed with `plan`, the
    # plan of their selection, without graphql-core's chain
    plan: Plan | None = None
    item_type: GraphQLOutputType | None = None


class Plan(NamedTuple):
    """A selection set of an object type: its steps, and those the prefetch walks (bound
    fields, object fields)."""

    object_type: GraphQLObjectType
    steps: list[Step]
    walk: list[Step]


class _Failed(NamedTuple):
    """A prefetched value whose load failed; completing it raises the error in its place."""

    error: BaseException


# (id of a field definition, its arguments' values) -> their Python values; the definitions are
# the schema's, alive as long as the process
_CONVERTED: dict[tuple[int, Any], dict[str, Any]] = {}
_CONVERTED_MAX = 4096


def freeze(value: Any) -> Any:
    """A hashable image of argument values (lists and input objects become tuples)."""
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("[", *(freeze(v) for v in value))
    hash(value)
    return (type(value), value)


def converted_arguments(schema: Any, definition: Any, raw: dict[str, Any]) -> dict[str, Any]:
    """Strawberry's Python values of a field's arguments (graphql-core's `raw` values), cached by
    field and value.

    Converting `orderBy: [{field: STARTED_AT, direction: DESC}]` into input objects costs
    Strawberry ~80 µs, the same for every request of a dashboard. The converted values are
    shared between requests: binders only read them. Page arguments (`first`, `after`, `last`,
    `before`: numbers and texts, passed as they are) are left out of the key, so a client
    walking through pages (a new cursor each time) or showing more (a larger `first`) gets the
    same filter and order objects (connection plans are keyed by them).
    """
    page = {name: raw[name] for name in PAGE_ARGUMENTS if name in raw}
    if page:
        rest = {name: value for name, value in raw.items() if name not in page}
        return {**converted_arguments(schema, definition, rest), **page}
    try:
        key: Any = (id(definition), freeze(raw))
        cached = _CONVERTED.get(key)
    except TypeError:  # an unhashable value: convert each time
        key, cached = None, None
    if cached is not None:
        return cached
    strawberry_schema = schema._strawberry_schema
    arguments = convert_arguments(
        raw,
        definition.arguments,
        scalar_registry=strawberry_schema.schema_converter.scalar_registry,
        config=strawberry_schema.config,
    )
    if key is not None:
        if len(_CONVERTED) >= _CONVERTED_MAX:
            _CONVERTED.clear()
        _CONVERTED[key] = arguments
    return arguments


class Executor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor with the fast lanes of the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # id of selection set -> (the set, kept alive so its id stays unique; its plan)
        self._plans: dict[int, tuple[GroupedFieldSet, Plan]] = {}
        # (object type, id of field) -> (the field, kept alive; the plan of its sub-selection, or
        # None under @defer, which graphql-core delivers)
        self._subplans: dict[tuple[str, int], tuple[FieldDetailsList, Plan | None]] = {}
        # (id of object, id of field) -> (the object, kept alive; its prefetched value)
        self._prefetched: dict[tuple[int, int], tuple[Any, Any]] = {}
        # lists of objects the prefetch walked already (id -> the list, kept alive)
        self._walked: dict[int, list[Any]] = {}
        manager = self.middleware_manager
        self._fast = manager is None or not manager._middleware_resolvers
        # connections plan with the variables bound at their reads as placeholders
        planned = plan_variables(self.operation, self.fragment_definitions, self.variable_values)
        self._plan_variables = planned.variables
        if isinstance(self.context_value, Context):
            self.context_value.takes_json_rows = True
            self.context_value.graphql_schema = self.schema
            self.context_value.variables = planned.variables
            self.context_value.bound_values = planned.values

    # --- planning -------------------------------------------------------------------------------

    def _plan(self, parent_type: GraphQLObjectType, fields: GroupedFieldSet) -> Plan:
        """The plan of a selection set (each belongs to one parent type)."""
        cached = self._plans.get(id(fields))
        if cached is not None:
            return cached[1]
        steps = [self._step(parent_type, name, details) for name, details in fields.items()]
        walk = [
            step
            for step in steps
            if step.lane is Lane.BOUND or (step.lane is Lane.ATTRIBUTE and step.plan)
        ]
        plan = Plan(parent_type, steps, walk)
        self._plans[id(fields)] = (fields, plan)
        return plan

    def _subplan(self, object_type: GraphQLObjectType, details: FieldDetailsList) -> Plan | None:
        """The plan of what is selected of `object_type` values of a field."""
        key = (object_type.name, id(details))
        cached = self._subplans.get(key)
        if cached is not None:
            return cached[1]
        fields, defers, *_ = self.collect_subfields(object_type, details)
        plan = None if defers else self._plan(object_type, fields)
        self._subplans[key] = (details, plan)
        return plan

    def _step(self, parent_type: GraphQLObjectType, name: str, details: FieldDetailsList) -> Step:
        core = Step(name, details, Lane.CORE)
        node = details[0].node
        field_def = self.schema.get_field(parent_type, node.name.value)
        if field_def is None or not self._fast:
            return core
        definition = field_def.extensions.get("strawberry-definition")
        if definition is None or definition.extensions:  # permission classes are extensions
            return core
        if getattr(field_def.resolve, "_is_default", False):
            if definition.default_resolver is not getattr or node.arguments:
                return core
            named = get_nullable_type(field_def.type)
            if is_leaf_type(named):
                return Step(
                    name, details, Lane.LEAF, field_def, definition.python_name,
                    named.coerce_output_value,
                )  # fmt: skip
            return Step(
                name, details, Lane.ATTRIBUTE, field_def, definition.python_name,
                **self._object_shape(field_def.type, details),
            )  # fmt: skip
        resolver = definition.base_resolver
        source = source_of(resolver.wrapped_func) if resolver is not None else None
        bind = source.bind if source is not None else None
        if bind is None:
            return core
        # a connection's plan holds its bound variables as placeholders (`variable_binds`)
        planned = source is not None and source.connection is not None
        try:
            resolve = self._bind(bind, field_def, definition, details, planned)
        except Exception:  # bad arguments: graphql-core's path reports them, per occurrence
            return core
        named = get_nullable_type(field_def.type)
        if is_leaf_type(named):
            return Step(
                name, details, Lane.BOUND, field_def, resolve=resolve,
                serialize=named.coerce_output_value,
            )  # fmt: skip
        return Step(
            name, details, Lane.BOUND, field_def, resolve=resolve,
            **self._object_shape(field_def.type, details),
        )  # fmt: skip

    def _object_shape(self, field_type: GraphQLOutputType, details: FieldDetailsList) -> Any:
        """`plan`/`item_type` of a `Step` whose values are objects or lists of objects."""
        if any(d.node.directives for d in details):  # @stream and friends: graphql-core's path
            return {}
        nullable = get_nullable_type(field_type)
        item_type = None
        if isinstance(nullable, GraphQLList):
            item_type = nullable.of_type
            nullable = get_nullable_type(item_type)
        if not is_object_type(nullable):
            return {}
        plan = self._subplan(nullable, details)
        return {} if plan is None else {"plan": plan, "item_type": item_type}

    def _bind(
        self,
        bind: Binder,
        field_def: Any,
        definition: Any,
        details: FieldDetailsList,
        planned: bool = False,
    ) -> Callable[[Any], Any]:
        first = details[0]
        raw = get_argument_values(
            field_def,
            first.node,
            self._plan_variables if planned else self.variable_values,
            first.fragment_variable_values,
            self.hide_suggestions,
        )
        arguments = converted_arguments(self.schema, definition, raw)
        nodes = [d.node for d in details]
        return bind(self.context_value, nodes, self.fragment_definitions, **arguments)

    # --- execution ------------------------------------------------------------------------------

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        steps = self._plan(parent_type, grouped_field_set).steps
        return self._run(parent_type, source_value, path, steps, position_context)

    def _run(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        steps: list[Step],
        position_context: Any,
    ) -> Any:
        """`execute_fields` of a planned selection set."""
        results: dict[str, Any] = {}
        awaitable_fields: list[str] = []
        is_awaitable = self.is_awaitable
        prefetched = self._prefetched
        try:
            for step in steps:
                lane = step.lane
                name = step.name
                if lane is Lane.LEAF:
                    try:
                        value = getattr(source_value, step.attribute)
                        if value is None:
                            if not is_non_null_type(step.field_def.type):
                                results[name] = None
                                continue
                        else:
                            out = step.serialize(value)  # type: ignore[misc]
                            if out is not None and out is not Undefined:
                                results[name] = out
                                continue
                    except Exception:
                        pass
                    lane = Lane.CORE
                field_path = Path(path, name, parent_type.name)
                if lane is Lane.CORE:
                    result = self.execute_field(
                        parent_type, source_value, step.details, field_path, position_context
                    )
                    if result is Undefined:
                        continue
                else:
                    try:
                        if lane is Lane.ATTRIBUTE:
                            value = getattr(source_value, step.attribute)
                        else:
                            memo = prefetched.get((id(source_value), id(step.details)))
                            if memo is not None and memo[0] is source_value:
                                value = memo[1]
                                if type(value) is _Failed:
                                    raise value.error
                            else:
                                value = step.resolve(source_value)  # type: ignore[misc]
                        result = self._complete(
                            parent_type, step, field_path, value, position_context
                        )
                    except Exception as raw_error:
                        self.handle_field_error(
                            raw_error, step.field_def.type, step.details, field_path
                        )
                        result = None
                results[name] = result
                if is_awaitable(result):
                    awaitable_fields.append(name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[f] for f in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return _await_fields(results, awaitable_fields)

    def _complete(
        self,
        parent_type: GraphQLObjectType,
        step: Step,
        path: Path,
        value: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's `execute_field` from the resolver's result on (the caller catches)."""
        if type(value) is JsonRow:
            return value  # the database wrote this answer already
        if type(value) is Later:
            value = value.then(value.future.result()) if value.future.done() else _settle(value)
        elif value is None and not is_non_null_type(step.field_def.type):
            return None  # a missing link, the commonest null
        plan = step.plan
        awaitable = self.is_awaitable(value)
        serialize = step.serialize
        if serialize is not None and value is not None and not awaitable:  # a bound leaf
            try:
                out = serialize(value)
            except Exception:  # graphql-core's completion below reports it
                out = None
            if out is not None and out is not Undefined:
                return out
        if plan is not None and value is not None and not awaitable:
            if step.item_type is None:
                completed = self._complete_object(plan, path, value)
            else:
                completed = self._complete_objects(plan, step.item_type, step.details, path, value)
            if self.is_awaitable(completed):
                return self._await_completed(completed, step.field_def.type, step.details, path)
            if completed is not Undefined:
                return completed
        return_type = step.field_def.type
        details = step.details
        info = self.build_resolve_info(step.field_def, _nodes(details), parent_type, path)
        if awaitable:
            return self.complete_awaitable_value(
                return_type, details, info, path, value, position_context
            )
        completed = self.complete_value(return_type, details, info, path, value, position_context)
        if self.is_awaitable(completed):
            return self._await_completed(completed, return_type, details, path)
        return completed

    def _complete_object(self, plan: Plan, path: Path, value: Any) -> Any:
        """An object's fields, or `Undefined` when graphql-core must complete it (checks fail)."""
        is_type_of = plan.object_type.is_type_of
        # Strawberry's `is_type_of` is an isinstance check that ignores its info argument
        if is_type_of is not None and not is_type_of(value, None):  # type: ignore[arg-type]
            return Undefined
        return self._run(plan.object_type, value, path, plan.steps, None)

    def _complete_objects(
        self,
        plan: Plan,
        item_type: GraphQLOutputType,
        details: FieldDetailsList,
        path: Path,
        items: Any,
    ) -> Any:
        """A list of objects, or `Undefined` for graphql-core (nulls, ...).

        The first list of a page resolves the bound fields below it first (the prefetch).
        """
        if type(items) is JsonRows:
            return items  # the database wrote these answers already
        if type(items) is not list:
            return Undefined
        is_type_of = plan.object_type.is_type_of
        for item in items:
            if item is None or (is_type_of is not None and not is_type_of(item, None)):  # type: ignore[arg-type]
                return Undefined

        def complete() -> Any:
            return self._complete_items(plan, item_type, details, path, items)

        return self._prefetch_list(items, plan, complete)

    def _complete_items(
        self,
        plan: Plan,
        item_type: GraphQLOutputType,
        details: FieldDetailsList,
        path: Path,
        items: list[Any],
    ) -> Any:
        """graphql-core's list completion, for items checked to be objects of a planned type."""
        completed: list[Any] = []
        pending: list[int] = []
        object_type, steps = plan.object_type, plan.steps
        try:
            for index, item in enumerate(items):
                item_path = path.add_key(index, None)
                try:
                    result = self._run(object_type, item, item_path, steps, None)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, details, item_path)
                    result = None
                if self.is_awaitable(result):
                    result = self._await_completed(result, item_type, details, item_path)
                    pending.append(index)
                completed.append(result)
        except Exception:  # an item nulls the list: the pending ones still run, as in graphql-core
            if pending:
                self.settle_in_background([completed[i] for i in pending])
            raise
        if not pending:
            return completed
        return _await_items(completed, pending)

    async def _await_completed(
        self, completed: Awaitable[Any], return_type: GraphQLOutputType, details: Any, path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, path)
            return None

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: Any,
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's, but an answer the database wrote (an edge's node) is complete."""
        if type(result) is JsonRow:
            return result
        return super().complete_value(
            return_type, field_details_list, info, path, result, position_context
        )

    # --- breadth-first prefetch -----------------------------------------------------------------

    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: Any,
        path: Path,
        items: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's, after the prefetch below a list it reaches (fields on its own path)."""

        def complete() -> Any:
            return super(Executor, self).complete_iterable_value(
                item_type, field_details_list, info, path, items, position_context
            )

        if type(items) is JsonRows:
            return items  # the database wrote these answers already
        named = get_nullable_type(item_type)
        if self._fast and type(items) is list and is_object_type(named):
            plan = self._subplan(named, field_details_list)
            if plan is not None:
                return self._prefetch_list(items, plan, complete)
        return complete()

    def _prefetch_list(self, items: list[Any], plan: Plan, complete: Callable[[], Any]) -> Any:
        """`complete()` the list, after resolving the bound fields below its objects (once: a
        list the prefetch of an outer list walked already is complete as it is)."""
        if len(items) > 1 and self._walked.get(id(items)) is not items:
            self._walked[id(items)] = items
            pending = self._resolve_levels([(item, plan) for item in items if item is not None])
            if pending:
                return self._prefetch_then(pending, complete)
        return complete()

    async def _prefetch_then(
        self, pending: list[tuple[Any, Step, Later]], complete: Callable[[], Any]
    ) -> Any:
        """Wait for each level's batch, walk into what it loaded, then `complete()`."""
        while pending:
            for _, _, later in pending:
                # one suspension per batch: a level's loads settle together, and a done future
                # is not awaited (asyncio.wait would hang a callback on every one of them)
                if not later.future.done():
                    with contextlib.suppress(Exception):  # raised where the field completes
                        await later.future
            level: list[tuple[Any, Plan]] = []
            for source, step, later in pending:
                value = _then_now(later)
                self._prefetched[(id(source), id(step.details))] = (source, value)
                self._children(value, step, level)
            pending = self._resolve_levels(level)
        completed = complete()
        if self.is_awaitable(completed):
            return await completed
        return completed

    def _resolve_levels(self, level: list[tuple[Any, Plan]]) -> list[tuple[Any, Step, Later]]:
        """Call the bound fields of `level`'s objects, and of the objects below them already there.

        Returns the loads still pending: the caller waits for them and walks on.
        """
        pending: list[tuple[Any, Step, Later]] = []
        prefetched = self._prefetched
        while level:
            next_level: list[tuple[Any, Plan]] = []
            for source, plan in level:
                for step in plan.walk:
                    if step.lane is Lane.ATTRIBUTE:
                        try:
                            value = getattr(source, step.attribute)
                        except Exception:  # reported when the field is completed
                            continue
                    elif step.lane is Lane.BOUND:
                        key = (id(source), id(step.details))
                        if key in prefetched:
                            continue
                        try:
                            value = step.resolve(source)  # type: ignore[misc]
                        except Exception as error:
                            value = _Failed(error)
                        if isinstance(value, asyncio.Future) and value.done():
                            value = _outcome(value)  # a loader's cache hit
                        elif type(value) is not Later and self.is_awaitable(value):
                            value = Later(asyncio.ensure_future(value), _identity)
                        if type(value) is Later:
                            if not value.future.done():
                                pending.append((source, step, value))
                                continue
                            value = _then_now(value)
                        prefetched[key] = (source, value)
                    self._children(value, step, next_level)
            level = next_level
        return pending

    def _children(
        self,
        value: Any,
        step: Step,
        level: list[tuple[Any, Plan]],
    ) -> None:
        """Queue the objects `value` holds (one, or a list of them) for the next level."""
        plan = step.plan
        if value is None or plan is None or type(value) in (_Failed, JsonRows, JsonRow):
            return
        if step.item_type is None:
            level.append((value, plan))
        elif type(value) is list:
            self._walked[id(value)] = value
            level.extend((item, plan) for item in value if item is not None)


async def _await_items(completed: list[Any], pending: list[int]) -> list[Any]:
    values = await gather_with_cancel(*(completed[i] for i in pending))
    for index, value in zip(pending, values, strict=True):
        completed[index] = value
    return completed


def _nodes(details: FieldDetailsList) -> list[Any]:
    return [d.node for d in details]


def _then_now(later: Later) -> Any:
    """The value of a loaded `Later`, or its failure to be raised when the field completes."""
    try:
        return later.then(later.future.result())
    except Exception as error:
        return _Failed(error)


def _outcome(future: asyncio.Future[Any]) -> Any:
    """A done future's value, or its failure to be raised when the field completes."""
    error = future.exception()
    return future.result() if error is None else _Failed(error)


def _identity(value: Any) -> Any:
    return value


async def _settle(later: Later) -> Any:
    return later.then(await later.future)


async def _await_fields(results: dict[str, Any], names: list[str]) -> dict[str, Any]:
    if len(names) == 1:
        results[names[0]] = await results[names[0]]
    else:
        values = await gather_with_cancel(*(results[n] for n in names))
        results.update(zip(names, values, strict=True))
    return results
