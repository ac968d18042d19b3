"""A dataset version's profile: what each column holds, in a few numbers.

Built on the column summaries of loopml.data.summary (one sort per numeric column, one hash
count per categorical one), so a profile and a drift reference are the same
computation: the summaries are kept next to the profile and diffs between
versions compare them without reading the data again.

Per column: type, kind, null rate; numbers add min, max, mean, standard
deviation (population), quantiles and a histogram (edges and counts, on the
summary's equal-frequency bins); categories add the distinct count and the
most frequent values. NaN and infinities count as nulls, as in the summaries.
"""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from loopml.data import sketch
from loopml.data.frames import logical_type
from loopml.data.summary import (
    OTHER,
    TOP_K,
    CategoricalSummary,
    NumericSummary,
    TableSummary,
    summarize,
)

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
TOP_VALUES = 20


def profile_table(table: pa.Table) -> tuple[dict[str, Any], TableSummary]:
    """The profile of ``table`` (JSON-ready) and the column summaries it was read from."""
    summary = summarize(table)
    rows = table.num_rows
    columns: dict[str, Any] = {}
    for position, field in enumerate(table.schema):
        column_summary = summary.columns.get(field.name)
        entry: dict[str, Any] = {"type": logical_type(field.type)}
        if isinstance(column_summary, NumericSummary):
            entry.update(numeric_profile(column_summary, rows))
        elif isinstance(column_summary, CategoricalSummary):
            entry.update(categorical_profile(column_summary, table.column(position), rows))
        else:
            entry.update(other_profile(table.column(position), rows))
        columns[field.name] = entry
    return {"rows": rows, "columns": columns}, summary


def numeric_profile(summary: NumericSummary, rows: int) -> dict[str, Any]:
    empty = summary.count == 0
    return {
        "kind": "numeric",
        "nulls": summary.nulls,
        "null_rate": _rate(summary.nulls, rows),
        "min": _number(summary.minimum),
        "max": _number(summary.maximum),
        "mean": _number(summary.mean),
        "std": _number(summary.std),
        "quantiles": dict(zip(map(str, QUANTILES), [None] * len(QUANTILES), strict=True))
        if empty
        else quantiles(summary),
        "histogram": {
            "edges": [] if empty else [summary.minimum, *summary.cuts.tolist(), summary.maximum],
            "counts": [] if empty else summary.hist.tolist(),
        },
    }


def quantiles(summary: NumericSummary, points: tuple[float, ...] = QUANTILES) -> dict[str, float]:
    """Quantiles from the summary's sketch (exact when it is, else within one slice in rank)."""
    values = sketch.quantiles(summary.values, summary.weights, summary.exact, points)
    return {str(q): float(v) for q, v in zip(points, values, strict=True)}


def categorical_profile(
    summary: CategoricalSummary, column: pa.ChunkedArray, rows: int
) -> dict[str, Any]:
    counts = {k: v for k, v in summary.counts.items() if k != OTHER}
    # The summary holds every value when there are at most TOP_K; count only beyond that.
    distinct = (
        len(counts)
        if OTHER not in summary.counts and len(counts) < TOP_K
        else pc.count_distinct(column, mode="only_valid").as_py()
    )
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:TOP_VALUES]
    return {
        "kind": "categorical",
        "nulls": summary.nulls,
        "null_rate": _rate(summary.nulls, rows),
        "distinct": distinct,
        "top": [{"value": value, "count": count} for value, count in top],
    }


def other_profile(column: pa.ChunkedArray, rows: int) -> dict[str, Any]:
    """Dates, times and nested values: nulls, and the range where there is an order."""
    entry: dict[str, Any] = {
        "kind": "other",
        "nulls": column.null_count,
        "null_rate": _rate(column.null_count, rows),
    }
    if pa.types.is_temporal(column.type) and len(column) > column.null_count:
        bounds = pc.min_max(column)
        entry["min"] = _iso(bounds["min"].as_py())
        entry["max"] = _iso(bounds["max"].as_py())
    return entry


def _rate(part: int, rows: int) -> float:
    return part / rows if rows else 0.0


def _number(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else float(value)


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
