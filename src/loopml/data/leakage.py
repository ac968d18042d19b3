"""Leakage: how well each feature alone predicts the target, from 0 (not at all) to 1 (a copy).

For a class target, a feature's groups (its categories, or twenty-row quantile
bins of a number) are scored by how pure they are in the target, above what
always guessing the commonest class gets:
``(purity - baseline) / (1 - baseline)``. For a numeric target and a numeric
feature, the score is the strongest of three associations, so a feature that
predicts the target through any monotonic or step-shaped relation is caught,
not only a linear one: the absolute Pearson correlation, the absolute Spearman
(rank) correlation, and the correlation ratio of the target over quantile bins
of the feature (what a shallow tree on that feature alone would explain). With
a categorical feature it is the correlation ratio over its categories. A feature with fewer than ``MIN_GROUP`` rows per group
on average is not scored: an id column "predicts" anything it sees once.

Above ``SAMPLE_ROWS`` rows the scores are measured on a random ``SAMPLE_ROWS`` of them
(the same rows every time): a correlation's standard error there is at most
``1 / sqrt(SAMPLE_ROWS)`` (0.003), far below the gap between a real feature and a copy
of the target, and ranking ten million rows would cost more than training on them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loopml.data.rules import MAX_CLASSES

MIN_GROUP = 20
MAX_BINS = 50
MIN_ROWS = 2 * MIN_GROUP
SAMPLE_ROWS = 100_000


def leakage_scores(
    table: pa.Table, target: str, sample_rows: int = SAMPLE_ROWS
) -> dict[str, float]:
    """Score every other column of ``table`` against ``target``, on at most ``sample_rows``
    of its rows."""
    # ids are told by their whole column: a sample of one that repeats may not repeat
    scored = [
        name for name in table.column_names if name != target and not _row_number(name, table[name])
    ]
    if table.num_rows > sample_rows:
        rows = np.random.default_rng(0).choice(table.num_rows, sample_rows, replace=False)
        table = table.take(np.sort(rows))  # in table order: the same rows, read in sequence
    labels, numeric_target = _target(table[target])
    target_ranks = _Ranks(labels) if numeric_target else None
    scores = {}
    for name in scored:
        score = _score(table[name], labels, target_ranks)
        if score is not None:
            scores[name] = score
    return scores


def _row_number(name: str, column: pa.ChunkedArray) -> bool:
    from loopml.data.identifiers import why_identifier

    return pa.types.is_integer(column.type) and why_identifier(name, column.to_pandas()) is not None


def _target(column: pa.ChunkedArray) -> tuple[np.ndarray, bool]:
    """The target as class codes (-1 for null), or as floats (NaN for null) for amounts."""
    if _is_numeric(column):
        values = _floats(column)
        if distinct_count(values[np.isfinite(values)]) > MAX_CLASSES:
            return values, True
    return _codes(column), False


def _score(column: pa.ChunkedArray, target: np.ndarray, ranks: _Ranks | None) -> float | None:
    numeric_target = ranks is not None
    if _is_numeric(column):
        values = _floats(column)
        keep = np.isfinite(values) & (np.isfinite(target) if numeric_target else target >= 0)
        if keep.sum() < MIN_ROWS:
            return None
        if numeric_target:
            return _association(values[keep], target[keep], ranks.of(keep))
        groups = _bins(values[keep])
        return _purity_gain(groups, target[keep])
    codes = _codes(column)
    keep = (codes >= 0) & (np.isfinite(target) if numeric_target else target >= 0)
    count = int(keep.sum())
    if count < MIN_ROWS or distinct_count(codes[keep]) > count / MIN_GROUP:
        return None
    if numeric_target:
        return _correlation_ratio(codes[keep], target[keep])
    return _purity_gain(codes[keep], target[keep])


def _purity_gain(groups: np.ndarray, labels: np.ndarray) -> float | None:
    _, groups = np.unique(groups, return_inverse=True)
    _, labels = np.unique(labels, return_inverse=True)
    classes = int(labels.max()) + 1
    table = np.bincount(groups * classes + labels, minlength=(groups.max() + 1) * classes)
    table = table.reshape(-1, classes)
    baseline = table.sum(axis=0).max() / labels.size
    if baseline >= 1.0:
        return None  # one class only: nothing to predict
    purity = table.max(axis=1).sum() / labels.size
    return float(max(0.0, (purity - baseline) / (1 - baseline)))


def _association(x: np.ndarray, y: np.ndarray, y_ranks: np.ndarray) -> float | None:
    """The strongest of linear, rank and binned (step-shaped) association, 0 to 1."""
    linear = _correlation(x, y)
    if linear is None:
        return None
    ranked = _correlation(average_ranks(x), y_ranks) or 0.0
    binned = _correlation_ratio(_bins(x), y) or 0.0
    return max(linear, ranked, binned)


class _Ranks:
    """The target's ranks among the rows a feature keeps: ranked once for every feature
    that keeps all of the target's rows (a feature without missing values)."""

    def __init__(self, target: np.ndarray) -> None:
        self._target, self._finite = target, np.isfinite(target)
        self._all: np.ndarray | None = None

    def of(self, keep: np.ndarray) -> np.ndarray:
        if not np.array_equal(keep, self._finite):
            return average_ranks(self._target[keep])
        if self._all is None:
            self._all = average_ranks(self._target[keep])
        return self._all


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank (scipy's ``rankdata``), from one
    unstable sort: equal values get the same rank whatever order the sort left them in."""
    order = np.argsort(values)
    ordered = values[order]
    first = np.concatenate([[True], ordered[1:] != ordered[:-1]])
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], values.size)
    ranks = np.empty(values.size)
    ranks[order] = ((starts + ends + 1) / 2)[np.cumsum(first) - 1]
    return ranks


def distinct_count(values: np.ndarray) -> int:
    """How many distinct values: a sort, which numpy's hashing ``unique`` is many times
    slower than on millions of distinct numbers."""
    if values.size == 0:
        return 0
    ordered = np.sort(values)
    return int(np.count_nonzero(ordered[1:] != ordered[:-1])) + 1


def _correlation(x: np.ndarray, y: np.ndarray) -> float | None:
    if x.std() == 0 or y.std() == 0:
        return None
    return float(abs(np.corrcoef(x, y)[0, 1]))


def _correlation_ratio(groups: np.ndarray, y: np.ndarray) -> float | None:
    """Groups are codes from 0 (bins, categories); a code no row has counts for nothing."""
    total = np.square(y - y.mean()).sum()
    if total == 0:
        return None
    sizes = np.bincount(groups)
    used = sizes > 0
    sums, sizes = np.bincount(groups, weights=y)[used], sizes[used]
    between = (np.square(sums / sizes - y.mean()) * sizes).sum()
    return float(np.sqrt(between / total))


def _bins(values: np.ndarray) -> np.ndarray:
    """Quantile bins of at least ``MIN_GROUP`` rows on average (fewer when values repeat)."""
    count = min(MAX_BINS, values.size // MIN_GROUP)
    edges = np.unique(np.quantile(values, np.linspace(0, 1, count + 1)[1:-1]))
    return np.searchsorted(edges, values, side="right")


def _is_numeric(column: pa.ChunkedArray) -> bool:
    type_ = column.type
    return pa.types.is_integer(type_) or pa.types.is_floating(type_) or pa.types.is_decimal(type_)


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    return pc.fill_null(pc.cast(column, pa.float64()), np.nan).to_numpy()


def _codes(column: pa.ChunkedArray) -> np.ndarray:
    """One code per distinct value (one dictionary for all chunks), -1 for nulls."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    try:
        encoded = pc.dictionary_encode(column.combine_chunks())
    except pa.ArrowNotImplementedError:
        return np.full(len(column), -1)
    return pc.fill_null(pc.cast(encoded.indices, pa.int64()), -1).to_numpy(zero_copy_only=False)
