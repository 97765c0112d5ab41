"""JSON from clients, parsed strictly: standard JSON only, nested no deeper than a limit.

Python's parser recurses once per level and fails past the interpreter's recursion limit with a
RecursionError (a 500 if nothing catches it); it also accepts `NaN` and `Infinity`, which are not
JSON and no column can hold. Both are refused here as the client's mistake, naming it.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.input_size import json_size


class JsonInputError(ValueError):
    """The text is not JSON this gateway accepts; the message says why."""


def _no_constants(name: str) -> Any:
    raise JsonInputError(f"`{name}` is not JSON (numbers must be finite).")


def loads(text: str | bytes, max_depth: int, what: str = "The request body") -> Any:
    """The decoded value, or JsonInputError naming what was wrong with it."""
    try:
        value = json.loads(text, parse_constant=_no_constants)
    except JsonInputError as error:
        raise JsonInputError(f"{what} is not valid JSON: {error}") from None
    except RecursionError:
        raise JsonInputError(
            f"{what} is nested deeper than the maximum of {max_depth} levels."
        ) from None
    except ValueError:
        raise JsonInputError(f"{what} is not valid JSON.") from None
    depth = json_size(value).depth
    if depth > max_depth:
        raise JsonInputError(
            f"{what} is nested {depth} levels deep, above the maximum of {max_depth}."
        )
    return value
