"""Errors caused by the client's input; their message is shown to the client as is."""

from __future__ import annotations

from graphql import GraphQLError


class BadInput(GraphQLError):
    """A wrong argument value: the message names the argument and what was wrong with it."""

    def __init__(self, message: str, *, code: str = "BAD_USER_INPUT") -> None:
        super().__init__(message, extensions={"code": code})


class NotVisible(GraphQLError):
    """A looked-up row that is missing or out of the viewer's scope; the two read the same."""

    def __init__(self, type_name: str, key: str) -> None:
        super().__init__(
            f"No {type_name} {key!r} that you may see.", extensions={"code": "NOT_FOUND"}
        )
