"""Documents the database answers whole: one statement, its JSON text the response's `data`.

A dashboard sends the same few documents all day. When every root field of a query is a connection
whose rows take the JSON path (`schema/json_shapes.py`: stored values, global ids, to-one links,
nested pages) and whose selection is `nodes`, `edges`, `pageInfo`, `__typename` and `totalCount`,
the database can write the whole `data` object in one statement: each page's rows as their JSON,
aggregated in the page's order with their cursors, page info and count
(`resolvers/json_pages.py`), the pages in one object; a connection selecting only `totalCount`
is its count, no rows read.
Such a request needs no GraphQL execution, no objects and no JSON encoding in Python.

A document is learned after the gateway answered it twice through GraphQL without an error: it
parsed, validated and passed the limits with these variables for this viewer, and it came back
(variables seen once would pay for a statement never used: about as much again as the GraphQL
answer). The statement is kept for (document, operation name, variables, viewer) and answers the
next requests with the same key, reading the data anew each time. Variables used only as filter
comparison operands are bound at each read (`schema/variable_binds.py`): the key holds whether
they are given, not their values, so a sliding time window is one statement. So are the cursors
and page sizes of root connections given as variables: the key holds which of a cursor's sort
values are null and whether a size is given, and each request's are checked (and cursors
decoded) for their connection and bound, so a client walking through pages is answered whole
from its third page with a cursor, and one showing more (a larger `first` each time) from its
third request.
On PostgreSQL the statement is compiled at its second answer and runs from then on on the engine's
direct reader (`warehouse/direct_reads.py`). On SQLite a statement whose last read took 2 ms or
less is read on the event loop's thread, with no hop to a worker thread and back, and one that
runs past 20 ms there is interrupted and read in a thread (`warehouse/inline_reads.py`).
Everything else, and any failure of the statement (it is then forgotten; one the database
refuses for its size is kept as not whole), takes the GraphQL path, which answers the same.
Which pages qualify is `connection_field`'s own plan (`schema/fields.py`): the same arguments,
scope, order and shape.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    VariableDefinitionNode,
    VariableNode,
    parse,
)
from graphql.execution import VariableValues, get_variable_values
from sqlalchemy import Engine, String, Text, cast, literal, select
from sqlalchemy.exc import DBAPIError

from resolvers.cancel import aggregate_reads, aggregate_turn, read_in_thread
from resolvers.context import Context
from resolvers.entities import ENTITIES, Entity
from resolvers.errors import BadInput
from resolvers.json_pages import json_object
from resolvers.pages import BoundArgs, count_answer, page_answer, run_scalar
from resolvers.pagination import (
    CURSOR_ARGUMENTS,
    PAGE_ARGUMENTS,
    OrderSpec,
    cursor_nulls,
    decode_seek,
)
from resolvers.viewer import Viewer
from schema.fields import relay_args
from schema.json_shapes import by_key, collect, connection_keys, connection_plan
from schema.sources import source_of
from schema.variable_binds import (
    Bindable,
    bindable,
    bound_values,
    plan_variables,
    variable_of,
)
from warehouse.direct_reads import CompiledRead, DirectReadError, compile_read, direct_reader
from warehouse.engine import thread_reader
from warehouse.inline_reads import SHORT_SECONDS, ReadTooLong, scalar_inline, scalar_timed
from warehouse.limits import beyond_engine_limits

log = logging.getLogger("insights_gateway")

MAX_DOCUMENTS = 1024
_NOT_WHOLE = object()  # a learned key whose document takes the GraphQL path
_SEEN = object()  # a key GraphQL answered once: learned at its next answer
DIRECT_FROM = 1  # answers through SQLAlchemy before the statement is compiled for direct reads


class _Key(NamedTuple):
    """What a learned statement answers: the document, its variables' values (of those bound at
    each read, which are; those it does not declare, which GraphQL ignores: none), and the
    viewer."""

    query: str
    operation_name: str | None
    values: str
    bound: tuple[str, ...]
    pages: tuple[tuple[str, Any], ...]  # cursors: which values are null; sizes: whether given
    viewer: Viewer


@dataclass
class _Document:
    """A document offered to learn, parsed once: its operation's variables bound at each read
    (`schema/variable_binds.py`) are keyed by which are bound, not their values; whether a
    statement was ever learned for it (until then its requests skip coercing variables for a
    key that cannot be found)."""

    document: DocumentNode
    bindable: Bindable
    definitions: tuple[VariableDefinitionNode, ...]
    declared: frozenset[str]  # the names of the variables it defines
    whole: bool = False


class WholeAnswers:
    """The statements of the documents answered whole, the most recently used `size` of them."""

    def __init__(self, schema: GraphQLSchema, size: int = MAX_DOCUMENTS) -> None:
        self.schema = schema
        self.size = size
        self._statements: OrderedDict[Any, Any] = OrderedDict()
        self._documents: OrderedDict[tuple[str, str | None], _Document] = OrderedDict()

    def _key(
        self,
        ctx: Context,
        query: str,
        operation_name: str | None,
        variables: Any,
        doc: _Document,
        bound: dict[str, Any],
        coerced: Mapping[str, Any],
    ) -> _Key | None:
        """The key of this request (None: a cursor that is none, GraphQL's path says why)."""
        cursors, sizes = doc.bindable.cursors, doc.bindable.sizes
        pages: list[tuple[str, Any]] = []
        for name in sorted(cursors):
            cursor = coerced.get(name)
            nulls = None if cursor is None else cursor_nulls(cursor)
            if cursor is not None and nulls is None:
                return None
            pages.append((name, nulls))
        pages += [(name, coerced.get(name) is not None) for name in sorted(sizes)]
        if isinstance(variables, dict):
            bound_names = {variable_of(name) for name in bound}
            variables = {
                n: v
                for n, v in variables.items()
                if n in doc.declared
                and n not in bound_names
                and n not in cursors
                and n not in sizes
            }
        values = json.dumps(variables, sort_keys=True)
        return _Key(query, operation_name, values, tuple(sorted(bound)), tuple(pages), ctx.viewer)

    def _coerced(self, doc: _Document, variables: Any) -> Mapping[str, Any] | None:
        """The request's coerced variables (only looked at when some may be bound: GraphQL's
        path reports those that do not coerce, None)."""
        found = doc.bindable
        if not (found.names or found.cursors or found.sizes) or not isinstance(variables, dict):
            return {}
        coerced = get_variable_values(self.schema, doc.definitions, variables)
        return None if isinstance(coerced, list) else coerced.coerced

    async def answer(
        self, ctx: Context, query: str, operation_name: str | None, variables: Any
    ) -> bytes | None:
        """The response body, when this request's document was learned as answered whole."""
        document = self._documents.get((query, operation_name))
        if document is None or not document.whole:
            return None
        coerced = self._coerced(document, variables)
        if coerced is None:
            return None
        bound = bound_values(document.bindable, coerced)
        key = self._key(ctx, query, operation_name, variables, document, bound, coerced)
        statement = self._statements.get(key) if key is not None else None
        if statement is None:
            return None
        self._statements.move_to_end(key)  # a document known not to be whole stays known too
        if statement is _NOT_WHOLE or statement is _SEEN:
            return None
        try:
            for page in statement.pages:
                bound.update(page.values(coerced, ctx))
        except BadInput:  # a cursor of another order (or edited), a size over the cap: GraphQL's
            return None
        ctx.bound_values = bound
        try:
            data = await _read(ctx, statement)
        except (DBAPIError, DirectReadError) as error:  # an outage, or a statement gone wrong:
            log.warning("request %s: whole answer failed (%s)", ctx.request_id, error)
            if beyond_engine_limits(error):  # too big for the engine (SQLite's parser stack):
                self._statements[key] = _NOT_WHOLE  # it stays so; GraphQL's pages answer
            else:
                self._statements.pop(key, None)  # GraphQL's path says what
            return None
        return b'{"data":' + data.encode() + b"}"

    def learn(self, ctx: Context, query: str, operation_name: str | None, variables: Any) -> None:
        """Keep the statement of a document GraphQL just answered without error for the second
        time (or that it has none)."""
        document = self._document(query, operation_name)
        coerced = self._coerced(document, variables)
        # the executor bound this request's values by the same rule (`plan_variables`)
        key = None
        if coerced is not None:
            key = self._key(ctx, query, operation_name, variables, document, ctx.bound_values,
                            coerced)  # fmt: skip
        if key is None:
            return
        known = self._statements.get(key)
        if known is None:
            self._remember(key, _SEEN)
            return
        if known is not _SEEN:
            return
        try:
            learned = whole_statement(
                self.schema, document.document, operation_name, variables, ctx
            )
        except Exception:  # anything unforeseen keeps the GraphQL path
            log.exception("request %s: no whole answer for this document", ctx.request_id)
            learned = None
        self._remember(key, _NOT_WHOLE if learned is None else learned)
        document.whole = document.whole or learned is not None

    def _document(self, query: str, operation_name: str | None) -> _Document:
        """The parsed document (GraphQL just answered it: it parses), kept as long as recent."""
        found = self._documents.get((query, operation_name))
        if found is None:
            document = parse(query)
            operation = _operation(document, operation_name)
            variables = Bindable()
            definitions: tuple[VariableDefinitionNode, ...] = ()
            if operation is not None:
                variables = bindable(operation, _fragments(document))
                definitions = tuple(operation.variable_definitions or ())
            declared = frozenset(d.variable.name.value for d in definitions)
            found = _Document(document, variables, definitions, declared)
        self._documents[(query, operation_name)] = found
        self._documents.move_to_end((query, operation_name))
        if len(self._documents) > self.size:
            self._documents.popitem(last=False)
        return found

    def _remember(self, key: Any, value: Any) -> None:
        self._statements[key] = value
        self._statements.move_to_end(key)
        if len(self._statements) > self.size:
            self._statements.popitem(last=False)


@dataclass
class Learned:
    """A learned document's statement, and its compiled form where the engine reads directly
    (compiling costs a few GraphQL answers: it is done once the statement answered before).
    On SQLite, whether its last read was short enough to run on the event loop's thread, and
    whether it computes metrics (it is then read on the aggregate threads, behind pages)."""

    statement: Any
    aggregates: bool = False
    answers: int = 0
    compiled: CompiledRead | None = None
    short: bool = False
    pages: tuple[BoundPage, ...] = ()


@dataclass(frozen=True)
class BoundPage:
    """The page arguments of a root connection given as variables (`schema/variable_binds.py`:
    cursors and sizes) that the statement binds under `prefix` (`BoundArgs`): checked, and
    cursors decoded for the connection, at each request."""

    prefix: str
    variables: tuple[tuple[str, str], ...]  # (argument, variable) of the arguments bound
    ent: Entity
    order: OrderSpec

    def values(self, coerced: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
        """The bind values of these variables (a bad cursor or size is a `BadInput`)."""
        given = {argument: coerced.get(variable) for argument, variable in self.variables}
        first, last = given.get("first"), given.get("last")
        args = relay_args(ctx, first, given.get("after"), last, given.get("before"))
        values = decode_seek(self.ent, self.order, args).values(self.prefix)
        if first is not None or last is not None:
            values[f"{self.prefix}size"] = args.size
        return values


async def _read(ctx: Context, learned: Learned) -> Any:
    with aggregate_reads() if learned.aggregates else nullcontext():
        async with aggregate_turn(ctx.options.aggregate_concurrency, ctx.engine):
            sqlite = thread_reader(ctx.engine)
            if sqlite is not None:
                return await _read_sqlite(ctx, sqlite, learned)
            reader = direct_reader(ctx.engine)
            if reader is not None and learned.answers == DIRECT_FROM:
                learned.compiled = compile_read(ctx.engine, learned.statement, ctx.bound_values)
            learned.answers += 1
            if reader is None or learned.compiled is None:
                return await run_scalar(ctx, learned.statement)
            return await ctx.track(reader.value(learned.compiled, ctx.bound_values))


async def _read_sqlite(ctx: Context, sqlite: Engine, learned: Learned) -> Any:
    """On the loop's thread when the last read was short (`warehouse/inline_reads.py`), else in
    a worker thread; either way timed, to choose for the next one."""
    if learned.short:
        try:
            value, seconds = scalar_inline(sqlite, learned.statement, ctx.bound_values)
        except ReadTooLong:
            log.info("request %s: whole answer too long for the event loop", ctx.request_id)
        else:
            learned.short = seconds <= SHORT_SECONDS
            return value
    work = partial(scalar_timed, statement=learned.statement, params=ctx.bound_values)
    value, seconds = await ctx.track(read_in_thread(sqlite, work))
    learned.short = seconds <= SHORT_SECONDS
    return value


def whole_statement(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    ctx: Context,
) -> Learned | None:
    """One statement answering the operation's `data` as JSON text, or None if it cannot."""
    operation = _operation(document, operation_name)
    if operation is None or operation.operation != OperationType.QUERY or operation.directives:
        return None
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):  # errors: GraphQL's path reports them
        return None
    fragments = _fragments(document)
    # for the arguments of nested pages and date dimensions, with the variables bound at
    # each read as placeholders
    planned = plan_variables(operation, fragments, coerced).variables
    ctx.variables = planned
    pages_bound = bindable(operation, fragments)  # and root pages' cursors and sizes
    dialect = ctx.engine.dialect.name
    pairs = []
    aggregates = False
    pages: list[BoundPage] = []
    roots = by_key(collect([operation.selection_set], fragments)) or ()
    for index, (key, group) in enumerate(roots):
        found = _root_value(schema, ctx, group, fragments, planned, dialect, pages_bound, index)
        if found is None:
            return None
        value, aggregating, page = found
        pairs.append((key, value))
        aggregates = aggregates or aggregating
        pages += [page] if page is not None else []
    if not pairs:
        return None
    statement = select(cast(json_object(pairs, dialect), Text))
    return Learned(statement, aggregates, pages=tuple(pages))


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == name), None)


