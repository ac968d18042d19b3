"""Summaries of many row groups of one table at once: a monitor's segments in one sort.

``summarize_groups(table, bounds, reference)`` gives, for each group of rows
``table[bounds[i]:bounds[i+1]]``, the ``TableSummary`` that ``summarize`` gives
for that group alone, computed per column for all groups together: one sort of
the column by (group, value), counts, sums and histograms from ``np.bincount``.
A numeric column is summarized this way when the reference fixes its bins; a group
of more than ``SKETCH_SIZE`` values (whose sketch counts or compresses them), and a
column without reference bins, is summarized on its own.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pyarrow as pa

from loopml.data.sketch import SKETCH_SIZE
from loopml.data.summary import (
    ColumnSummary,
    NumericSummary,
    TableSummary,
    _as_float,
    summarizable,
    summarize_categorical,
    summarize_numeric,
)


def summarize_groups(
    table: pa.Table,
    bounds: np.ndarray,
    reference: TableSummary | None = None,
    columns: list[str] | None = None,
) -> list[TableSummary]:
    """One summary per group of consecutive rows (``bounds``: the groups' offsets)."""
    bounds = np.asarray(bounds, dtype=np.int64)
    sizes = np.diff(bounds)
    per_group: list[dict[str, ColumnSummary]] = [{} for _ in sizes]
    summarized, skipped = summarizable(table, reference, columns)
    for name, column, kind, ref in summarized:
        if kind == "numeric":
            summaries = _numeric_groups(_as_float(column), bounds, ref)
        else:
            summaries = [
                summarize_categorical(column.slice(start, size))
                for start, size in zip(bounds[:-1], sizes, strict=True)
            ]
        for group, summary in zip(per_group, summaries, strict=True):
            group[name] = summary
    return [
        TableSummary(int(size), group, dict(skipped))
        for size, group in zip(sizes, per_group, strict=True)
    ]


def _numeric_groups(
    values: np.ndarray, bounds: np.ndarray, ref: ColumnSummary | None
) -> list[NumericSummary]:
    groups = len(bounds) - 1
    sizes = np.diff(bounds)
    ids = np.repeat(np.arange(groups), sizes)
    finite = np.isfinite(values)
    ids, values = ids[finite], values[finite]  # still in group order
    counts = np.bincount(ids, minlength=groups)
    starts = np.concatenate([[0], np.cumsum(counts)])
    _sort_within(values, ids, starts)
    if not isinstance(ref, NumericSummary):
        return [  # no fixed bins: each group finds its own
            summarize_numeric(values[a:b], ref.cuts if isinstance(ref, NumericSummary) else None)
            for a, b in itertools.pairwise(starts)
        ]
    cuts = np.asarray(ref.cuts, dtype=np.float64)
    bins = np.searchsorted(cuts, values, side="right")  # bin k: [cuts[k-1], cuts[k])
    hists = np.bincount(ids * (cuts.size + 1) + bins, minlength=groups * (cuts.size + 1))
    hists = hists.reshape(groups, cuts.size + 1).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.bincount(ids, weights=values, minlength=groups) / counts
    m2 = np.bincount(ids, weights=np.square(values - means[ids]), minlength=groups)
    out = []
    for g in range(groups):
        a, b = starts[g], starts[g + 1]
        count = int(counts[g])
        if count > SKETCH_SIZE:  # a sketch to count or compress: this group on its own
            out.append(replace(summarize_numeric(values[a:b], cuts), nulls=int(sizes[g] - count)))
            continue
        out.append(
            NumericSummary(
                count=count,
                nulls=int(sizes[g] - count),
                mean=float(means[g]) if count else math.nan,
                m2=float(m2[g]) if count else 0.0,
                minimum=float(values[a]) if count else math.nan,
                maximum=float(values[b - 1]) if count else math.nan,
                cuts=cuts,
                hist=hists[g],
                values=values[a:b],
                weights=None,
                exact=True,
            )
        )
    return out


def _sort_within(values: np.ndarray, ids: np.ndarray, starts: np.ndarray) -> None:
    """Sort each group's slice of ``values`` in place: slice by slice when the groups are
    large enough that the loop costs less than one sort of every value by (group, value)."""
    if len(starts) - 1 <= values.size // 16:
        for a, b in itertools.pairwise(starts.tolist()):
            values[a:b].sort()
    else:
        values[:] = values[np.lexsort((values, ids))]
