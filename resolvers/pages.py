"""Pages of rows for root connections and, batched over all parents, for nested connections.

A nested connection (`conversations { segments(first: 5) }`) loads the pages of every parent in
one statement: `ROW_NUMBER() OVER (PARTITION BY parent ORDER BY ...)` keeps the first rows of each
parent. Counts run only when a client selects `totalCount`, also batched over parents.

Every statement here keeps only the rows the request's viewer may see (`resolvers/scope.py`): the
scope is applied in these shared functions, so every connection, count and lookup inherits it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, cached_property, lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    and_,
    bindparam,
    func,
    select,
    true,
    union_all,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.dataloader import DataLoader

from resolvers.cancel import aggregate_reads, aggregate_turn, execute, read_in_thread
from resolvers.context import Context
from resolvers.entities import Entity, ToMany, entity
from resolvers.filters import compile_filter, set_fields
from resolvers.json_pages import (
    CURSOR_COLUMN,
    JSON_COLUMN,
    ConnectionKeys,
    PageRows,
    Part,
    connection_json,
    count_json,
    reads_cursors,
    reads_page_info,
    selects,
)
from resolvers.json_rows import JsonShape, json_column
from resolvers.pagination import (
    NO_SEEK,
    OrderSpec,
    PageArgs,
    Seeks,
    SeekShape,
    bound_seeks,
    decode_seek,
    encode_cursor,
    full_order,
    order_clauses,
    seek_conditions,
    seek_conditions_of,
    sort_keys,
)
from resolvers.scope import check_columns, visible, visible_columns
from resolvers.sql_cursors import cursor_text
from resolvers.viewer import Viewer
from warehouse.engine import read, thread_reader
from warehouse.limits import beyond_engine_limits

Columns = frozenset[str] | None
"""The columns of an entity's rows a request reads (`schema/columns.py`); None: all of them."""


class Join(NamedTuple):
    """A to-one link loaded with the rows that hold it (a LEFT JOIN on the foreign key).

    The linked objects prime the loader their field reads (`object_loader` of `build`), so the
    field finds them there instead of running a statement of its own.
    """

    foreign_key: str
    target: str
    columns: Columns
    build: Callable[[Any], Any]


@dataclass
class Page:
    """One page of rows with their Relay page info; cursors are encoded when first read."""

    rows: list[RowMapping]
    has_next: bool
    has_previous: bool
    ent: Entity | None = None
    order: OrderSpec = ()
    columns: Columns = None
    shaped: bool = False  # the rows hold their answer (`resolvers/json_rows.py`)

    @cached_property
    def cursors(self) -> list[str]:
        """Only pages whose `edges` or `pageInfo` are selected pay for them (rows answered as
        JSON bring theirs, written by the database)."""
        if self.ent is None:
            return []
        if self.shaped and self.rows and CURSOR_COLUMN in self.rows[0]:
            return [row[CURSOR_COLUMN] for row in self.rows]
        return [encode_cursor(self.ent, self.order, row) for row in self.rows]


async def run(
    ctx: Context, statement: Any, params: dict[str, Any] | None = None
) -> list[RowMapping]:
    """Run one statement on a connection of its own (loaders of one request run concurrently).

    A request cancelled by its timeout stops its SQL too (`Context.track`, `resolvers/cancel.py`).
    """
    return await _read(ctx, statement, params, lambda result: list(result.mappings()))


async def run_scalar(ctx: Context, statement: Any) -> Any:
    """The one value of a statement answering one row of one column."""
    (value,) = await _read(ctx, statement, None, lambda result: [result.scalar_one()])
    return value


async def run_tuples(ctx: Context, statement: Any) -> list[tuple[Any, ...]]:
    """Like `run`, for statements read by position (counts)."""
    return await _read(ctx, statement, None, lambda result: [tuple(row) for row in result])


