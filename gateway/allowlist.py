"""Allow-list mode: only registered operation documents run (persisted operations by hash).

Production frontends register their documents (one `.graphql` file each in a directory) at deploy
time; clients send either the document or just its SHA-256 in
`extensions.persistedQuery.sha256Hash` (the Apollo convention). Anything else is refused before
parsing, so an attacker with a stolen token can still only run the frontend's own queries.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


class AllowList:
    """Registered documents by the SHA-256 of their exact text."""

    def __init__(self, documents: dict[str, str]) -> None:
        self.documents = documents

    @classmethod
    def from_directory(cls, directory: str) -> AllowList:
        path = Path(directory)
        if not path.is_dir():
            raise ValueError(f"INSIGHTS_ALLOWED_OPERATIONS: {directory!r} is not a directory")
        texts = [f.read_text(encoding="utf-8") for f in sorted(path.glob("*.graphql"))]
        return cls({sha256(text): text for text in texts})

    def resolve(self, query: str | None, extensions: dict[str, object] | None) -> str:
        """The document to run, or ValueError naming why the request is refused."""
        persisted = (extensions or {}).get("persistedQuery")
        wanted = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if query is not None:
            digest = sha256(query)
            if wanted is not None and wanted != digest:
                raise ValueError("persistedQuery.sha256Hash does not match the query")
            wanted = digest
        if not isinstance(wanted, str) or wanted not in self.documents:
            raise ValueError("Operation is not in the allow-list of registered operations.")
        return self.documents[wanted]
