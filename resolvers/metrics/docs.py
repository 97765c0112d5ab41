"""The metric catalog as a Markdown page (`docs/metrics.md`), so readers need no Python.

The page is generated from `CATALOG`, like `schema.graphql` from the schema, and a test fails
when the committed page drifts: `make docs` (or `python -m resolvers.metrics.docs`) rewrites it.
"""

from __future__ import annotations

import sys
from dataclasses import fields

from resolvers.metrics.catalog import CATALOG, DataSet, Metric, Thresholds

HEADER = """\
# Metrics

<!-- Generated from resolvers/metrics/catalog.py by `make docs`; do not edit by hand. -->

Every metric below is a field of the `Metrics` GraphQL type, selectable on `metrics(from:, to:,
filter:)` of agents, teams, departments, queues, customers, conversations, cases, campaigns,
projects and initiatives, and on every row and the total of a `report`. `metricDefinitions` lists
the same catalog at run time.

How to read the formulas: `S` is the set of segments in scope (the entity, the filter and the
half-open time range `[from, to)`); `CONV` means `kind = CONVERSATION` (a conversation still in
progress is not yet `CONV`), `Q` `kind = QUEUE` (a customer still waiting is a `Q` segment without
`queueTime`), `AS` `kind = AGENT_STATUS` (an agent's current activity is not yet `AS`);
*handled* is `CONV and abandoned = NO and agent is not null`; *abandoned* is `abandoned = YES and
abandonedPhase is distinct from 'Voicemail'`; `#conv(P)` is the number of distinct conversations
among the segments of `S` that satisfy `P`. Counts and sums over nothing are `0`; averages and
ratios over nothing are `null`; ratios are fractions from 0 to 1.
"""

NOT_IN_TABLE = {"sla_thresholds", "percentile"}  # per queue (below), or an argument only

DATASET_TITLES = {
    DataSet.SEGMENTS: "Segment metrics (data set: segments, time: `startedAt`)",
    DataSet.WORKLOAD: "Workload metrics (data set: workload slices, time: `intervalStart`)",
    DataSet.ASSESSMENTS: "Assessment metrics (data set: assessments, time: `createdAt`)",
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _thresholds_section() -> list[str]:
    lines = [
        "## Thresholds",
        "",
        "Settings of the gateway; each `Metrics` field that uses one takes an argument of the same",
        "name overriding it for that field (`serviceLevel(slaThreshold: 20)`).",
        "",
        "| argument | setting | default |",
        "|---|---|---|",
    ]
    for f in fields(Thresholds):
        if f.name in NOT_IN_TABLE:
            continue
        lines.append(f"| `{_camel(f.name)}` | `INSIGHTS_{f.name.upper()}` | `{f.default}` |")
    lines += [
        "",
        "Service level per queue: `INSIGHTS_SLA_THRESHOLDS` is a JSON object of queue names",
        'and seconds (`{"Sales": 20, "Support": 90}`); a queue not in it uses',
        "`INSIGHTS_SLA_THRESHOLD`. Each queue segment is judged against its own queue's",
        "threshold, so a total over queues with different targets is still right;",
        "`Queue.slaThreshold` shows the one in force, and the `slaThreshold:` argument of a",
        "field still applies one threshold to every queue.",
    ]
    return lines


def _row(metric: Metric) -> str:
    thresholds = ", ".join(f"`{_camel(t)}`" for t in metric.thresholds) or ""
    return (
        f"| `{metric.name}` | {_cell(metric.title)} | {metric.unit.value} "
        f"| `{_cell(metric.formula)}` | {_cell(metric.description)} | {thresholds} |"
    )


def render() -> str:
    """The whole page, in catalog order within each data set."""
    lines = [HEADER.rstrip("\n"), ""]
    for dataset in DataSet:
        lines += [
            f"## {DATASET_TITLES[dataset]}",
            "",
            "| field | title | unit | formula | meaning | thresholds |",
            "|---|---|---|---|---|---|",
        ]
        lines += [_row(m) for m in CATALOG if m.dataset is dataset]
        lines.append("")
    lines += _thresholds_section()
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