async def _read(
    ctx: Context, statement: Any, params: dict[str, Any] | None, rows: Callable[[Any], list[Any]]
) -> list[Any]:
    """`rows(result)` of the statement: SQLite in one worker-thread hop, others on the engine.

    The request's bound variables go with every statement (those it does not hold are ignored).
    """
    if ctx.bound_values:
        params = {**ctx.bound_values, **(params or {})}
    reader = thread_reader(ctx.engine)

    async def work(conn: AsyncConnection) -> list[Any]:
        return rows(await execute(conn, statement, params))

    async with aggregate_turn(ctx.options.aggregate_concurrency, ctx.engine):
        if reader is not None:
            return await ctx.track(
                read_in_thread(reader, lambda c: rows(c.execute(statement, params)))
            )
        return await ctx.track(read(ctx.engine, work))


def check_order(viewer: Viewer, ent: Entity, order: OrderSpec) -> None:
    """Refuse sorting on a hidden column: order and cursors would reveal its values."""
    check_columns(viewer, ent, {name for name, _ in full_order(ent, order)}, "order")


def _canonical(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: _canonical(v) for name, v in set_fields(value)}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, BindParameter):  # a bound variable (no filter value is an object)
        return {"$bind": value.key}
    return value


def filter_token(flt: Any) -> str:
    """A hashable identity of a filter input, so equal filters share one batched statement."""
    return json.dumps(_canonical(flt), sort_keys=True) if flt is not None else ""


def selected_columns(
    viewer: Viewer, ent: Entity, columns: Columns, order: OrderSpec = ()
) -> list[Any]:
    """What to select of `ent`: the viewer's visible columns; only `columns` and the sort keys
    (cursors are made of them) when given."""
    return _pick(visible_columns(viewer, ent), ent, columns, order)


def _unscoped_columns(ent: Entity, columns: Columns, order: OrderSpec = ()) -> list[Any]:
    """`selected_columns` with nothing masked, for the statements built once and reused: only
    for viewers who are not `restricted` (every caller branches on it right before)."""
    return _pick(list(ent.table.columns), ent, columns, order)


def _pick(available: list[Any], ent: Entity, columns: Columns, order: OrderSpec) -> list[Any]:
    if columns is None:
        return available
    wanted = columns | {name for name, _ in full_order(ent, order)}
    return [column for column in available if column.name in wanted]


def build_page(
    ent: Entity,
    order: OrderSpec,
    rows: list[RowMapping],
    args: PageArgs,
    columns: Columns = None,
    shaped: bool = False,
) -> Page:
    extra = len(rows) > args.size
    rows = rows[: args.size]
    if args.backward:
        rows.reverse()
        has_next, has_previous = args.before is not None, extra
    else:
        has_next, has_previous = extra, args.after is not None
    return Page(rows, has_next, has_previous, ent, order, columns, shaped)


async def fetch_page(
    ctx: Context,
    ent: Entity,
    condition: ColumnElement[bool],
    order: OrderSpec,
    args: PageArgs,
    columns: Columns = None,
    joins: tuple[Join, ...] = (),
    shape: JsonShape | None = None,
    cursors: bool = False,
) -> Page:
    """A root connection's page: one statement, a seek on the cursor, no OFFSET.

    With a `shape` each row also holds its answer as JSON (and its cursor, when `cursors`)."""
    check_order(ctx.viewer, ent, order)
    seek = decode_seek(ent, order, args)
    params = {"page_limit": args.size + 1, **seek.values()}
    if ctx.viewer.restricted:
        joins = ()  # the linked rows' scope is their loaders' (or the JSON's scoped joins)
    dialect = ctx.engine.dialect.name
    if condition is true() and seek.shape == NO_SEEK and not ctx.viewer.restricted:
        # the common shape (no filter, no cursor, no row scope): one prebuilt statement
        statement = _plain_page_statement(
            ent.name, order, args.backward, columns, joins, shape, dialect, cursors
        )
    else:
        # a filter (its values in the plan, or bound at the read), cursors (their values bound
        # at the read) or a row scope: one prebuilt statement per plan, cursors' shape and viewer
        statement = _scoped_page_statement(
            ent.name, condition, order, args.backward, columns, joins, shape, dialect, ctx.viewer,
            cursors, seek.shape,
        )  # fmt: skip
    with aggregate_reads() if shape is not None and shape.aggregates else nullcontext():
        rows = await run(ctx, statement, params)  # its rows' metrics: behind page reads
    _prime(ctx, rows, joins)
    return build_page(ent, order, rows, args, columns, shape is not None)


