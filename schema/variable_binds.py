"""Variables compiled as bind parameters: a page's plan and statement per variable shape.

A dashboard that slides its window sends `filter: {startedAt: {gte: $from}}` or
`metrics(from: $from)` with a new `$from` every time. Compiled with its value, each request
planned and built its pages' statements anew (about 5 ms of Python for a nested page) and was
never answered whole. A variable whose value can only ever reach SQL as it is changes nothing in a
statement but that value: such a variable is compiled as a named bind parameter (`var_<name>`)
into the plans of connections and whole answers, and its value is bound at each read
(`resolvers/pages.py` reads with `Context.bound_values`).

Bound: a variable all of whose uses in the operation are
- the operand of a filter comparison (`eq`, `ne`, `gt`, `gte`, `lt`, `lte`, and the text of
  `contains` and `startsWith`, which SQL lowers and escapes), of a scalar type the filter
  compiler passes to SQL untouched (`resolvers/filters.py`), or
- the `from`/`to` of an entity's `metrics` (`schema/metrics.py`), when its value has an offset: a
  wall-clock time is read in the query's zone, so it stays a value of the plan;
or a list of `Int`, `Float` or `String` all of whose uses are the list of an `in`/`notIn`: bound as
one parameter, an array or JSON text (`resolvers/bound_lists.py`), so one statement serves lists
of any length.
A null value removes its comparison: it stays a value too. Plans and whole answers are keyed by
which variables are bound, and by the values of all others, as before.

A `String` variable all of whose uses are the `after`/`before` cursor of a root field is a
*cursor*, an `Int` one all of whose uses are a root field's `first`/`last` a *size*: whole
answers key them by which of a cursor's sort values are null and whether a size is given, and
bind their values, checked and decoded for the connection they page (`schema/whole_answers.py`);
the GraphQL path passes them as they are (a root page's plan binds them itself,
`resolvers/pages.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graphql import (
    ArgumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    ListTypeNode,
    NamedTypeNode,
    Node,
    NonNullTypeNode,
    ObjectFieldNode,
    OperationDefinitionNode,
    SelectionSetNode,
    TypeNode,
    VariableDefinitionNode,
    VariableNode,
)
from graphql.execution import VariableValues
from sqlalchemy import BindParameter, bindparam

from resolvers.bound_lists import BoundList
from resolvers.pagination import CURSOR_ARGUMENTS, PAGE_ARGUMENTS

# the operators whose operand `compile_operators` hands to SQL untouched
OPERAND_FIELDS = frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "contains", "startsWith"})
# scalars whose coerced value is that operand (enums are converted, IDs may be global ids)
OPERAND_TYPES = frozenset({"DateTime", "Date", "Int", "Float", "String", "Boolean"})
# the operators whose list `compile_operators` binds as one parameter (`resolvers/bound_lists.py`)
LIST_FIELDS = frozenset({"in", "notIn"})
# the elements such a list may hold: passed as they are, comparable in an array and in JSON
LIST_TYPES = frozenset({"Int", "Float", "String"})
# the arguments of `WINDOW_FIELD` compared with the segments' times as they are (with an offset)
WINDOW_ARGUMENTS = frozenset({"from", "to"})
WINDOW_FIELD = "metrics"
PREFIX = "var_"
SINGLE_PREFIX = "one_"  # a one-element list's, bound as its element (`BoundList.single`)
_MAX_OPERATIONS = 1024


@dataclass(frozen=True)
class Bindable:
    """The variables of an operation that may be bound, those of them used as a window, and its
    root pages' cursors and sizes (bound by whole answers only)."""

    names: frozenset[str] = frozenset()
    windows: frozenset[str] = frozenset()
    cursors: frozenset[str] = frozenset()
    sizes: frozenset[str] = frozenset()
    lists: frozenset[str] = frozenset()  # of `names`: the operands of `in`/`notIn`


@dataclass(frozen=True)
class PlanVariables:
    """A request's variables as plans see them (bound ones as placeholders), and the values
    of the placeholders for its reads."""

    variables: VariableValues
    values: dict[str, Any] = field(default_factory=dict)


def plan_variables(
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: VariableValues,
) -> PlanVariables:
    """The plans' view of `variables` for `operation`."""
    if not variables.coerced:
        return PlanVariables(variables)
    values = bound_values(bindable(operation, fragments), variables.coerced)
    if not values:
        return PlanVariables(variables)
    coerced = dict(variables.coerced)
    for key, value in values.items():
        name, bind = variable_of(key), placeholder(key)
        if key.startswith(SINGLE_PREFIX):
            coerced[name] = [BoundList(bind, single=True)]
        else:
            coerced[name] = [BoundList(bind)] if isinstance(value, list) else bind
    return PlanVariables(VariableValues(variables.sources, coerced), values)


def variable_of(bind_name: str) -> str:
    """The variable a bind name of `bound_values` stands for."""
    if bind_name.startswith(SINGLE_PREFIX):
        return bind_name.removeprefix(SINGLE_PREFIX)
    return bind_name.removeprefix(PREFIX)


def bound_values(found: Bindable, coerced: Mapping[str, Any]) -> dict[str, Any]:
    """The bind values (by bind name) of the variables bound with these values."""
    values = {}
    for name in found.names:
        value = coerced.get(name)
        if value is None:  # removes its comparison: not a bind
            continue
        if name in found.windows and not (isinstance(value, datetime) and value.tzinfo):
            continue  # a wall-clock window is read in the query's zone
        if name in found.lists and len(value) == 1:
            values[SINGLE_PREFIX + name] = value[0]
        else:
            values[PREFIX + name] = value
    return values


