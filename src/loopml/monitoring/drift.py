"""Drift reports: per column a method, statistic, p-value, threshold and verdict.

``drift_report(reference, current)`` accepts DataFrames, Arrow tables, stored
summaries or the path of a Parquet or CSV file for either side; a Parquet file
is summarized one column at a time, so it is never in memory whole. Bad input (an empty window, an all-null column, a
new, missing or retyped column) never raises: the column is left out of the
verdict and listed in ``report.problems``, so a monitor reports a data problem
instead of crashing.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from loopml.data.summary import ColumnSummary, NumericSummary, TableSummary, summarize
from loopml.data.summary_files import summarize_file
from loopml.errors import InvalidInput
from loopml.monitoring.stats import METHODS, Method, default_method

DATASET_DRIFT_SHARE = 0.5
BOUND_SIGMAS = 3.0


@dataclass(frozen=True)
class ColumnDrift:
    name: str
    kind: str
    method: str
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "method": self.method,
            "statistic": _json_number(self.statistic),
            "p_value": _json_number(self.p_value),
            "threshold": self.threshold,
            "drifted": self.drifted,
        }


@dataclass(frozen=True)
class DataProblem:
    """A column (or the whole window, ``column=None``) that could not be compared."""

    column: str | None
    problem: (
        str  # empty_window, all_null, missing_column, new_column, type_changed, unsupported_type
    )
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "problem": self.problem, "detail": self.detail}


@dataclass(frozen=True)
class Bound:
    """A time-aware threshold: the statistic's mean ± 3σ over chunks of the reference."""

    method: str
    mean: float
    std: float

    @property
    def upper(self) -> float:
        return self.mean + BOUND_SIGMAS * self.std

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "mean": self.mean, "std": self.std}


@dataclass(frozen=True)
class DriftReport:
    columns: tuple[ColumnDrift, ...]
    problems: tuple[DataProblem, ...] = ()
    drift_share: float = DATASET_DRIFT_SHARE
    reference: TableSummary | None = field(default=None, repr=False, compare=False)
    current: TableSummary | None = field(default=None, repr=False, compare=False)

    @property
    def share_drifted(self) -> float:
        return sum(c.drifted for c in self.columns) / len(self.columns) if self.columns else 0.0

    @property
    def drifted(self) -> bool:
        """The dataset has drifted when at least ``drift_share`` of its columns have."""
        return bool(self.columns) and self.share_drifted >= self.drift_share

    @property
    def drifted_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.drifted]

    def column(self, name: str) -> ColumnDrift:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "drifted": self.drifted,
            "share_drifted": self.share_drifted,
            "columns": [c.to_dict() for c in self.columns],
            "problems": [p.to_dict() for p in self.problems],
        }

    def to_html(
        self, title: str = "Drift report", importance: Mapping[str, float] | None = None
    ) -> str:
        """The report as one HTML page; with a model's ``importance`` (mean |contribution|
        per feature), each column shows its share of it."""
        from loopml.monitoring.report_html import render

        return render(self, title, importance)


