"""The `Metrics` type and `metricDefinitions`, both derived from the metric catalog.

`Metrics` is generated: one field per catalog entry, with arguments for the thresholds it uses.
A `metrics` field reads its own selection set, so only the selected metrics are computed.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import partial
from typing import Annotated, Any

import strawberry
from graphql import FieldNode, GraphQLObjectType
from graphql.execution import get_argument_values
from strawberry.types import Info
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.field import StrawberryField
from strawberry.types.nodes import SelectedField

from resolvers.context import Context
from resolvers.dates import zone_named
from resolvers.entities import ENTITIES
from resolvers.errors import BadInput
from resolvers.json_rows import MAX_PAIRS
from resolvers.metrics.catalog import BY_NAME, CATALOG, Metric, Thresholds
from resolvers.metrics.compute import EntityMetricsRequest, Selected, entity_metrics, metric_scope
from resolvers.metrics.dimensions import Dimension, expression
from resolvers.metrics.json_metrics import JsonMetrics
from schema.base import context, selected_fields
from schema.declare import argument, arguments_of, declared_field
from schema.executor import converted_arguments
from schema.fields import lazy
from schema.json_shapes import by_key, collect
from schema.sources import FieldSource, declare

THRESHOLD_ARGUMENTS = {
    "sla_threshold": (int, "slaThreshold", "Seconds in queue within which answers meet the SLA."),
    "short_abandon_threshold": (
        int, "shortAbandonThreshold", "Seconds in queue up to which an abandon is 'short'."
    ),
    "available_activity": (str, "availableActivity", "Name of the available agent activity."),
    "offline_activity": (str, "offlineActivity", "Name of the offline agent activity."),
    "percentile": (float, "percentile", "The percentile to compute, from 0 to 1 (0.9: 90th)."),
}  # fmt: skip
# arguments without a setting behind them: the field cannot be selected without them
REQUIRED_ARGUMENTS = frozenset({"percentile"})


@strawberry.type(description="Values of pre-defined contact-center metrics over one scope.")
class MetricsBase:
    _values: strawberry.Private[dict[str, Any]]


def _metric_value(root: MetricsBase, info: Info, **_thresholds: Any) -> Any:
    """A `Metrics` field's value: the one computed for its response key (alias or name).

    The thresholds were read from the selection when the values were computed.
    """
    return root._values[str(info.path.key)]


def _bind_metric_value(
    ctx: Any, field_nodes: list[FieldNode], fragments: Any, **_thresholds: Any
) -> Callable[[MetricsBase], Any]:
    """`_metric_value` for the executor: the response key read once per field of the query."""
    node = field_nodes[0]
    key = (node.alias or node.name).value

    def value(root: MetricsBase) -> Any:
        return root._values[key]

    return value


declare(_metric_value, FieldSource(needs=(), bind=_bind_metric_value))


def _threshold_argument(name: str) -> StrawberryArgument:
    python_type, _, description = THRESHOLD_ARGUMENTS[name]
    if name in REQUIRED_ARGUMENTS:
        return argument(name, python_type, description)
    return argument(
        name, python_type | None, f"{description} Overrides the setting here.", default=None
    )


def _metric_field(metric: Metric) -> StrawberryField:
    """A `Metrics` field, taking the thresholds its metric uses."""
    return declared_field(
        _metric_value,
        returns={"sum": int, "max": int | None}.get(metric.shape, float | None),
        arguments=[_threshold_argument(name) for name in metric.thresholds],
        description=f"{metric.description} Unit: {metric.unit.value}. Formula: {metric.formula}.",
    )


Metrics = strawberry.type(
    type(
        "Metrics",
        (MetricsBase,),
        {"__module__": __name__, **{m.name: _metric_field(m) for m in CATALOG}},
    ),
    description="Pre-defined contact-center metrics over one scope; only the selected ones are "
    "computed, all of one data set in one SQL statement.",
)

MetricName = strawberry.enum(  # type: ignore[call-overload]
    enum.Enum(  # type: ignore[misc]
        "MetricName",
        {
            re.sub(r"(?<!^)(?=[A-Z])", "_", _m.name).upper(): strawberry.enum_value(
                _m.name, description=_m.title
            )
            for _m in CATALOG
        },
    ),
    description="The pre-defined metrics, in enum case (`HANDLED_CONVERSATIONS` is the `Metrics` "
    "field `handledConversations`).",
)


@strawberry.type(description="One entry of the metric catalog.")
class MetricDefinition:
    name: str = strawberry.field(description="Field name in `Metrics`.")
    title: str = strawberry.field(description="Human title.")
    description: str = strawberry.field(description="What the metric measures.")
    data_set: str = strawberry.field(
        description="Data set it is computed over: `segments`, `workload` or `assessments`."
    )
    unit: str = strawberry.field(description="`count`, `seconds`, `ratio` (0..1) or `percent`.")
    formula: str = strawberry.field(description="The formula, in the notation of METRICS.md.")
    thresholds: list[str] = strawberry.field(
        description="Arguments of the field: thresholds overriding a setting, and `percentile`."
    )


def definitions() -> list[MetricDefinition]:
    return [
        MetricDefinition(
            name=m.name, title=m.title, description=m.description, data_set=m.dataset.value,
            unit=m.unit.value, formula=m.formula,
            thresholds=[THRESHOLD_ARGUMENTS[t][1] for t in m.thresholds],
        )
        for m in CATALOG
    ]  # fmt: skip


# --- reading the selection ----------------------------------------------------------------------


def selected_metrics(
    metrics_fields: Iterable[SelectedField], defaults: Thresholds
) -> list[Selected]:
    """The metric fields selected under `metrics { ... }` fields, with their thresholds."""
    chosen: dict[str, Selected] = {}
    for metrics_field in metrics_fields:
        for f in selected_fields(metrics_field.selections):
            if f.name not in BY_NAME:
                continue  # __typename
            # selection arguments hold literals as written (`"20"` for 20): coerce to the type
            given = {
                python: python_type(f.arguments[graphql])
                for python, (python_type, graphql, _) in THRESHOLD_ARGUMENTS.items()
                if f.arguments.get(graphql) is not None
            }
            item = _selected(f.alias or f.name, f.name, given, defaults)
            if chosen.get(item.key, item) != item:
                # the rows of a report share one set of values per response key
                raise BadInput(
                    f"`{item.key}` names different metrics or thresholds in two `metrics` "
                    "selections of the same rows; give them distinct aliases."
                )
            chosen[item.key] = item
    return list(chosen.values())


def _selected(key: str, name: str, overrides: dict[str, Any], defaults: Thresholds) -> Selected:
    """The metric `name` under response `key`, its thresholds the field's arguments given
    (by Python name) over `defaults`."""
    fraction = overrides.get("percentile")
    if fraction is not None and not 0.0 <= fraction <= 1.0:
        raise BadInput(f"`percentile` must be between 0 and 1 (got {fraction}).")
    return Selected(key, BY_NAME[name], defaults.with_overrides(overrides))


TIME_ZONE = Annotated[
    str | None,
    strawberry.argument(
        description="IANA time zone for this field (`Asia/Kolkata`): its date buckets, and "
        "`from`/`to` written without an offset. Default: the workspace's `INSIGHTS_TIMEZONE`."
    ),
]
FROM = Annotated[
    datetime | None,
    strawberry.argument(name="from", description="Start of the time range (inclusive)."),
]
TO = Annotated[
    datetime | None,
    strawberry.argument(name="to", description="End of the time range (exclusive)."),
]


@dataclasses.dataclass(frozen=True)
class MetricsArguments:
    """The arguments of an entity's `metrics` field."""

    start: FROM = None
    end: TO = None
    filter: Annotated[
        lazy("SegmentFilter") | None,  # type: ignore[valid-type]
        strawberry.argument(description="Only segments matching this filter count."),
    ] = None
    time_zone: TIME_ZONE = None


