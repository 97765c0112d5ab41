"""Opaque global ids: base64 of `Type:key`, as Relay clients expect."""

from __future__ import annotations

import base64
import binascii

from resolvers.errors import BadInput


def encode_global_id(type_name: str, key: str) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode("ascii")


def decode_global_id(global_id: str) -> tuple[str, str]:
    """Return `(type_name, key)`; a malformed id is a `BadInput` naming it."""
    try:
        text = base64.b64decode(global_id.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise BadInput(f"Malformed global id {global_id!r}: not base64 of 'Type:key'.") from None
    type_name, sep, key = text.partition(":")
    if not sep or not type_name or not key:
        raise BadInput(f"Malformed global id {global_id!r}: not base64 of 'Type:key'.")
    return type_name, key
