"""The documents a reader follows exist in the repository and say what the code does."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from graphql import GraphQLObjectType

from resolvers.metrics.docs import render
from tests.conftest import SCHEMA

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# [text](target) and [text]: target, outside code spans and blocks
INLINE_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def _links(markdown: str) -> list[str]:
    prose = CODE_SPAN.sub("", FENCE.sub("", markdown))
    return INLINE_LINK.findall(prose) + REFERENCE_LINK.findall(prose)


def _relative(target: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) and not target.startswith(
        "#"
    )


def test_link_finder_finds_inline_and_reference_links_but_not_code() -> None:
    text = "See [a](docs/a.md) and [b][1], `[c](no.md)`.\n\n```\n[d](no2.md)\n```\n[1]: docs/b.md\n"
    assert _links(text) == ["docs/a.md", "docs/b.md"]


def test_every_relative_link_of_the_readme_is_a_file_of_the_repository() -> None:
    relative = [link for link in _links(README) if _relative(link)]
    assert relative, "the README links its documents"
    missing = [link for link in relative if not (ROOT / link.split("#")[0]).exists()]
    assert missing == []


def test_readme_names_no_document_the_repository_lacks() -> None:
    """Paths to Markdown files written as code (`docs/x.md`) must exist too."""
    named = set(re.findall(r"`([\w./-]+\.md)`", README))
    assert {name for name in named if not (ROOT / name).exists()} == set()


def test_readme_links_the_metric_catalog_and_the_taskrouter_page() -> None:
    links = set(_links(README))
    assert {"docs/metrics.md", "docs/taskrouter.md"} <= links


def test_docs_metrics_md_is_the_rendered_catalog() -> None:
    assert (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8") == render(), (
        "docs/metrics.md drifted from resolvers/metrics/catalog.py: run `make docs` and commit it"
    )


def test_docs_command_prints_the_page() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "resolvers.metrics.docs"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    assert result.stdout == (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")


def test_every_metrics_field_of_the_schema_has_a_row() -> None:
    metrics = SCHEMA._schema.type_map["Metrics"]
    assert isinstance(metrics, GraphQLObjectType)
    page = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(\w+)` \|", page, re.MULTILINE))
    assert set(metrics.fields) <= rows


def test_taskrouter_page_covers_every_segment_kind() -> None:
    page = (ROOT / "docs" / "taskrouter.md").read_text(encoding="utf-8")
    kinds = SCHEMA._schema.type_map["SegmentKind"].values  # type: ignore[attr-defined]
    assert [kind for kind in kinds if kind not in page] == []