_PLACEHOLDERS: dict[str, BindParameter[Any]] = {}


def placeholder(bind_name: str) -> BindParameter[Any]:
    """The bind parameter of a name of `bound_values`: one object per name, so plans keyed by
    the variables' values are keyed by it alike for every request."""
    found = _PLACEHOLDERS.get(bind_name)
    if found is None:
        if len(_PLACEHOLDERS) >= _MAX_OPERATIONS:  # names are the client's: keep them bounded
            _PLACEHOLDERS.clear()  # (plans of the old ones are keyed apart, never mixed up)
        found = _PLACEHOLDERS.setdefault(bind_name, bindparam(bind_name))
    return found


# id of operation -> (the operation, kept alive so its id stays its own; its bindable variables)
_BINDABLE: dict[int, tuple[OperationDefinitionNode, Bindable]] = {}


def bindable(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> Bindable:
    """The variables of `operation` that may be bound (cached)."""
    found = _BINDABLE.get(id(operation))
    if found is not None and found[0] is operation:
        return found[1]
    result = _bindable(operation, fragments)
    if len(_BINDABLE) >= _MAX_OPERATIONS:
        _BINDABLE.clear()
    _BINDABLE[id(operation)] = (operation, result)
    return result


def _bindable(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> Bindable:
    scalar = {
        d.variable.name.value: _scalar_name(d.type)
        for d in operation.variable_definitions or ()
        if _scalar_name(d.type) in OPERAND_TYPES
    }
    listed = frozenset(
        d.variable.name.value
        for d in operation.variable_definitions or ()
        if _element_name(d.type) in LIST_TYPES
    )
    if not scalar and not listed:
        return Bindable()
    for fragment in fragments.values():
        if fragment.variable_definitions:  # fragment variables shadow names: leave them be
            return Bindable()
    uses: dict[str, set[str]] = {}  # name -> its uses: "operand", "window", "cursor", "size", …
    seen: set[str] = set()
    roots = frozenset(map(id, _root_fields(operation.selection_set, fragments, set())))
    _walk(operation.selection_set, (), fragments, uses, seen, roots)
    for directive in operation.directives or ():
        _walk(directive, (), fragments, uses, seen, roots)
    lists = frozenset(n for n in listed if uses.get(n) == {"list"})
    names = frozenset(n for n in scalar if n in uses and uses[n] <= {"operand", "window"}) | lists
    cursors = frozenset(
        n for n, kind in scalar.items() if kind == "String" and uses.get(n) == {"cursor"}
    )
    sizes = frozenset(n for n, kind in scalar.items() if kind == "Int" and uses.get(n) == {"size"})
    windows = frozenset(n for n in names if "window" in uses[n])
    return Bindable(names, windows, cursors, sizes, lists)


def _root_fields(
    selections: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode], seen: set[str]
) -> list[FieldNode]:
    """The operation's root fields, through its fragments."""
    found: list[FieldNode] = []
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            found.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            found += _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in seen:
            seen.add(selection.name.value)
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                found += _root_fields(fragment.selection_set, fragments, seen)
    return found


def _element_name(type_node: TypeNode) -> str | None:
    """The scalar name of a list type's elements (None for anything but a list of scalars)."""
    if isinstance(type_node, NonNullTypeNode):
        type_node = type_node.type
    return _scalar_name(type_node.type) if isinstance(type_node, ListTypeNode) else None


def _scalar_name(type_node: TypeNode) -> str | None:
    if isinstance(type_node, NonNullTypeNode):
        type_node = type_node.type
    if isinstance(type_node, ListTypeNode):
        return None
    return type_node.name.value if isinstance(type_node, NamedTypeNode) else None


def _use(parents: tuple[Node, ...], roots: frozenset[int]) -> str:
    """How a variable below `parents` (innermost last) is used."""
    parent = parents[-1] if parents else None
    if isinstance(parent, ObjectFieldNode):
        if parent.name.value in OPERAND_FIELDS:
            return "operand"
        return "list" if parent.name.value in LIST_FIELDS else "other"
    field = parents[-2] if len(parents) > 1 else None
    if not isinstance(parent, ArgumentNode) or not isinstance(field, FieldNode):
        return "other"
    if parent.name.value in WINDOW_ARGUMENTS and field.name.value == WINDOW_FIELD:
        return "window"
    if parent.name.value in PAGE_ARGUMENTS and id(field) in roots:
        return "cursor" if parent.name.value in CURSOR_ARGUMENTS else "size"
    return "other"


def _walk(
    node: Node,
    parents: tuple[Node, ...],
    fragments: Mapping[str, FragmentDefinitionNode],
    uses: dict[str, set[str]],
    seen: set[str],
    roots: frozenset[int],
) -> None:
    """Record how each variable below `node` is used (fragments followed once)."""
    if isinstance(node, VariableNode):
        uses.setdefault(node.name.value, set()).add(_use(parents, roots))
        return
    if isinstance(node, VariableDefinitionNode):
        return
    if isinstance(node, FragmentSpreadNode):
        name = node.name.value
        fragment = fragments.get(name)
        if fragment is not None and name not in seen:
            seen.add(name)
            _walk(fragment, (), fragments, uses, seen, roots)
    inner = (*parents[-1:], node)  # the two innermost are enough
    for attribute in node.keys:
        value = getattr(node, attribute, None)
        for child in value if isinstance(value, tuple | list) else (value,):
            if isinstance(child, Node):
                _walk(child, inner, fragments, uses, seen, roots)