def _page_statement(
    ent: Entity,
    columns: Sequence[Any],
    where: list[Any],
    order: OrderSpec,
    backward: bool,
    joins: tuple[Join, ...] = (),
    shape: JsonShape | None = None,
    dialect: str = "",
    viewer: Viewer | None = None,
    limit: Any = None,
    cursors: bool = False,
    seeks: Seeks = (),
) -> Any:
    """The rows of a root page after (or before) its cursors' `seeks`, up to `limit` (default:
    the bound `page_limit`), with their `joins` or `shape` (its links scoped for `viewer`, when
    it has a row scope; each row's cursor too, when `cursors`)."""
    keys = sort_keys(ent, order)
    if limit is None:
        limit = bindparam("page_limit")
    leading = full_order(ent, order)[0][0]
    if leading == ent.key or not ent.table.c[leading].nullable:
        statement = (
            select(*columns)
            .where(*where, *seek_conditions_of(ent, order, seeks))
            .order_by(*order_clauses(keys, reverse=backward))
            .limit(limit)
        )
    else:
        statement = _split_on_nulls(
            ent, columns, ent.table.c[leading], where, order, keys, backward, limit, seeks
        )
    if not joins and shape is None:
        return statement
    rows = statement.subquery()
    linked, source = _joined(rows, joins, shape, dialect, viewer)
    if cursors and shape is not None:
        linked.append(cursor_text(ent, order, rows.c, dialect).label(CURSOR_COLUMN))
    resorted = order_clauses(sort_keys(ent, order, columns=rows.c), reverse=backward)
    return select(rows, *linked).select_from(source).order_by(*resorted)


def _joined(
    rows: Any,
    joins: tuple[Join, ...],
    shape: JsonShape | None = None,
    dialect: str = "",
    viewer: Viewer | None = None,
) -> tuple[list[Any], Any]:
    """The columns of each join's target (labelled `j<i>_<column>`) and the FROM clause adding
    them to `rows` by LEFT JOIN (aliases: a link may point at the rows' own table); with a
    `shape`, the rows' JSON too, its links joined the same way."""
    columns: list[Any] = []
    source = rows
    if shape is not None:
        scoped = viewer if viewer is not None and viewer.restricted else None
        answer, source = json_column(rows, shape, dialect, source, scoped)
        columns.append(answer)
    for index, join in enumerate(joins):
        target = entity(join.target)
        alias = target.table.alias(f"j{index}")
        source = source.outerjoin(alias, alias.c[target.key] == rows.c[join.foreign_key])
        columns.extend(
            alias.c[name].label(f"j{index}_{name}") for name in _linked_names(target, join)
        )
    return columns, source


def _linked_names(target: Entity, join: Join) -> list[str]:
    return [c.name for c in target.table.columns if join.columns is None or c.name in join.columns]


def _prime(ctx: Context, rows: list[RowMapping], joins: tuple[Join, ...]) -> None:
    """Hand each join's linked objects to the loader its field reads them from."""
    for index, join in enumerate(joins):
        target = entity(join.target)
        labels = [(name, f"j{index}_{name}") for name in _linked_names(target, join)]
        key_label = f"j{index}_{target.key}"
        linked: dict[Any, Any] = {}
        for row in rows:
            key = row[join.foreign_key]
            if key is None or key in linked:
                continue
            found = row[key_label] is not None  # else a dangling key: the loader's None too
            linked[key] = join.build({n: row[label] for n, label in labels}) if found else None
        object_loader(ctx, target, join.build, join.columns).prime_many(linked)


# prebuilt statements: a shape holds the arguments of its nested pages and metrics, and a sliding
# time window makes a new one per request, so the most recent are kept, not all
STATEMENTS = 1024


@lru_cache(maxsize=STATEMENTS)
def _plain_page_statement(
    name: str,
    order: OrderSpec,
    backward: bool,
    columns: Columns,
    joins: tuple[Join, ...],
    shape: JsonShape | None,
    dialect: str,
    cursors: bool,
) -> Any:
    """`_page_statement` without filter, cursor or scope, built once per shape (see below)."""
    ent = entity(name)
    selected = _unscoped_columns(ent, columns, order)
    return _page_statement(
        ent, selected, [], order, backward, joins, shape, dialect, cursors=cursors
    )


