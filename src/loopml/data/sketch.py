"""The sorted sketch of a numeric column: exact on ties, within one slice in rank beyond.

A sketch is sorted points with weights (``None``: each point is one row):

- up to ``SKETCH_SIZE`` rows, the values themselves;
- beyond, while the column has at most ``SKETCH_SIZE`` distinct values, each distinct
  value with its count: still exact, at any number of rows (integer codes, counts,
  pixel intensities, rounded prices: the tied columns real tables are full of);
- beyond that, ``SKETCH_SIZE`` equal-rank slices of the sorted column, each a point
  at the slice's mean clipped into the slice's range. A slice of one tied value is
  that value exactly (a float mean of equal numbers need not be), so a CDF read
  at any point errs by at most one slice (1/``SKETCH_SIZE`` of the rows), with or
  without ties, and the mean is kept to rounding.
"""

from __future__ import annotations

import numpy as np

SKETCH_SIZE = 10_000

Sketch = tuple[np.ndarray, np.ndarray | None, bool]  # points, weights, exact


def sketch_sorted(values: np.ndarray) -> Sketch:
    """The sketch of sorted finite ``values``."""
    if values.size <= SKETCH_SIZE:
        return values, None, True
    changes = values[1:] != values[:-1]  # counted first: no index array for a continuous column
    if np.count_nonzero(changes) < SKETCH_SIZE:
        starts = np.flatnonzero(np.concatenate([[True], changes]))
        return values[starts], np.diff(np.append(starts, values.size)).astype(np.float64), True
    return *compress(values, None), False


def merge_sketches(first: Sketch, second: Sketch) -> Sketch:
    """The sketch of two columns' rows together; exact when both are and it fits."""
    values = np.concatenate([first[0], second[0]])
    weights = np.concatenate([_weights(first), _weights(second)])
    order = np.argsort(values, kind="stable")
    points, counts = distinct(values[order], weights[order])
    exact = first[2] and second[2]
    if exact and counts.sum() <= SKETCH_SIZE:
        return np.repeat(points, counts.astype(np.int64)), None, True
    if exact and points.size <= SKETCH_SIZE:
        return points, counts, True
    return *compress(points, counts), False


def distinct(values: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of sorted ``values`` and their total weights."""
    if values.size == 0:
        return values, np.empty(0)
    starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    if weights is None:
        counts = np.diff(np.append(starts, values.size)).astype(np.float64)
    else:
        counts = np.add.reduceat(weights, starts)
    return values[starts], counts


def compress(values: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """At most ``SKETCH_SIZE`` weighted points: equal-weight slices of sorted ``values``,
    each at its mean clipped into the slice's range."""
    if weights is None:
        bounds = np.linspace(0, values.size, SKETCH_SIZE + 1).astype(np.int64)
        starts = bounds[:-1]
        sizes = np.diff(bounds).astype(np.float64)
        means = np.add.reduceat(values, starts) / sizes
    else:
        cumulative = np.cumsum(weights)
        middle = cumulative - weights / 2
        slot = np.minimum((middle / cumulative[-1] * SKETCH_SIZE).astype(np.int64), SKETCH_SIZE - 1)
        starts = np.flatnonzero(np.diff(slot, prepend=-1))
        sizes = np.add.reduceat(weights, starts)
        means = np.add.reduceat(values * weights, starts) / sizes
    ends = np.append(starts[1:], values.size) - 1
    return np.clip(means, values[starts], values[ends]), sizes


def cdf(points: np.ndarray, weights: np.ndarray | None, at: np.ndarray) -> np.ndarray:
    """The share of rows at or below each of ``at``."""
    cumulative = np.concatenate([[0.0], np.cumsum(_weights((points, weights, True)))])
    return cumulative[np.searchsorted(points, at, side="right")] / cumulative[-1]


def quantiles(points: np.ndarray, weights: np.ndarray | None, exact: bool, q) -> np.ndarray:
    """Quantiles as ``np.quantile`` gives them when exact, else interpolated between slices."""
    q = np.asarray(q, dtype=np.float64)
    if weights is None:
        return np.quantile(points, q)
    cumulative = np.cumsum(weights)
    if exact:  # np.quantile's linear rule on the rows the counts stand for
        position = q * (cumulative[-1] - 1)
        below, above = np.floor(position), np.ceil(position)
        low = points[np.searchsorted(cumulative, below, side="right")]
        high = points[np.searchsorted(cumulative, above, side="right")]
        return low + (position - below) * (high - low)
    middles = cumulative - weights / 2
    return np.interp(q * cumulative[-1], middles, points)


def _weights(sketch: Sketch) -> np.ndarray:
    points, weights, _ = sketch
    return np.ones(points.size) if weights is None else weights
