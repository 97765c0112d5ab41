"""Fields whose arguments are declared as data, through Strawberry's own `StrawberryArgument`.

Strawberry reads a field's arguments from its resolver's signature. A field generated from a
catalog (one per metric, each with its thresholds) or an argument list shared by two fields (the
`report` query and its live subscription) has no `def` to write that signature on; rather than
forge one, these fields set Strawberry's `arguments` list itself, as Strawberry's own
`InputMutationExtension` does. The resolver then receives the declared arguments as keywords.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import strawberry
from strawberry.annotation import StrawberryAnnotation
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.field import StrawberryField


def argument(
    python_name: str, annotation: Any, description: str, default: Any = strawberry.UNSET
) -> StrawberryArgument:
    """One GraphQL argument: its camel-cased name, type, description and default (none: UNSET)."""
    return StrawberryArgument(
        python_name=python_name,
        graphql_name=None,
        type_annotation=StrawberryAnnotation(annotation),
        description=description,
        default=default,
    )


def arguments_of(declaration: type) -> list[StrawberryArgument]:
    """The GraphQL arguments a dataclass declares: one per field, in order.

    Each field is annotated as a resolver parameter would be (`Annotated[...,
    strawberry.argument(...)]` for a description or a GraphQL name); a field's default becomes
    the argument's. The annotations are evaluated once, in the dataclass's module, and handed to
    Strawberry as objects, so lazy references to generated types stay lazy.
    """
    annotations = inspect.get_annotations(declaration, eval_str=True)
    return [
        StrawberryArgument(
            python_name=f.name,
            graphql_name=None,
            type_annotation=StrawberryAnnotation(annotations[f.name]),
            default=strawberry.UNSET if f.default is dataclasses.MISSING else f.default,
        )
        for f in dataclasses.fields(declaration)
    ]


def declared_field(
    resolver: Callable[..., Any],
    *,
    returns: Any,
    arguments: Iterable[StrawberryArgument],
    description: str,
    subscription: bool = False,
    permission_classes: list[Any] | None = None,
) -> StrawberryField:
    """A field of type `returns` taking `arguments`; `resolver` gets them as keywords.

    `resolver` names its `root`/`info` parameters as Strawberry expects and takes the declared
    arguments through `**`; their types are the declaration's, not the function's.
    """
    field: StrawberryField = strawberry.field(
        resolver=resolver,
        graphql_type=returns,
        description=description,
        is_subscription=subscription,
        permission_classes=permission_classes,
    )
    field.arguments = list(arguments)
    return field