def _root_value(
    schema: GraphQLSchema,
    ctx: Context,
    group: list[FieldNode],
    fragments: Mapping[str, Any],
    variables: VariableValues,
    dialect: str,
    bindable: Bindable,
    index: int,
) -> tuple[Any, bool, BoundPage | None] | None:
    """The JSON of one root field (a connection answered whole, or the type's name), whether it
    computes metrics, and its page arguments bound at each read."""
    name = group[0].name.value
    query_type = schema.query_type
    if name == "__typename" and query_type is not None:
        return literal(query_type.name, String), False, None
    field_def = query_type.fields.get(name) if query_type is not None else None
    definition = field_def.extensions.get("strawberry-definition") if field_def else None
    resolver = definition.base_resolver if definition is not None else None
    if definition is None or resolver is None or definition.extensions:  # permission checks
        return None
    source = source_of(resolver.wrapped_func)
    assert field_def is not None
    if source is not None and source.whole is not None:  # a report (given no `after`)
        try:
            value = source.whole(ctx, field_def, definition, group, fragments, variables)
        except BadInput:  # GraphQL's path reports it
            return None
        return None if value is None else (value, True, None)
    connection = source.connection if source is not None else None
    if connection is None or connection.owner is not None:
        return None
    plan = connection_plan(ctx, schema, field_def, definition, connection, group, fragments,
                           variables)  # fmt: skip
    keys = connection_keys(field_def, group, fragments)
    if keys is None:
        return None
    ent = ENTITIES[connection.target]
    try:
        page = _bound_page(group[0], bindable, f"page{index}_", ent, plan.order)
    except ValueError:
        return None
    if plan.skipped is not None:  # `totalCount` (and `__typename`) alone: no rows to read
        return count_answer(ctx.viewer, ent, plan.condition, keys, dialect), False, page
    if plan.shape is None:
        return None
    bound = None
    if page is not None:
        arguments = dict(page.variables)
        seek = None
        if CURSOR_ARGUMENTS & arguments.keys():
            seek = decode_seek(ent, plan.order, plan.args).shape
        sizes = PAGE_ARGUMENTS - CURSOR_ARGUMENTS
        sized = any(variables.coerced.get(arguments.get(n, "")) is not None for n in sizes)
        bound = BoundArgs(page.prefix, seek, sized)
    answer = page_answer(
        ctx.viewer, ent, plan.condition, plan.order, plan.args, plan.columns, plan.shape, keys,
        dialect, bound,
    )  # fmt: skip
    return answer, plan.shape.aggregates, page


def _bound_page(
    field: FieldNode, bindable: Bindable, prefix: str, ent: Entity, order: OrderSpec
) -> BoundPage | None:
    """The root connection's page arguments given as variables, to bind under `prefix` (None:
    none; a `ValueError` when a cursor is and another is written in the document)."""
    bound: dict[str, str | None] = {}
    for argument in field.arguments or ():
        name, value = argument.name.value, argument.value
        if name not in PAGE_ARGUMENTS:
            continue
        bindable_here = bindable.cursors if name in CURSOR_ARGUMENTS else bindable.sizes
        is_bound = isinstance(value, VariableNode) and value.name.value in bindable_here
        bound[name] = value.name.value if is_bound else None  # type: ignore[attr-defined]
    cursors = [bound[name] for name in CURSOR_ARGUMENTS if name in bound]
    if any(cursors) and not all(cursors):
        raise ValueError("a cursor variable beside a cursor written in the document")
    variables = tuple((name, variable) for name, variable in bound.items() if variable)
    return BoundPage(prefix, variables, ent, order) if variables else None
