"""Segments of a table: one group of rows per value of the ``segment_by`` columns,
and chunks of them sized so that scheduling a task costs little next to its work."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from loopml.registry.segments import canonical_segment

_ROWS_PER_CHUNK = 20_000  # below this a task's scheduling starts to cost more than its work
_CHUNKS_PER_WORKER = 4  # enough tasks that a slow chunk does not idle the other workers


@dataclass(frozen=True)
class Segment:
    """One segment's rows: the range ``start:stop`` of ``table``, the planned rows sorted by
    segment, which every segment of a run shares (slicing 10,000 frames costs more than
    sorting them)."""

    values: dict[str, Any]
    key: str  # canonical "sku=A7,store=12"; "" without segments
    table: pd.DataFrame
    start: int
    stop: int
    row_hashes: np.ndarray

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def rows(self) -> pd.DataFrame:
        return self.table.iloc[self.start : self.stop]


def split_segments(
    frame: pd.DataFrame, segment_by: Sequence[str], hashes: np.ndarray, keep: Sequence[str]
) -> list[Segment]:
    """One segment per value of the ``segment_by`` columns, holding the ``keep`` columns.

    The rows are sorted by segment once and each segment is a range of that: a
    thousand segments cost one sort, not a thousand fancy-indexing copies."""
    kept = frame[list(keep)]
    if not segment_by:
        return [Segment({}, "", kept, 0, len(kept), hashes)]
    codes = frame.groupby(list(segment_by), sort=True, dropna=False).ngroup().to_numpy()
    order = np.argsort(codes, kind="stable")
    rows, hashes, codes = kept.iloc[order], hashes[order], codes[order]
    starts = np.flatnonzero(np.diff(codes, prepend=-1))
    ends = [*starts[1:], len(codes)]
    keys = frame[list(segment_by)].iloc[order[starts]].to_dict("records")
    out = []
    for values, start, end in zip(keys, starts.tolist(), ends, strict=True):
        segment = {col: _plain(values[col]) for col in segment_by}
        key = canonical_segment(segment)
        out.append(Segment(segment, key, rows, start, int(end), hashes[start:end]))
    return out


def chunk_size(setting: int | str, segments: Sequence[Segment], workers: int) -> int:
    """Segments per task: ``auto`` packs about 20,000 rows into a task, while keeping a
    few tasks per worker so the work spreads evenly."""
    if setting != "auto":
        return int(setting)
    if not segments:
        return 1
    typical = max(1, int(np.median([s.size for s in segments])))
    by_rows = max(1, _ROWS_PER_CHUNK // typical)
    spread = max(1, math.ceil(len(segments) / (workers * _CHUNKS_PER_WORKER)))
    return min(by_rows, spread)


def chunks(items: Sequence, size: int) -> list[list]:
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def _plain(value: Any) -> Any:
    """numpy scalars and timestamps as JSON-friendly Python values."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