def metrics_field(owner: str, dimension: Dimension, description: str) -> StrawberryField:
    """`metrics(from:, to:, filter:)` on an entity, batched over all entities of the page; in
    a root page whose rows the database answers as JSON, written into them
    (`resolvers/metrics/json_metrics.py`)."""
    key = ENTITIES[owner].key

    async def resolve(root: Any, info: Info, **values: Any) -> MetricsBase:
        arguments = MetricsArguments(**values)
        ctx = context(info)
        selected = selected_metrics(selected_fields(info.selected_fields), ctx.options.thresholds)
        zone = zone_named(arguments.time_zone, ctx.options.timezone)
        scope = metric_scope(ctx.viewer, arguments.start, arguments.end, arguments.filter, zone)
        request = EntityMetricsRequest(dimension, scope, tuple(selected), getattr(root, key))
        return Metrics(_values=await entity_metrics(ctx, request))

    field = declared_field(
        resolve, returns=Metrics, arguments=arguments_of(MetricsArguments), description=description
    )
    declare(resolve, FieldSource(needs=(), metrics=partial(_in_json, owner, dimension, field)))
    return field


def _in_json(
    owner: str,
    dimension: Dimension,
    field: StrawberryField,
    ctx: Context,
    group: list[FieldNode],
    fragments: Mapping[str, Any],
) -> JsonMetrics | None:
    """The `metrics` field as its rows' JSON writes it, its arguments and its metrics' read with
    the request's variables; None when GraphQL must answer it (a directive inside, or an
    argument GraphQL reports an error for)."""
    schema = ctx.graphql_schema
    if schema is None:
        return None
    field_def = schema.type_map[owner].fields[group[0].name.value]
    try:
        keys = metric_keys(ctx, group, fragments)
        if keys is None:
            return None
        raw = get_argument_values(field_def, group[0], ctx.variables)
        arguments = MetricsArguments(**converted_arguments(schema, field, raw))
        zone = zone_named(arguments.time_zone, ctx.options.timezone)
        scope = metric_scope(ctx.viewer, arguments.start, arguments.end, arguments.filter, zone)
        metrics = JsonMetrics(dimension, scope, keys)
        for dataset in metrics.by_dataset():  # a dimension some data set cannot reach
            expression(dimension, dataset, zone, None)
    except Exception:  # a bad argument: GraphQL's path reports it, at its path
        return None
    return metrics


def metric_keys(
    ctx: Context, group: list[FieldNode], fragments: Mapping[str, Any]
) -> tuple[tuple[str, Selected | None], ...] | None:
    """The response keys under `Metrics` fields (`group`), each a metric with its thresholds
    (read with the request's variables) or None for `__typename`; None when they cannot be
    written as one JSON object (a directive inside, or too many keys). Raises what a bad
    threshold raises."""
    metrics_type = ctx.graphql_schema.type_map["Metrics"] if ctx.graphql_schema else None
    assert isinstance(metrics_type, GraphQLObjectType)
    keys: list[tuple[str, Selected | None]] = []
    for key, nodes in by_key(collect([n.selection_set for n in group], fragments)) or ():
        name = nodes[0].name.value
        if name == "__typename":
            keys.append((key, None))
            continue
        raw = get_argument_values(metrics_type.fields[name], nodes[0], ctx.variables)
        given = {
            python: raw[graphql]
            for python, (_, graphql, _) in THRESHOLD_ARGUMENTS.items()
            if raw.get(graphql) is not None
        }
        keys.append((key, _selected(key, name, given, ctx.options.thresholds)))
    if not keys or len(keys) > MAX_PAIRS:
        return None
    return tuple(keys)
