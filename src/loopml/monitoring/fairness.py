"""The ``fairness`` monitor: a group-fairness metric of the live window against a limit.

The sensitive attribute is read from the prediction log (sent beside the model's
inputs, whether or not the model uses it) or from the feedback (sent with the
label). The rule: with fewer than ``min_rows`` measured rows in the smallest group
there is no verdict; otherwise the window alerts when the metric is worse than
``threshold`` (a ratio below it, a difference above it).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from loopml.explain.live import needs_labels, window_fairness
from loopml.monitoring.service import Monitor, Outcome
from loopml.predictions.schema import attribute, input_column_name


def fairness_outcome(monitor: Monitor, segment: str, rows: pa.Table, where: str) -> Outcome:
    spec = monitor.spec
    name, metric = spec.sensitive, spec.metric
    head = f"{spec.name} on {where}: {metric} by {name}"
    values = attribute(rows, name)
    if values is None:
        return Outcome(
            segment,
            "no_data" if rows.num_rows == 0 else "data_problem",
            None,
            rows.num_rows,
            f"{head}: no {name!r} in the window; send it with each "
            f"prediction ({input_column_name(name)!r}) or with its feedback",
            {},
        )
    labels = _column(rows, "label")
    result = window_fairness(
        metric, _column(rows, "prediction"), labels, values.to_pylist(), spec.positive
    )
    measured = "labelled rows" if needs_labels(metric) else "scored rows"
    if result is None:
        return Outcome(
            segment, "no_data", None, rows.num_rows, f"{head}: no {measured}", {}, spec.threshold
        )
    group, smallest = result.smallest_group
    details = {"metric": metric, "attribute": name, "rows": result.rows, "groups": result.groups}
    if smallest < spec.min_rows:
        message = (
            f"{head}: group {group!r} has {smallest} {measured}, fewer than "
            f"{spec.min_rows}; no verdict yet"
        )
        return Outcome(
            segment, "no_data", result.value, rows.num_rows, message, details, spec.threshold
        )
    bad = spec.worse_than_threshold(result.value)
    shown = ", ".join(f"{g} {_rate(v)} (n={int(v['rows'])})" for g, v in result.groups.items())
    relation = "worse than" if bad else "within"
    message = f"{head} = {result.value:.3g}, {relation} {spec.threshold:g}; groups {shown}"
    return Outcome(
        segment,
        "alert" if bad else "ok",
        result.value,
        rows.num_rows,
        message,
        details,
        spec.threshold,
    )


def _column(rows: pa.Table, name: str) -> list:
    if name not in rows.column_names:
        return [None] * rows.num_rows
    column = rows[name]
    if pa.types.is_floating(column.type):
        column = pc.fill_null(column, float("nan"))
    return column.to_pylist()


def _rate(values: dict[str, float]) -> str:
    for metric in ("selection_rate", "true_positive_rate", "mean_absolute_error"):
        if metric in values:
            return f"{metric.replace('_', ' ')} {values[metric]:.3g}"
    return ""
