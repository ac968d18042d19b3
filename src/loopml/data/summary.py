"""Per-column summaries: computed once, stored as JSON, merged across windows.

A numeric column keeps counts, nulls, moments, a histogram on bins fixed by the
reference, and a sorted sketch (``loopml.data.sketch``): exact up to
``SKETCH_SIZE`` rows or ``SKETCH_SIZE`` distinct values, within one equal-rank
slice beyond. A categorical
column keeps the counts of its ``TOP_K`` most frequent values and one count for
the rest. Summaries of the same column add up: hourly summaries merge into a
day, so a monitor never re-reads raw data it has already seen.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loopml.data.sketch import SKETCH_SIZE as SKETCH_SIZE  # re-exported for callers
from loopml.data.sketch import merge_sketches, sketch_sorted

HIST_BINS = 20
TOP_K = 100
OTHER = "__other__"
Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class NumericSummary:
    count: int  # finite values
    nulls: int  # nulls, NaN and infinities
    mean: float
    m2: float  # sum of squared deviations from the mean (Chan et al. merge)
    minimum: float
    maximum: float
    cuts: np.ndarray  # inner bin edges, fixed by the reference
    hist: np.ndarray  # len(cuts) + 1 counts: (-inf, c0), [c0, c1), ..., [c_last, inf)
    values: np.ndarray  # sorted sketch points
    weights: np.ndarray | None  # None: each point is one row
    exact: bool = True  # the points and weights are the column's values and their counts
    kind: Kind = "numeric"

    @property
    def std(self) -> float:
        """Population standard deviation (ddof=0), as ``np.std``."""
        return math.sqrt(self.m2 / self.count) if self.count else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "numeric",
            "count": self.count,
            "nulls": self.nulls,
            "mean": _finite_or_none(self.mean),
            "m2": self.m2,
            "minimum": _finite_or_none(self.minimum),
            "maximum": _finite_or_none(self.maximum),
            "cuts": _encode(self.cuts),
            "hist": self.hist.tolist(),
            "values": _encode(self.values),
            "weights": None if self.weights is None else _encode(self.weights),
            "exact": self.exact,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NumericSummary:
        weights = data.get("weights")
        return cls(
            count=int(data["count"]),
            nulls=int(data["nulls"]),
            mean=math.nan if data["mean"] is None else float(data["mean"]),
            m2=float(data["m2"]),
            minimum=math.nan if data["minimum"] is None else float(data["minimum"]),
            maximum=math.nan if data["maximum"] is None else float(data["maximum"]),
            cuts=_decode(data["cuts"]),
            hist=np.asarray(data["hist"], dtype=np.int64),
            values=_decode(data["values"]),
            weights=None if weights is None else _decode(weights),
            exact=bool(data.get("exact", weights is None)),
        )


@dataclass(frozen=True)
class CategoricalSummary:
    count: int  # non-null values
    nulls: int
    counts: dict[str, int]  # the TOP_K most frequent values; the rest under OTHER
    kind: Kind = "categorical"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "categorical",
            "count": self.count,
            "nulls": self.nulls,
            "counts": self.counts,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CategoricalSummary:
        return cls(
            int(data["count"]),
            int(data["nulls"]),
            {str(k): int(v) for k, v in data["counts"].items()},
        )


ColumnSummary = NumericSummary | CategoricalSummary


@dataclass(frozen=True)
class TableSummary:
    """Summaries of a table's columns, plus what could not be summarized and why."""

    rows: int
    columns: dict[str, ColumnSummary]
    skipped: dict[str, str] = field(default_factory=dict)  # column -> arrow type it had

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "columns": {name: summary.to_dict() for name, summary in self.columns.items()},
            "skipped": self.skipped,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableSummary:
        columns = {
            name: (NumericSummary if value["kind"] == "numeric" else CategoricalSummary).from_dict(
                value
            )
            for name, value in data["columns"].items()
        }
        return cls(int(data["rows"]), columns, dict(data.get("skipped", {})))


