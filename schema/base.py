"""Building blocks every domain module uses: `Node`, page info, scalar filters, row conversion."""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from functools import cache
from typing import Any, TypeVar

import strawberry
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from strawberry.types import Info
from strawberry.types.base import get_object_definition
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField

from resolvers.context import Context
from resolvers.entities import ENTITIES
from resolvers.ids import encode_global_id
from resolvers.json_rows import Encoding
from schema.sources import FieldSource, declare

T = TypeVar("T")

TYPES: dict[str, type] = {}


def node_type(cls: type[T]) -> type[T]:
    """Register a Strawberry type as the one that serves the entity of the same name."""
    TYPES[cls.__name__] = cls
    return cls


def _global_id(self: Any) -> strawberry.ID:
    name = type(self).__name__
    return strawberry.ID(encode_global_id(name, str(getattr(self, ENTITIES[name].key))))


declare(_global_id, FieldSource(needs=(), json=Encoding.GLOBAL_ID))  # the key: every row has it


@strawberry.interface(description="An object with a global id that `node(id:)` resolves.")
class Node:
    id: strawberry.ID = strawberry.field(
        resolver=_global_id,
        description="Opaque global id (base64 of `Type:key`); pass it to `node(id:)` to fetch it.",
    )


@strawberry.type(description="Where a page sits in its connection (Relay).")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="More rows follow the last edge of this page."
    )
    has_previous_page: bool = strawberry.field(
        description="Rows precede the first edge. With `first`/`after` this is true when a cursor "
        "was given; with `last` it is exact."
    )
    start_cursor: str | None = strawberry.field(description="Cursor of the first edge, if any.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last edge, if any.")


@strawberry.enum(description="Sort direction.")
class OrderDirection(enum.Enum):
    ASC = strawberry.enum_value("ASC", description="Smallest first; empty values last.")
    DESC = strawberry.enum_value("DESC", description="Largest first; empty values first.")


def _op(description: str) -> Any:
    return strawberry.field(default=None, description=description)


def _named(name: str, description: str) -> Any:
    return strawberry.field(default=None, name=name, description=description)


@strawberry.input(description="Conditions on a text attribute; all set conditions must hold.")
class StringFilter:
    eq: str | None = _op("Equal to this value.")
    ne: str | None = _op("Not equal to this value (empty values match).")
    in_: list[str] | None = _named("in", "Equal to one of these values.")
    not_in: list[str] | None = _op("Equal to none of these values (empty values match).")
    is_null: bool | None = _op("`true`: the value is empty; `false`: it is set.")
    contains: str | None = _op("Contains this text, ignoring case.")
    starts_with: str | None = _op("Starts with this text, ignoring case.")


@strawberry.input(description="Conditions on a whole-number attribute; all set conditions hold.")
class IntFilter:
    eq: int | None = _op("Equal to this value.")
    ne: int | None = _op("Not equal to this value (empty values match).")
    in_: list[int] | None = _named("in", "Equal to one of these values.")
    not_in: list[int] | None = _op("Equal to none of these values (empty values match).")
    is_null: bool | None = _op("`true`: the value is empty; `false`: it is set.")
    gt: int | None = _op("Greater than this value.")
    gte: int | None = _op("Greater than or equal to this value.")
    lt: int | None = _op("Less than this value.")
    lte: int | None = _op("Less than or equal to this value.")


@strawberry.input(description="Conditions on a decimal attribute; all set conditions must hold.")
class FloatFilter:
    eq: float | None = _op("Equal to this value.")
    ne: float | None = _op("Not equal to this value (empty values match).")
    in_: list[float] | None = _named("in", "Equal to one of these values.")
    not_in: list[float] | None = _op("Equal to none of these values (empty values match).")
    is_null: bool | None = _op("`true`: the value is empty; `false`: it is set.")
    gt: float | None = _op("Greater than this value.")
    gte: float | None = _op("Greater than or equal to this value.")
    lt: float | None = _op("Less than this value.")
    lte: float | None = _op("Less than or equal to this value.")


@strawberry.input(description="Conditions on a yes/no attribute.")
class BooleanFilter:
    eq: bool | None = _op("Equal to this value.")
    ne: bool | None = _op("Not equal to this value (empty values match).")
    in_: list[bool] | None = _named("in", "Equal to one of these values.")
    not_in: list[bool] | None = _op("Equal to none of these values (empty values match).")
    is_null: bool | None = _op("`true`: the value is empty; `false`: it is set.")


@strawberry.input(description="Conditions on an instant (ISO 8601); all set conditions must hold.")
class DateTimeFilter:
    eq: datetime | None = _op("At this instant.")
    ne: datetime | None = _op("Not at this instant (empty values match).")
    in_: list[datetime] | None = _named("in", "At one of these instants.")
    not_in: list[datetime] | None = _op("At none of these instants (empty values match).")
    is_null: bool | None = _op("`true`: the value is empty; `false`: it is set.")
    gt: datetime | None = _op("After this instant.")
    gte: datetime | None = _op("At or after this instant.")
    lt: datetime | None = _op("Before this instant.")
    lte: datetime | None = _op("At or before this instant.")


