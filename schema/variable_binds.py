"""Variables compiled as bind parameters: a page's plan and statement per variable shape.

A dashboard that slides its window sends `filter: {startedAt: {gte: $from}}` with a new `$from`
every time. Compiled with its value, each request planned and built its pages' statements anew
(about 4 ms of Python for a nested page) and was never answered whole. A variable whose value can
only ever be an operand of a filter comparison (`eq`, `ne`, `gt`, `gte`, `lt`, `lte`) changes
nothing in a statement but that operand: such a variable is compiled as a named bind parameter
(`var_<name>`) into the plans of connections and whole answers, and its value is bound at each
read (`resolvers/pages.py` reads with `Context.bound_values`).

Only a variable all of whose uses in the operation are such operands, of a scalar type whose
value the filter compiler passes to SQL as it is (`resolvers/filters.py`), is bound. A null value
removes the comparison: it stays a value (part of the key). Everything else keeps its value in
the plan and in its key, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FragmentDefinitionNode,
    FragmentSpreadNode,
    ListTypeNode,
    NamedTypeNode,
    Node,
    NonNullTypeNode,
    ObjectFieldNode,
    OperationDefinitionNode,
    TypeNode,
    VariableDefinitionNode,
    VariableNode,
)
from graphql.execution import VariableValues
from sqlalchemy import BindParameter, bindparam

# the operators whose operand `compile_operators` hands to SQL untouched
OPERAND_FIELDS = frozenset({"eq", "ne", "gt", "gte", "lt", "lte"})
# scalars whose coerced value is that operand (enums are converted, IDs may be global ids)
OPERAND_TYPES = frozenset({"DateTime", "Date", "Int", "Float", "String", "Boolean"})
PREFIX = "var_"
_MAX_OPERATIONS = 1024


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
    names = operand_variables(operation, fragments)
    values = bound_values(names, variables.coerced)
    if not values:
        return PlanVariables(variables)
    coerced = dict(variables.coerced)
    coerced.update((name, placeholder(name)) for name in names if coerced.get(name) is not None)
    return PlanVariables(VariableValues(variables.sources, coerced), values)


def bound_values(names: frozenset[str], coerced: Mapping[str, Any]) -> dict[str, Any]:
    """The bind values of the variables `names` (a null one is no bind: it removes its
    comparison, so it stays a value of the plan)."""
    found = ((name, coerced.get(name)) for name in names)
    return {PREFIX + name: value for name, value in found if value is not None}


_PLACEHOLDERS: dict[str, BindParameter[Any]] = {}


def placeholder(name: str) -> BindParameter[Any]:
    """The bind parameter standing for variable `name`: one object per name, so plans keyed by
    the variables' values are keyed by it alike for every request."""
    found = _PLACEHOLDERS.get(name)
    if found is None:
        found = _PLACEHOLDERS.setdefault(name, bindparam(PREFIX + name))
    return found


# id of operation -> (the operation, kept alive so its id stays its own; its operand variables)
_OPERANDS: dict[int, tuple[OperationDefinitionNode, frozenset[str]]] = {}


def operand_variables(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> frozenset[str]:
    """The variables of `operation` used only as filter comparison operands (cached)."""
    found = _OPERANDS.get(id(operation))
    if found is not None and found[0] is operation:
        return found[1]
    names = _operands(operation, fragments)
    if len(_OPERANDS) >= _MAX_OPERATIONS:
        _OPERANDS.clear()
    _OPERANDS[id(operation)] = (operation, names)
    return names


def _operands(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> frozenset[str]:
    scalar = {
        d.variable.name.value
        for d in operation.variable_definitions or ()
        if _scalar_name(d.type) in OPERAND_TYPES
    }
    if not scalar:
        return frozenset()
    uses: dict[str, bool] = {}  # name -> every use so far an operand
    seen: set[str] = set()
    for fragment in fragments.values():
        if fragment.variable_definitions:  # fragment variables shadow names: leave them be
            return frozenset()
    _walk(operation.selection_set, None, fragments, uses, seen)
    for directive in operation.directives or ():
        _walk(directive, None, fragments, uses, seen)
    return frozenset(n for n in scalar if uses.get(n, False))


def _scalar_name(type_node: TypeNode) -> str | None:
    if isinstance(type_node, NonNullTypeNode):
        type_node = type_node.type
    if isinstance(type_node, ListTypeNode):
        return None
    return type_node.name.value if isinstance(type_node, NamedTypeNode) else None


def _walk(
    node: Node,
    parent: Node | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    uses: dict[str, bool],
    seen: set[str],
) -> None:
    """Record each variable's uses below `node` (fragments followed once)."""
    if isinstance(node, VariableNode):
        operand = isinstance(parent, ObjectFieldNode) and parent.name.value in OPERAND_FIELDS
        name = node.name.value
        uses[name] = uses.get(name, True) and operand
        return
    if isinstance(node, VariableDefinitionNode):
        return
    if isinstance(node, FragmentSpreadNode):
        name = node.name.value
        fragment = fragments.get(name)
        if fragment is not None and name not in seen:
            seen.add(name)
            _walk(fragment, None, fragments, uses, seen)
    for attribute in node.keys:
        value = getattr(node, attribute, None)
        for child in value if isinstance(value, tuple | list) else (value,):
            if isinstance(child, Node):
                _walk(child, node, fragments, uses, seen)