@lru_cache(maxsize=STATEMENTS)
def _scoped_page_statement(
    name: str,
    condition: ColumnElement[bool],
    order: OrderSpec,
    backward: bool,
    columns: Columns,
    joins: tuple[Join, ...],
    shape: JsonShape | None,
    dialect: str,
    viewer: Viewer,
    cursors: bool,
    seek: SeekShape,
) -> Any:
    """`_page_statement` with a filter `condition` (a plan's: the same object for every request
    of the plan, so the key holds it; the cache keeps it alive), `viewer`'s scope and seek
    conditions for cursors of the `seek` shape, their values bound: built once per plan and
    cursors' shape, not per request (about 4 ms of Python for a nested page; a client walking
    through the rows sends a new cursor every time)."""
    ent = entity(name)
    where = [visible(viewer, ent), condition]
    selected = selected_columns(viewer, ent, columns, order)
    return _page_statement(
        ent, selected, where, order, backward, joins, shape, dialect, viewer, cursors=cursors,
        seeks=bound_seeks(ent, order, seek),
    )  # fmt: skip


def _split_on_nulls(
    ent: Entity,
    columns: Sequence[Any],
    leading: Any,
    where: list[Any],
    order: OrderSpec,
    keys: list[Any],
    backward: bool,
    limit: Any,
    seeks: Seeks,
) -> Any:
    """The page of an order led by a nullable column, as the top rows of its two NULL groups.

    `ORDER BY (col IS NULL), col, ...` sorts the whole table (no index serves the NULL flag):
    390 ms for the latest 50 of 440,000 conversations. Each group alone is ordered by the
    remaining keys, which an index on `col` serves; the union of the two short lists is sorted
    again by the full keys. Still one statement, well under a millisecond. Each group seeks
    its cursors knowing whether its rows' first key is null (`seek_condition`).
    """
    rest = order_clauses(keys[1:], reverse=backward)
    groups = [
        select(*columns)
        .where(*where, null_test, *seek_conditions_of(ent, order, seeks, leading_null=null))
        .order_by(*rest)
        .limit(limit)
        .subquery()
        .select()
        for null, null_test in ((True, leading.is_(None)), (False, leading.is_not(None)))
    ]
    both = union_all(*groups).subquery()
    return (
        select(both)
        .order_by(*order_clauses(sort_keys(ent, order, columns=both.c), reverse=backward))
        .limit(limit)
    )


@dataclass(frozen=True)
class BoundArgs:
    """What of a root page's arguments its answer binds under `prefix` instead of writing in:
    its cursors, of this `seek` shape (`Seek.values`), and its `size` (`<prefix>size`)."""

    prefix: str
    seek: SeekShape | None = None
    size: bool = False


def page_answer(
    viewer: Viewer,
    ent: Entity,
    condition: ColumnElement[bool],
    order: OrderSpec,
    args: PageArgs,
    columns: Columns,
    shape: JsonShape,
    keys: ConnectionKeys,
    dialect: str,
    bound: BoundArgs | None = None,
) -> Any:
    """A root page's answer under `keys` as one JSON object the database writes (a scalar
    subquery): the rows `fetch_page` reads, each as its `shape`, in the page's order, with
    their cursors and page info when selected; what `bound` says is bound, not `args`'."""
    check_order(viewer, ent, order)
    if bound is None or bound.seek is None:
        seeks = decode_seek(ent, order, args).seeks
    else:
        seeks = bound_seeks(ent, order, bound.seek, bound.prefix)
    size: Any = args.size
    if bound is not None and bound.size:
        size = bindparam(f"{bound.prefix}size", type_=Integer)
    where = [visible(viewer, ent), condition]
    selected = selected_columns(viewer, ent, columns, order)
    limit = size + 1 if reads_page_info(keys) else size
    statement = _page_statement(
        ent, selected, where, order, args.backward, (), shape, dialect, viewer, limit,
        seeks=seeks,
    )  # fmt: skip
    rows = statement.subquery()
    sorted_by = sort_keys(ent, order, columns=rows.c)
    cursor = cursor_text(ent, order, rows.c, dialect) if reads_cursors(keys) else None
    total = None
    if selects(keys, Part.TOTAL_COUNT):  # `count_rows`'s count, in the same statement
        total = _count_statement(viewer, ent, condition).scalar_subquery()
    page = PageRows(
        rows, rows.c[JSON_COLUMN], cursor, order_clauses(sorted_by, args.backward),
        order_clauses(sorted_by), size, args.backward, args.after is not None,
        args.before is not None, total,
    )  # fmt: skip
    return connection_json(keys, page, dialect)