@strawberry.input(description="Conditions on a calendar date; all set conditions must hold.")
class DateFilter:
    eq: date | None = _op("On this date.")
    ne: date | None = _op("Not on this date (empty values match).")
    in_: list[date] | None = _named("in", "On one of these dates.")
    not_in: list[date] | None = _op("On none of these dates (empty values match).")
    is_null: bool | None = _op("`true`: the value is empty; `false`: it is set.")
    gt: date | None = _op("After this date.")
    gte: date | None = _op("On or after this date.")
    lt: date | None = _op("Before this date.")
    lte: date | None = _op("On or before this date.")


SCALAR_FILTERS: dict[Any, type] = {
    str: StringFilter,
    int: IntFilter,
    float: FloatFilter,
    bool: BooleanFilter,
    datetime: DateTimeFilter,
    date: DateFilter,
}


@cache
def enum_filter(enum_type: type[enum.Enum]) -> type:
    """The filter input of an enum attribute (`SegmentKindFilter`, ...), made once per enum."""
    name = enum_type.__name__
    item, items = enum_type | None, list[enum_type] | None  # type: ignore[valid-type]

    def op(graphql_type: Any, description: str, graphql_name: str | None = None) -> Any:
        return strawberry.field(
            graphql_type=graphql_type, default=None, name=graphql_name, description=description
        )

    namespace: dict[str, Any] = {
        "__module__": __name__,
        "eq": op(item, "Equal to this value."),
        "ne": op(item, "Not equal to this value (empty values match)."),
        "in_": op(items, "Equal to one of these values.", "in"),
        "not_in": op(items, "Equal to none of these values (empty values match)."),
        "is_null": op(bool | None, "`true`: the value is empty; `false`: it is set."),
    }
    cls = type(f"{name}Filter", (), namespace)
    return strawberry.input(cls, description=f"Conditions on a `{name}` attribute.")


# --- rows to objects ----------------------------------------------------------------------------


def _converter(annotation: Any) -> Callable[[Any], Any] | None:
    """How to turn a stored value into the field's Python value (enums are stored by name)."""
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, enum.Enum):
            enum_cls = arg
            return lambda v: None if v is None else enum_cls(v)
    return None


@cache
def _row_plan(cls: type) -> list[tuple[str, Callable[[Any], Any] | None]]:
    hints = typing.get_type_hints(cls, include_extras=False)
    computed = {
        f.python_name
        for f in get_object_definition(cls, strict=True).fields
        if f.base_resolver is not None
    }
    return [
        (f.name, _converter(hints.get(f.name)))
        for f in dataclasses.fields(cls)
        if f.name not in computed
    ]


@cache
def _row_builder(cls: type, columns: frozenset[str] | None = None) -> Callable[[Any], Any]:
    """A function from a row to a `cls` object, made once per type and column set.

    It fills the instance's `__dict__` directly: the types are plain dataclasses without
    `__post_init__`, and calling `__init__` with ~70 keyword arguments per segment row was a
    top item of the nested-page profile. A row of only some `columns` (what the document reads,
    `schema/columns.py`) leaves the other attributes None: nothing reads them.
    """
    plan = _row_plan(cls)
    names = tuple(name for name, _ in plan if columns is None or name in columns)
    absent = {name: None for name, _ in plan if columns is not None and name not in columns}
    converters = tuple((name, convert) for name, convert in plan if convert and name in names)
    new = object.__new__

    def build(row: Any) -> Any:
        values = {name: row[name] for name in names}
        for name, convert in converters:
            values[name] = convert(values[name])
        obj: Any = new(cls)
        obj.__dict__.update(absent)
        obj.__dict__.update(values)
        return obj

    return build


def from_row(cls: type[T], row: Any, columns: frozenset[str] | None = None) -> T:
    """Build a Strawberry object from a warehouse row whose columns are named like its fields."""
    return _row_builder(typing.cast(type, cls), columns)(row)  # type: ignore[no-any-return]


@cache
def object_builder(type_name: str, columns: frozenset[str] | None) -> Callable[[Any], Any]:
    """`from_row` for one type and column set, the same object every time: it keys the object
    loader, so objects built from fewer columns are never handed to a field reading more."""
    return _row_builder(TYPES[type_name], columns)


def selected_fields(selections: Iterable[Any]) -> Iterable[SelectedField]:
    """The fields of a selection set, with fragments flattened."""
    for selection in selections:
        if isinstance(selection, FragmentSpread | InlineFragment):
            yield from selected_fields(selection.selections)
        elif isinstance(selection, SelectedField):
            yield selection


def names_any(field_nodes: Iterable[Any], names: Iterable[str], fragments: Any) -> bool:
    """Whether the selections of `field_nodes` name one of `names` (directly or in fragments)."""
    wanted = set(names)
    selections = (node.selection_set for node in field_nodes)
    return any(field.name.value in wanted for field in selected_nodes(selections, fragments))


def selected_nodes(
    selection_sets: Iterable[SelectionSetNode | None], fragments: Mapping[str, Any]
) -> Iterator[FieldNode]:
    """The fields of graphql-core selection sets, fragments flattened (whatever their type
    condition): walking the AST one level is cheap, where `info.selected_fields` converts the
    whole subtree into Strawberry objects."""
    for selection_set in selection_sets:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from selected_nodes([selection.selection_set], fragments)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    yield from selected_nodes([fragment.selection_set], fragments)


def context(info: Info) -> Context:
    return typing.cast(Context, info.context)
