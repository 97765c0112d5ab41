"""How deep and how large the input values of a request are: JSON, and argument values.

Filters nest (`and`, `or`, `not`, links) and take lists; every level and every value becomes SQL.
A filter nested hundreds of levels deep recurses as deep in the compiler and the database, and
one with thousands of terms is beyond what SQLite evaluates in one statement. Both are measured
here without recursion (an explicit stack), so measuring cannot itself run out of stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    ListValueNode,
    ObjectValueNode,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    visit,
)


@dataclass(frozen=True)
class InputSize:
    """`depth`: lists and objects around the deepest value; `values`: scalars (leaves);
    `objects`: input objects (each costs Strawberry a conversion over all fields of its type)."""

    depth: int
    values: int
    objects: int


def json_size(value: Any) -> InputSize:
    """The size of a decoded JSON value (variables, a request body)."""
    deepest = values = objects = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            stack.extend((v, depth + 1) for v in current.values())
            deepest = max(deepest, depth + 1)
            objects += 1
        elif isinstance(current, list):
            stack.extend((v, depth + 1) for v in current)
            deepest = max(deepest, depth + 1)
        else:
            values += 1
    return InputSize(deepest, values, objects)


def literal_size(node: ValueNode, variables: dict[str, Any]) -> InputSize:
    """The size of an argument value as written, with the values of the variables it holds."""
    deepest = values = objects = 0
    stack: list[tuple[ValueNode, int]] = [(node, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, ObjectValueNode):
            stack.extend((f.value, depth + 1) for f in current.fields)
            deepest = max(deepest, depth + 1)
            objects += 1
        elif isinstance(current, ListValueNode):
            stack.extend((v, depth + 1) for v in current.values)
            deepest = max(deepest, depth + 1)
        elif isinstance(current, VariableNode):
            held = json_size(variables.get(current.name.value))
            deepest = max(deepest, depth + held.depth)
            values += held.values
            objects += held.objects
        else:
            values += 1
    return InputSize(deepest, values, objects)


class _Arguments(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, ValueNode]] = []

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        self.found.append((node.name.value, node.value))

    def enter_variable_definition(self, node: VariableDefinitionNode, *_: Any) -> None:
        if node.default_value is not None:
            self.found.append((f"${node.variable.name.value}", node.default_value))


def argument_values(document: DocumentNode) -> list[tuple[str, ValueNode]]:
    """Every argument value written in the document (and variables' defaults), by name."""
    arguments = _Arguments()
    visit(document, arguments)
    return arguments.found


def argument_sizes(
    found: list[tuple[str, ValueNode]], variables: dict[str, Any]
) -> Iterator[tuple[str, InputSize]]:
    for name, value in found:
        yield name, literal_size(value, variables)
