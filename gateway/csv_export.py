"""`Accept: text/csv` on a `report` query: the rows as a spreadsheet-ready file.

The query runs exactly as over JSON (same authentication, row scope, limits and timeout); only
the answer's shape changes. Columns come from the document, not from the data, so a row whose
linked agent is null still has its cells: the key's fields, then the metrics, named as the query
names them (aliases included; a nested key field is `agent.fullName`). The total, when selected,
is the last line, labelled `total` in the first column. Lines are encoded as they are sent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    parse,
)

from schema.base import selected_nodes

CSV = "text/csv"

Path = tuple[str, ...]


class NotAReport(ValueError):
    """The document is not one `report` query, the only shape a CSV file can hold."""


def wants_csv(accept: str | None) -> bool:
    """Whether the client asks for CSV (before or instead of JSON)."""
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() == CSV:
            return not any(p.replace(" ", "") in ("q=0", "q=0.0") for p in params)
    return False


@dataclass(frozen=True)
class Columns:
    """Where the rows and the total are in the response, and the cells of each line."""

    report: str  # the response key of the `report` field
    keys: list[Path]
    metrics: list[Path]
    total: list[Path] | None


def _name(node: FieldNode) -> str:
    return node.alias.value if node.alias else node.name.value


def _leaves(
    node: FieldNode, fragments: Mapping[str, FragmentDefinitionNode], prefix: Path = ()
) -> list[Path]:
    """The scalar fields under `node` (its own name excluded), in document order."""
    found: list[Path] = []
    for child in selected_nodes([node.selection_set], fragments):
        if child.name.value == "__typename":
            continue
        path = (*prefix, _name(child))
        found += _leaves(child, fragments, path) if child.selection_set else [path]
    return found


def columns(document: DocumentNode, operation_name: str | None) -> Columns:
    """The CSV columns of a `report` query; anything else is `NotAReport`."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    chosen = [
        o
        for o in operations
        if operation_name is None or (o.name is not None and o.name.value == operation_name)
    ]
    if len(chosen) != 1 or chosen[0].operation.value != "query":
        raise NotAReport("CSV is served for one query operation (name it with `operationName`).")
    roots = [
        f
        for f in selected_nodes([chosen[0].selection_set], fragments)
        if f.name.value != "__typename"
    ]
    if len(roots) != 1 or roots[0].name.value != "report":
        raise NotAReport("CSV is served for a query whose only root field is `report`.")
    report = roots[0]
    keys: list[Path] = []
    metrics: list[Path] = []
    total: list[Path] | None = None
    for part in selected_nodes([report.selection_set], fragments):
        if part.name.value == "rows":
            for cell in selected_nodes([part.selection_set], fragments):
                if cell.name.value == "key":
                    keys += [(_name(cell), *p) for p in _leaves(cell, fragments)]
                elif cell.name.value == "metrics":
                    metrics += [(_name(cell), *p) for p in _leaves(cell, fragments)]
        elif part.name.value == "total":
            total = [(_name(part), *p) for p in _leaves(part, fragments)]
    if not keys and not metrics:
        raise NotAReport("Select `rows { key { ... } metrics { ... } }` of the report for CSV.")
    return Columns(_name(report), keys, metrics, total)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _at(data: Any, path: Path) -> Any:
    for step in path:
        if not isinstance(data, dict):
            return None
        data = data.get(step)
    return data


def _line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([_cell(v) for v in values])
    return out.getvalue()


def header_name(path: Path) -> str:
    """A column's header: the path below `key`/`metrics` (`queue`, `agent.fullName`)."""
    return ".".join(path[1:])


def lines(plan: Columns, data: Mapping[str, Any]) -> Iterator[str]:
    """The file, one line at a time: header, rows, then the total when selected."""
    yield _line([header_name(p) for p in plan.keys + plan.metrics])
    report = data.get(plan.report) or {}
    for row in report.get("rows") or []:
        yield _line([_at(row, p) for p in plan.keys + plan.metrics])
    if plan.total is not None:
        total = {header_name(p): _at(report, p) for p in plan.total}
        label = ["total"] + [""] * (len(plan.keys) - 1) if plan.keys else []
        yield _line(label + [total.get(header_name(p)) for p in plan.metrics])


# parsed before the run (a mutation must be refused before it runs), so bounded like the run's
# own token limit would bound it; the run then applies the configured limits
MAX_TOKENS = 20_000


def plan_for(query: str, operation_name: str | None) -> Columns:
    return columns(parse(query, max_tokens=MAX_TOKENS), operation_name)