def kind_of(type_: pa.DataType) -> Kind | None:
    """The kind a column is compared as, or None when it cannot be (dates, lists …)."""
    if pa.types.is_boolean(type_) or pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return "categorical"
    if pa.types.is_dictionary(type_):
        return "categorical"
    if pa.types.is_integer(type_) or pa.types.is_floating(type_) or pa.types.is_decimal(type_):
        return "numeric"
    if pa.types.is_null(type_):
        return None
    return None


def summarize(
    table: pa.Table,
    reference: TableSummary | None = None,
    columns: list[str] | None = None,
) -> TableSummary:
    """Summarize ``table``; with a ``reference``, numeric bins are the reference's."""
    summarized, skipped = summarizable(table, reference, columns)
    result: dict[str, ColumnSummary] = {}
    for name, column, kind, ref in summarized:
        if kind == "numeric":
            cuts = ref.cuts if isinstance(ref, NumericSummary) else None
            result[name] = summarize_numeric(_as_float(column), cuts)
        else:
            result[name] = summarize_categorical(column)
    return TableSummary(table.num_rows, result, skipped)


def summarizable(
    table: pa.Table, reference: TableSummary | None, columns: list[str] | None
) -> tuple[list[tuple[str, pa.ChunkedArray, Kind, ColumnSummary | None]], dict[str, str]]:
    """The columns to summarize, each with its kind and reference summary, and the
    columns skipped (name → type) because no kind compares them."""
    # Positions looked up once: by-name lookups scan every name, quadratic on wide tables.
    positions = {name: i for i, name in enumerate(table.column_names)}
    names = columns if columns is not None else table.column_names
    found = []
    skipped: dict[str, str] = {}
    for name in names:
        if name not in positions:
            continue
        column = table.column(positions[name])
        kind = column_kind(name, column, reference)
        if kind is None:
            skipped[name] = str(column.type)
            continue
        ref = reference.columns.get(name) if reference is not None else None
        found.append((name, column, kind, ref))
    return found, skipped


def column_kind(name: str, column: pa.ChunkedArray, reference: TableSummary | None) -> Kind | None:
    """The kind ``column`` is summarized as (an all-null window of a known column: the reference's)."""
    if pa.types.is_null(column.type) and reference is not None and name in reference.columns:
        return reference.columns[name].kind
    return kind_of(column.type)


def summarize_array(matrix: np.ndarray, names: list[str]) -> TableSummary:
    """``summarize`` of a table of float64 columns held as one array (a row per row, a
    column per name), the same summaries: every column is sorted in one call. On a
    200-row segment the calls cost more than the arithmetic, and a segment's drift
    reference is made this way."""
    ordered = np.sort(np.ascontiguousarray(matrix.T, dtype=np.float64), axis=1)
    finite = np.isfinite(ordered).all(axis=1)
    result = {
        # a column with NaN or infinities: its finite values sorted on their own, as
        # ``summarize`` does (equal values such as 0.0 and -0.0 keep the same order)
        name: _summarize_sorted(ordered[i], 0) if finite[i] else summarize_numeric(matrix[:, i])
        for i, name in enumerate(names)
    }
    return TableSummary(int(matrix.shape[0]), result, {})


def summarize_numeric(values: np.ndarray, cuts: np.ndarray | None = None) -> NumericSummary:
    finite = values[np.isfinite(values)]
    finite.sort()
    return _summarize_sorted(finite, int(values.size - finite.size), cuts)


def _summarize_sorted(
    finite: np.ndarray, nulls: int, cuts: np.ndarray | None = None
) -> NumericSummary:
    """The summary of a column's finite values, sorted, beside ``nulls`` other values."""
    count = int(finite.size)
    if cuts is None:
        cuts = _quantile_cuts(finite)
    positions = np.searchsorted(finite, cuts, side="left")
    hist = np.diff(np.concatenate(([0], positions, [count]))).astype(np.int64)
    points, weights, exact = sketch_sorted(finite)
    mean = float(finite.mean()) if count else math.nan
    m2 = float(np.square(finite - mean).sum()) if count else 0.0
    return NumericSummary(
        count=count,
        nulls=nulls,
        mean=mean,
        m2=m2,
        minimum=float(finite[0]) if count else math.nan,
        maximum=float(finite[-1]) if count else math.nan,
        cuts=np.asarray(cuts, dtype=np.float64),
        hist=hist,
        values=points,
        weights=weights,
        exact=exact,
    )