def count_answer(
    viewer: Viewer, ent: Entity, condition: ColumnElement[bool], keys: ConnectionKeys, dialect: str
) -> Any:
    """A root connection's answer when it selects only `totalCount` (and `__typename`)."""
    return count_json(keys, _count_statement(viewer, ent, condition).scalar_subquery(), dialect)


def skipped_page(
    ent: Entity, order: OrderSpec, args: PageArgs, viewer: Viewer, cursors: bool = True
) -> Page:
    """Stands in for a page nobody selected; its order and (unless not `cursors`) its cursors
    are still checked."""
    check_order(viewer, ent, order)
    if cursors:
        decode_seek(ent, order, args)
    return Page([], has_next=False, has_previous=False)


def _count_statement(viewer: Viewer, ent: Entity, condition: ColumnElement[bool]) -> Any:
    """The number of `ent`'s rows `viewer` sees that match `condition` (a root `totalCount`)."""
    return select(func.count()).select_from(ent.table).where(visible(viewer, ent), condition)


async def count_rows(ctx: Context, ent: Entity, condition: ColumnElement[bool]) -> int:
    rows = await run_tuples(ctx, _count_statement(ctx.viewer, ent, condition))
    return int(rows[0][0])


# --- nested connections ---------------------------------------------------------------------


@dataclass(frozen=True)
class ChildRequest:
    """One parent's share of a nested connection; requests equal but for `parent` batch together."""

    owner: str
    link: str
    token: str
    order: OrderSpec
    args: PageArgs | None
    parent: Any
    condition: ColumnElement[bool] = field(compare=False, hash=False)
    columns: Columns = None
    joins: tuple[Join, ...] = ()
    shape: JsonShape | None = None
    # with a shape: the same request reading objects, when the database refuses the statement
    # writing the rows' JSON for its size (pages nested deep, SQLite's parser stack)
    fallback: ChildRequest | None = field(default=None, compare=False, hash=False)
    cursors: bool = False  # with a shape: the statement writes each row's cursor

    @property
    def group(self) -> tuple[Any, ...]:
        return (
            self.owner, self.link, self.token, self.order, self.args, self.columns, self.joins,
            self.shape, self.cursors,
        )  # fmt: skip


def _linked(link: ToMany, parents: Sequence[Any] | Any) -> tuple[Any, Any, ColumnElement[bool]]:
    """Where the target rows of `link` come from, the parent key column, and the parent match."""
    target = entity(link.target)
    if link.via_column is not None:
        parent = target.table.c[link.via_column]
        return target.table, parent, parent.in_(parents)
    assert link.through is not None and link.through_parent and link.through_target
    through_parent = link.through.c[link.through_parent]
    pairs = (
        select(
            through_parent.label("link_parent"),
            link.through.c[link.through_target].label("link_target"),
        )
        .where(through_parent.in_(parents))
        .distinct()
        .subquery()
    )
    source = target.table.join(pairs, target.key_column == pairs.c["link_target"])
    return source, pairs.c["link_parent"], true()