def drift_report(
    reference: Any,
    current: Any,
    columns: Sequence[str] | None = None,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    *,
    chunks: int | None = None,
    drift_share: float = DATASET_DRIFT_SHARE,
) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column.

    Either side may be a DataFrame, an Arrow table, a stored summary or a file
    path. A Parquet file is read one column at a time (memory: about one column
    of each file, never both tables); a CSV file is read whole.

    ``methods`` and ``thresholds`` override the default per column. With
    ``chunks=N`` (raw reference only) each column's threshold becomes the
    statistic's mean + 3σ over N chunks of the reference, in row order; the
    chunks are slices of the whole reference, so a reference file is then read
    whole.
    """
    from loopml.monitoring.reference import Reference

    methods, thresholds = dict(methods or {}), dict(thresholds or {})
    _check_methods(methods)
    bounds: dict[str, Bound] = {}
    if isinstance(reference, Reference):
        reference, bounds = reference.summary, dict(reference.bounds)
    elif chunks is not None:
        reference = as_table(reference, "reference")
        bounds = chunk_bounds(reference, chunks, columns, methods)
    reference = summary_of(reference, "reference", columns=_list(columns))
    current = summary_of(current, "current", reference, _list(columns))
    return compare(reference, current, columns, methods, thresholds, bounds, drift_share)


def compare(
    reference: TableSummary,
    current: TableSummary,
    columns: Sequence[str] | None = None,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    bounds: Mapping[str, Bound] | None = None,
    drift_share: float = DATASET_DRIFT_SHARE,
) -> DriftReport:
    """The report of two summaries (the monitors' path: no raw reference data)."""
    return compare_many(
        reference, [current], columns, methods, thresholds, bounds, drift_share, together=False
    )[0]


def compare_many(
    reference: TableSummary,
    currents: Sequence[TableSummary],
    columns: Sequence[str] | None = None,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    bounds: Mapping[str, Bound] | None = None,
    drift_share: float = DATASET_DRIFT_SHARE,
    *,
    together: bool = True,
) -> list[DriftReport]:
    """The report of each current summary against one reference (a monitor's segments).

    Each report is the one ``compare`` gives for its summary alone; with ``together``,
    a column's statistic is computed for all the summaries at once where its method
    can (``Method.compute_many``), else one summary at a time."""
    methods, thresholds, bounds = methods or {}, thresholds or {}, bounds or {}
    results: list[list[ColumnDrift | None]] = []
    problems: list[list[DataProblem]] = []
    pending: dict[tuple[str, str], list[tuple[int, int]]] = {}  # (column, method) -> places
    chosen: dict[str, str] = {}  # column -> method: the reference decides, once per column
    for i, current in enumerate(currents):
        names = list(columns) if columns is not None else _names(reference, current)
        results.append([])
        problems.append([])
        if current.rows == 0:
            problems[i].append(DataProblem(None, "empty_window", "The current window has no rows."))
        for name in names:
            problem = _problem(name, reference, current)
            if problem is None:
                if name not in chosen:
                    chosen[name] = _method_name(name, reference, methods, bounds)
                problem = _inapplicable(name, reference.columns[name].kind, chosen[name])
            if problem is not None:
                if current.rows or problem.problem != "all_null":
                    problems[i].append(problem)
                continue
            pending.setdefault((name, chosen[name]), []).append((i, len(results[i])))
            results[i].append(None)  # filled below, in the column's place
    for (name, method_name), places in pending.items():
        ref = reference.columns[name]
        found = _statistics(
            METHODS[method_name], ref, [currents[i].columns[name] for i, _ in places], together
        )
        for (i, j), (statistic, p_value) in zip(places, found, strict=True):
            results[i][j] = _verdict(
                name, ref.kind, method_name, statistic, p_value, thresholds, bounds
            )
    return [
        DriftReport(tuple(columns_), tuple(problems_), drift_share, reference, current)
        for columns_, problems_, current in zip(results, problems, currents, strict=True)
    ]


def _method_name(
    name: str, reference: TableSummary, methods: Mapping[str, str], bounds: Mapping[str, Bound]
) -> str:
    ref = reference.columns[name]
    return methods.get(name) or (
        bounds[name].method if name in bounds else default_method(ref, reference.rows)
    )


def _inapplicable(name: str, kind: str, method_name: str) -> DataProblem | None:
    if kind in METHODS[method_name].kinds:
        return None
    return DataProblem(
        name, "method_not_applicable", f"{method_name} does not apply to {kind} columns."
    )


def _statistics(
    method: Method, ref: ColumnSummary, currents: list[ColumnSummary], together: bool
) -> list[tuple[float, float | None]]:
    """The method's (statistic, p-value) of each current summary against ``ref``: at once
    for the summaries of one row per point, one at a time for the others (sketches)."""
    found: list[tuple[float, float | None] | None] = [None] * len(currents)
    batch = [
        i for i, c in enumerate(currents) if isinstance(c, NumericSummary) and c.weights is None
    ]
    usable = together and method.compute_many is not None and isinstance(ref, NumericSummary)
    if usable and len(batch) > 1:
        values = method.compute_many(ref, [currents[i] for i in batch])
        for i, value in zip(batch, values, strict=True):
            found[i] = (float(value), None)
    return [
        method.compute(ref, current) if result is None else result
        for result, current in zip(found, currents, strict=True)
    ]


def _verdict(
    name: str,
    kind: str,
    method_name: str,
    statistic: float,
    p_value: float | None,
    thresholds: Mapping[str, float],
    bounds: Mapping[str, Bound],
) -> ColumnDrift:
    """The column's threshold (its own, its time-aware bound, or the method's) and verdict."""
    method = METHODS[method_name]
    if name in thresholds:
        threshold = float(thresholds[name])
        drifted = method.drifted(statistic, p_value, threshold)
    elif name in bounds and bounds[name].method == method_name:
        threshold = bounds[name].upper
        drifted = statistic > threshold
    else:
        threshold = method.default_threshold
        drifted = method.drifted(statistic, p_value, threshold)
    return ColumnDrift(name, kind, method_name, statistic, p_value, threshold, bool(drifted))


def chunk_bounds(
    table: pa.Table,
    chunks: int = 10,
    columns: Sequence[str] | None = None,
    methods: Mapping[str, str] | None = None,
) -> dict[str, Bound]:
    """Each column's statistic over ``chunks`` slices of the reference against the whole (NannyML)."""
    if chunks < 2 or table.num_rows < 2 * chunks:
        raise InvalidInput(
            f"Cannot split a reference of {table.num_rows} rows into {chunks} chunks.",
            hint="Use at least 2 chunks and at least 2 rows per chunk.",
        )
    methods = methods or {}
    whole = summarize(table, columns=_list(columns))
    edges = np.linspace(0, table.num_rows, chunks + 1).astype(int)
    parts = [
        summarize(table.slice(a, b - a), whole, list(whole.columns))
        for a, b in itertools.pairwise(edges)
    ]
    bounds = {}
    for name, ref in whole.columns.items():
        if not ref.count:
            continue
        method_name = methods.get(name) or default_method(ref, whole.rows)
        method = METHODS[method_name]
        values = [
            method.compute(ref, part.columns[name])[0] for part in parts if part.columns[name].count
        ]
        if len(values) >= 2:
            bounds[name] = Bound(method_name, float(np.mean(values)), float(np.std(values, ddof=1)))
    return bounds


def summary_of(
    data: Any,
    what: str,
    reference: TableSummary | None = None,
    columns: list[str] | None = None,
) -> TableSummary:
    """``data`` summarized (bins from ``reference``); a file path is summarized column by column."""
    if isinstance(data, TableSummary):
        return data
    if isinstance(data, (str, os.PathLike)):
        return summarize_file(Path(data), reference, columns)
    return summarize(as_table(data, what), reference, columns)


def as_table(data: Any, what: str) -> pa.Table:
    """An Arrow table from a DataFrame, an Arrow table, a dict of columns, or a file (read whole)."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, Mapping):
        return pa.table(dict(data))
    if isinstance(data, (str, os.PathLike)):
        from loopml.data.frames import read_file

        return read_file(Path(data))
    module = type(data).__module__
    if module.startswith("pandas"):
        return pa.Table.from_pandas(data, preserve_index=False)
    raise InvalidInput(
        f"The {what} data is a {type(data).__name__}; drift needs a table.",
        hint="Pass a pandas DataFrame, a pyarrow Table, a Parquet or CSV path, "
        "or a stored reference summary.",
    )


def _problem(name: str, reference: TableSummary, current: TableSummary) -> DataProblem | None:
    if name in reference.skipped or name in current.skipped:
        kind = reference.skipped.get(name) or current.skipped.get(name)
        return DataProblem(name, "unsupported_type", f"Columns of type {kind} cannot be compared.")
    if name not in reference.columns:
        return DataProblem(name, "new_column", "The column is not in the reference.")
    if name not in current.columns:
        return DataProblem(name, "missing_column", "The column is missing from the current data.")
    ref, cur = reference.columns[name], current.columns[name]
    if ref.kind != cur.kind:
        return DataProblem(
            name, "type_changed", f"It was {ref.kind} in the reference and is {cur.kind} now."
        )
    if not ref.count:
        return DataProblem(name, "all_null", "The reference has no values in this column.")
    if not cur.count:
        return DataProblem(name, "all_null", "The current data has no values in this column.")
    return None


def _check_methods(methods: Mapping[str, str]) -> None:
    for column, method in methods.items():
        if method not in METHODS:
            raise InvalidInput(
                f"Unknown drift method {method!r} for column {column!r}.",
                hint=f"Use one of: {', '.join(METHODS)}.",
            )


def _names(reference: TableSummary, current: TableSummary) -> list[str]:
    seen = [*reference.columns, *reference.skipped, *current.columns, *current.skipped]
    return list(dict.fromkeys(seen))


def _list(columns: Sequence[str] | None) -> list[str] | None:
    return list(columns) if columns is not None else None


def _json_number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):  # JSON has no inf; p_value 0 says enough
        return None
    return value