def summarize_categorical(column: pa.ChunkedArray | pa.Array) -> CategoricalSummary:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = pc.cast(column, pa.string())
    nulls = column.null_count
    counted = pc.value_counts(column)
    counts = {}
    for value, n in zip(
        counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True
    ):
        if value is not None:
            counts[value] = n
    return CategoricalSummary(len(column) - nulls, nulls, _top_k(counts))


def merge(first: TableSummary, second: TableSummary) -> TableSummary:
    """One summary of two windows of the same columns (the bins must be the same)."""
    columns = dict(first.columns)
    for name, summary in second.columns.items():
        columns[name] = merge_columns(columns[name], summary) if name in columns else summary
    return TableSummary(first.rows + second.rows, columns, {**first.skipped, **second.skipped})


def merge_columns(first: ColumnSummary, second: ColumnSummary) -> ColumnSummary:
    if isinstance(first, CategoricalSummary) and isinstance(second, CategoricalSummary):
        counts = dict(first.counts)
        for key, n in second.counts.items():
            counts[key] = counts.get(key, 0) + n
        return CategoricalSummary(
            first.count + second.count, first.nulls + second.nulls, _top_k(counts)
        )
    if not (isinstance(first, NumericSummary) and isinstance(second, NumericSummary)):
        raise ValueError("cannot merge a numeric summary with a categorical one")
    if not np.array_equal(first.cuts, second.cuts):
        raise ValueError("cannot merge numeric summaries with different bins")
    points, point_weights, exact = merge_sketches(
        (first.values, first.weights, first.exact), (second.values, second.weights, second.exact)
    )
    count = first.count + second.count
    if not first.count or not second.count:
        mean, m2 = (first.mean, first.m2) if first.count else (second.mean, second.m2)
    else:
        delta = second.mean - first.mean
        mean = first.mean + delta * second.count / count
        m2 = first.m2 + second.m2 + delta**2 * first.count * second.count / count
    return replace(
        first,
        count=count,
        nulls=first.nulls + second.nulls,
        mean=mean,
        m2=m2,
        minimum=float(np.fmin(first.minimum, second.minimum)),
        maximum=float(np.fmax(first.maximum, second.maximum)),
        hist=first.hist + second.hist,
        values=points,
        weights=point_weights,
        exact=exact,
    )


def _quantile_cuts(sorted_values: np.ndarray) -> np.ndarray:
    if sorted_values.size == 0:
        return np.empty(0)
    ranks = (np.arange(1, HIST_BINS) * sorted_values.size) // HIST_BINS
    return np.unique(sorted_values[ranks])


def _as_float(column: pa.ChunkedArray) -> np.ndarray:
    if pa.types.is_null(column.type):
        return np.full(len(column), np.nan)
    if column.null_count == 0 and pa.types.is_float64(column.type):
        return column.to_numpy()
    return pc.fill_null(pc.cast(column, pa.float64()), math.nan).to_numpy()


def _top_k(counts: dict[str, int]) -> dict[str, int]:
    other = counts.pop(OTHER, 0)
    if len(counts) > TOP_K:
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        counts = dict(ranked[:TOP_K])
        other += sum(n for _, n in ranked[TOP_K:])
    if other:
        counts[OTHER] = other
    return counts


def _encode(array: np.ndarray) -> str:
    """float64 arrays as base64: exact round trip, a fraction of the size of JSON numbers."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f8").tobytes()).decode("ascii")


def _decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f8").copy()


def _finite_or_none(value: float) -> float | None:
    return None if math.isnan(value) else value