async def _load_child_pages(ctx: Context, request: ChildRequest, parents: list[Any]) -> list[Page]:
    """The pages of `request` (its `parent` aside) for each of `parents`, in one statement."""
    args = request.args
    assert args is not None
    link = entity(request.owner).to_many[request.link]
    target = entity(link.target)
    plain = request.token == "" and args.after is None and args.before is None
    joins, shape = request.joins, request.shape
    if ctx.viewer.restricted:
        joins = ()  # scoped links: their loaders (or the JSON's scoped joins)
    dialect = ctx.engine.dialect.name
    if plain and not ctx.viewer.restricted:
        # the common shape (no filter, no cursor, no row scope): one prebuilt statement
        statement = _plain_child_statement(
            request.owner, request.link, request.order, args.backward, request.columns, joins,
            shape, dialect, request.cursors,
        )  # fmt: skip
        params: dict[str, Any] | None = {
            "link_parents": list(set(parents)),
            "link_limit": args.size + 1,
        }
    else:
        statement = _child_statement(
            link, list(set(parents)), request.order, args.backward, args.size + 1,
            and_(visible(ctx.viewer, target), request.condition),
            seek_conditions(target, request.order, args),
            selected_columns(ctx.viewer, target, request.columns, request.order),
            joins, shape, dialect, ctx.viewer, request.cursors,
        )  # fmt: skip
        params = None
    try:
        with aggregate_reads() if shape is not None and shape.aggregates else nullcontext():
            rows = await run(ctx, statement, params)
    except DBAPIError as error:
        if request.fallback is None or not beyond_engine_limits(error):
            raise
        return await _load_child_pages(ctx, request.fallback, parents)
    _prime(ctx, rows, joins)
    by_parent: dict[Any, list[RowMapping]] = defaultdict(list)
    for row in rows:
        by_parent[row["link_parent"]].append(row)
    shaped = shape is not None
    return [
        build_page(target, request.order, by_parent.get(parent, []), args, request.columns, shaped)
        for parent in parents
    ]


def _child_statement(
    link: ToMany,
    parents: Sequence[Any] | Any,
    order: OrderSpec,
    backward: bool,
    limit: int | Any,
    condition: ColumnElement[bool],
    seeks: list[Any],
    columns: Sequence[Any] | None = None,
    joins: tuple[Join, ...] = (),
    shape: JsonShape | None = None,
    dialect: str = "",
    viewer: Viewer | None = None,
    cursors: bool = False,
) -> Any:
    """The first `limit` rows of each parent's page, in one `ROW_NUMBER()` statement (with a
    `shape`, each row's JSON, and its cursor when `cursors`)."""
    target = entity(link.target)
    source, parent, matches = _linked(link, parents)
    keys = sort_keys(target, order)
    position = func.row_number().over(
        partition_by=parent, order_by=order_clauses(keys, reverse=backward)
    )
    inner = (
        select(
            *(columns if columns is not None else [target.table]),
            parent.label("link_parent"),
            position.label("link_position"),
        )
        .select_from(source)
        .where(matches, condition, *seeks)
        .subquery()
    )
    linked, source = _joined(inner, joins, shape, dialect, viewer)
    if cursors and shape is not None:
        linked.append(cursor_text(target, order, inner.c, dialect).label(CURSOR_COLUMN))
    return (
        select(inner, *linked)
        .select_from(source)
        .where(inner.c.link_position <= limit)
        .order_by(inner.c.link_parent, inner.c.link_position)
    )


@lru_cache(maxsize=STATEMENTS)
def _plain_child_statement(
    owner: str,
    link_name: str,
    order: OrderSpec,
    backward: bool,
    columns: Columns,
    joins: tuple[Join, ...] = (),
    shape: JsonShape | None = None,
    dialect: str = "",
    cursors: bool = False,
) -> Any:
    """`_child_statement` without filter or cursor, parents and limit as bound parameters.

    Built once per shape: SQLAlchemy memoizes a statement's cache key, so reusing the object skips
    rebuilding a ~70-column subquery and its cache key on every request (a top item of the
    nested-page profile).
    """
    link = entity(owner).to_many[link_name]
    parents: Any = bindparam("link_parents", expanding=True)
    selected = _unscoped_columns(entity(link.target), columns, order)
    limit: Any = bindparam("link_limit")
    return _child_statement(
        link, parents, order, backward, limit, true(), [], selected, joins, shape, dialect,
        cursors=cursors,
    )  # fmt: skip


async def _load_child_counts(ctx: Context, requests: list[ChildRequest]) -> list[int]:
    groups: dict[tuple[Any, ...], list[ChildRequest]] = defaultdict(list)
    for request in requests:
        groups[request.group].append(request)
    counts: dict[ChildRequest, int] = {}
    for members in groups.values():
        first = members[0]
        link = entity(first.owner).to_many[first.link]
        source, parent, matches = _linked(link, [m.parent for m in members])
        statement = (
            select(parent, func.count())
            .select_from(source)
            .where(matches, visible(ctx.viewer, entity(link.target)), first.condition)
            .group_by(parent)
        )
        found = dict(await run_tuples(ctx, statement))
        for member in members:
            counts[member] = int(found.get(member.parent, 0))
    return [counts[r] for r in requests]


def child_request(
    viewer: Viewer,
    owner: Entity,
    link_name: str,
    parent: Any,
    flt: Any,
    order: OrderSpec,
    args: PageArgs | None,
    columns: Columns = None,
    joins: tuple[Join, ...] = (),
    shape: JsonShape | None = None,
) -> ChildRequest:
    """One parent's nested connection request, its filter and order checked for `viewer`."""
    link = owner.to_many[link_name]
    target = entity(link.target)
    effective = order or link.order or target.order
    check_order(viewer, target, effective)
    return ChildRequest(
        owner.name,
        link_name,
        filter_token(flt),
        effective,
        args,
        parent,
        compile_filter(viewer, target, flt),
        columns,
        joins,
        shape,
    )


def child_pages(ctx: Context, request: ChildRequest) -> DataLoader[Any, Page]:
    """The request's loader of `request`'s pages by parent key: one statement for all parents.

    Keyed by the bare parent key (the rest of the request is the loader's), so each parent costs
    one dictionary lookup, not the hashing of a whole request.
    """
    return ctx.loader(
        ("child-pages", request.group),
        lambda: DataLoader(lambda parents: _load_child_pages(ctx, request, parents)),
    )


async def count_children(ctx: Context, request: ChildRequest) -> int:
    key = dataclasses.replace(request, args=None)
    loader = ctx.loader("child-counts", lambda: DataLoader(lambda r: _load_child_counts(ctx, r)))
    return await loader.load(key)


# --- single rows ------------------------------------------------------------------------------


@cache
def _rows_by_statement(name: str, column: str, columns: Columns) -> Any:
    """Rows of entity `name` whose `column` is in the bound `keys`: built once, reused (above)."""
    ent = entity(name)
    selected = _unscoped_columns(ent, columns)
    return select(*selected).where(ent.table.c[column].in_(bindparam("keys", expanding=True)))


async def _load_rows_by(
    ctx: Context, ent: Entity, column: str, keys: list[Any], columns: Columns = None
) -> list[RowMapping | None]:
    if ctx.viewer.restricted:
        statement = select(*selected_columns(ctx.viewer, ent, columns)).where(
            visible(ctx.viewer, ent), ent.table.c[column].in_(bindparam("keys", expanding=True))
        )
    else:
        statement = _rows_by_statement(ent.name, column, columns)
    found: dict[Any, RowMapping] = {}
    for row in await run(ctx, statement, {"keys": list(set(keys))}):
        found.setdefault(row[column], row)
    return [found.get(k) for k in keys]


def _rows_loader(
    ctx: Context, ent: Entity, column: str, columns: Columns
) -> DataLoader[Any, RowMapping | None]:
    """The request's loader of `ent` rows by `column` (only `columns` of them, when given)."""
    return ctx.loader(
        ("rows", ent.name, column, columns),
        lambda: DataLoader(lambda keys: _load_rows_by(ctx, ent, column, keys, columns)),
    )


async def fetch_row(
    ctx: Context, ent: Entity, key: Any, column: str | None = None
) -> RowMapping | None:
    """The row of `ent` whose `column` (the key by default) equals `key`, batched per request.

    None when no such row exists or the viewer may not see it (indistinguishable on purpose).
    """
    if key is None:
        return None
    return await _rows_loader(ctx, ent, column or ent.key, None).load(key)


def object_loader(
    ctx: Context, ent: Entity, build: Callable[[RowMapping], Any], columns: Columns = None
) -> DataLoader[Any, Any]:
    """The request's loader of `build(row)` for rows of `ent` by key (None if absent or hidden).

    One per builder (which fixes the column set), so each object is built once per request
    however many fields point at it, and never handed to a field reading other columns.
    """

    async def load_objects(keys: list[Any]) -> list[Any]:
        rows = await _load_rows_by(ctx, ent, ent.key, keys, columns)
        return [None if row is None else build(row) for row in rows]

    return ctx.loader(("objects", ent.name, build), lambda: DataLoader(load_objects))
