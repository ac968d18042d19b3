"""Drift statistics between a reference summary and a current one.

Each method returns ``(statistic, p_value)``; p-value tests flag drift when
``p_value < threshold``, distances when ``statistic >= threshold`` (the rules
and default thresholds practitioners know from Evidently). Where scipy has the
statistic, scipy computes it, on the exact values whenever the summaries hold
them (up to ``SKETCH_SIZE`` rows), else as scipy would on the weighted sketch:
exact while a column has at most ``SKETCH_SIZE`` distinct values, within one
sketch slice in rank beyond (``loopml.data.sketch``).

A monitor's many segments against one reference are computed at once where a
method has ``compute_many`` (the distances of the reference's defaults): from
the segments' sorted values side by side in numpy, the same integrals and shares
scipy takes one pair at a time (``tests/monitoring`` holds them equal to scipy).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from loopml.data import sketch
from loopml.data.summary import CategoricalSummary, ColumnSummary, NumericSummary

PSI_FLOOR = 1e-4  # empty bins count as this share, so PSI stays finite
STD_FLOOR = 1e-3  # normed Wasserstein of a constant reference column
JEFFREYS = 0.5  # pseudo-count of each category in goodness-of-fit expected shares


@dataclass(frozen=True)
class Method:
    name: str
    kinds: tuple[str, ...]
    p_value_test: bool
    default_threshold: float
    compute: Callable[[ColumnSummary, ColumnSummary], tuple[float, float | None]]
    # many current samples (numeric, each one row per point) against one reference at once
    compute_many: Callable[[NumericSummary, Sequence[NumericSummary]], np.ndarray] | None = None

    def drifted(self, statistic: float, p_value: float | None, threshold: float) -> bool:
        if self.p_value_test:
            return p_value is not None and p_value < threshold
        return statistic >= threshold


def ks(ref: NumericSummary, cur: NumericSummary) -> tuple[float, float]:
    """Two-sample Kolmogorov–Smirnov, as scipy's ``ks_2samp`` computes it.

    On raw values (samples up to ``SKETCH_SIZE`` rows) scipy itself runs. Beyond,
    the distance is the largest gap between the two CDFs at every point either
    sketch holds (exact when both sketches are: ties are counts, not
    approximations) and the p-value is scipy's rule for samples that large,
    ``kstwo.sf(D, round(n·m / (n + m)))``.
    """
    from scipy import stats

    if ref.weights is None and cur.weights is None:
        result = stats.ks_2samp(ref.values, cur.values)
        return float(result.statistic), float(result.pvalue)
    points = np.union1d(ref.values, cur.values)
    distance = float(np.max(np.abs(_cdf(ref, points) - _cdf(cur, points))))
    effective = round(ref.count * cur.count / (ref.count + cur.count))
    return distance, float(stats.kstwo.sf(distance, effective))


def wasserstein(ref: NumericSummary, cur: NumericSummary) -> tuple[float, None]:
    """Wasserstein-1 distance divided by the reference's standard deviation."""
    from scipy import stats

    distance = stats.wasserstein_distance(ref.values, cur.values, ref.weights, cur.weights)
    return float(distance / max(ref.std, STD_FLOOR)), None


def wasserstein_many(ref: NumericSummary, currents: Sequence[NumericSummary]) -> np.ndarray:
    """``wasserstein`` of each current sample against ``ref``, for all at once.

    W1 is the integral of |F_ref - F_cur|. Between two consecutive points of a
    current sample its CDF is a constant c, so each piece is the integral of
    |F_ref - c| over [a, b]: with G the integral of F_ref (piecewise linear, known at
    every point from two cumulative sums of the reference) and x* where F_ref
    reaches c, it is c(x* - a) - (G(x*) - G(a)) + (G(b) - G(x*)) - c(b - x*).
    Everything is shifted by the reference's median first, so the cumulative sums
    stay small beside the distances.
    """
    points = ref.values
    weights = np.ones(points.size) if ref.weights is None else ref.weights
    centre = points[points.size // 2]
    points = points - centre
    total = np.cumsum(weights)
    share = np.concatenate([[0.0], total]) / total[-1]  # F_ref after k points (scipy's division)
    moment = np.concatenate([[0.0], np.cumsum(weights * points)]) / total[-1]

    def integral(x: np.ndarray) -> np.ndarray:  # G(x), the integral of F_ref up to x
        k = np.searchsorted(points, x, side="right")
        return share[k] * x - moment[k]

    at_points = integral(points)  # G at each reference point, for the crossings
    sizes = np.array([c.values.size for c in currents])
    values = np.concatenate([c.values for c in currents]) - centre
    group = np.repeat(np.arange(len(currents)), sizes)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    last = first + sizes - 1
    rank = np.arange(values.size) - first[group]
    low = np.minimum(points[0], values[first])
    high = np.maximum(points[-1], values[last])
    # the piece ending at each current point (F_cur = rank / n on it), then the last one
    g_values = integral(values)
    a = np.where(rank == 0, low[group], np.roll(values, 1))
    g_a = np.where(rank == 0, integral(low)[group], np.roll(g_values, 1))
    b, g_b, c = values, g_values, rank / sizes[group]
    a, g_a = np.concatenate([a, values[last]]), np.concatenate([g_a, g_values[last]])
    b, g_b = np.concatenate([b, high]), np.concatenate([g_b, integral(high)])
    c = np.concatenate([c, np.ones(len(currents))])
    group = np.concatenate([group, np.arange(len(currents))])
    j = np.minimum(np.searchsorted(share[1:], c, side="left"), points.size - 1)
    crossing, g_x = points[j], at_points[j]
    below, above = (c == 0) | (crossing <= a), crossing >= b  # x* clipped into [a, b]
    crossing = np.where(below, a, np.where(above, b, crossing))
    g_x = np.where(below, g_a, np.where(above, g_b, g_x))
    pieces = c * (crossing - a) - (g_x - g_a) + (g_b - g_x) - c * (b - crossing)
    distances = np.bincount(group, weights=pieces, minlength=len(currents))
    return distances / max(ref.std, STD_FLOOR)


def psi(ref: ColumnSummary, cur: ColumnSummary) -> tuple[float, None]:
    """Population stability index over the reference's bins (or categories)."""
    expected, actual = _shares(ref, cur)
    expected = np.where(expected == 0, PSI_FLOOR, expected)
    actual = np.where(actual == 0, PSI_FLOOR, actual)
    return float(np.sum((actual - expected) * np.log(actual / expected))), None


def psi_many(ref: NumericSummary, currents: Sequence[NumericSummary]) -> np.ndarray:
    """``psi`` of each current sample's bins against the reference's, for all at once."""
    expected, actual = _shares_many(ref, currents)
    expected = np.where(expected == 0, PSI_FLOOR, expected)
    actual = np.where(actual == 0, PSI_FLOOR, actual)
    return np.sum((actual - expected) * np.log(actual / expected), axis=1)


def jensenshannon(ref: ColumnSummary, cur: ColumnSummary) -> tuple[float, None]:
    """Jensen–Shannon distance (natural log) of the category or bin shares."""
    from scipy.spatial import distance

    expected, actual = _shares(ref, cur)
    return float(distance.jensenshannon(expected, actual)), None


def jensenshannon_many(ref: NumericSummary, currents: Sequence[NumericSummary]) -> np.ndarray:
    """``jensenshannon`` of each current sample's bins against the reference's, at once."""
    from scipy.spatial import distance

    expected, actual = _shares_many(ref, currents)
    return distance.jensenshannon(np.broadcast_to(expected, actual.shape), actual, axis=1)


def chi2(ref: CategoricalSummary, cur: CategoricalSummary) -> tuple[float, float]:
    """Chi-square test of homogeneity: do the two samples come from one distribution?

    scipy's ``chi2_contingency`` on the 2 x k table of counts (reference, current)
    over the k categories either side has, Yates' correction included when k = 2
    as scipy applies it. A category absent from one side is a zero cell of a
    column whose total is positive, so the statistic stays finite.
    """
    from scipy import stats

    keys = _keys(ref, cur)
    if len(keys) < 2:  # one category on both sides: nothing can differ
        return 0.0, 1.0
    table = np.array([[side.counts.get(k, 0) for k in keys] for side in (ref, cur)])
    result = stats.chi2_contingency(table)
    return float(result.statistic), float(result.pvalue)


def chi2_gof(ref: CategoricalSummary, cur: CategoricalSummary) -> tuple[float, float]:
    """Chi-square goodness of fit of the current counts to the reference's shares.

    scipy's ``chisquare`` with expected shares ``(reference count + 1/2) / (reference
    rows + k/2)`` over the k categories either side has: the reference is a sample,
    so a category it never saw gets the half count of Jeffreys' estimate instead of
    a share of 0 (which would make the statistic infinite and p = 0 on one row).
    """
    from scipy import stats

    keys = _keys(ref, cur)
    if len(keys) < 2:
        return 0.0, 1.0
    observed = np.array([cur.counts.get(k, 0) for k in keys], dtype=np.float64)
    shares = np.array([ref.counts.get(k, 0) for k in keys], dtype=np.float64) + JEFFREYS
    result = stats.chisquare(observed, shares / shares.sum() * observed.sum())
    return float(result.statistic), float(result.pvalue)


def ztest(ref: CategoricalSummary, cur: CategoricalSummary) -> tuple[float, float]:
    """Two-proportion Z-test on the reference's most frequent value (binary columns)."""
    from scipy import stats

    value = max(ref.counts, key=lambda k: (ref.counts[k], k))
    p1, p2 = ref.counts[value] / ref.count, cur.counts.get(value, 0) / cur.count
    pooled = (ref.counts[value] + cur.counts.get(value, 0)) / (ref.count + cur.count)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / ref.count + 1 / cur.count))
    if spread == 0:
        return 0.0, 1.0
    z = (p1 - p2) / spread
    return z, float(2 * stats.norm.sf(abs(z)))


METHODS: dict[str, Method] = {
    "ks": Method("ks", ("numeric",), True, 0.05, ks),
    "wasserstein": Method("wasserstein", ("numeric",), False, 0.1, wasserstein, wasserstein_many),
    "psi": Method("psi", ("numeric", "categorical"), False, 0.1, psi, psi_many),
    "chi2": Method("chi2", ("categorical",), True, 0.05, chi2),
    "chi2_gof": Method("chi2_gof", ("categorical",), True, 0.05, chi2_gof),
    "ztest": Method("ztest", ("categorical",), True, 0.05, ztest),
    "jensenshannon": Method(
        "jensenshannon", ("numeric", "categorical"), False, 0.1, jensenshannon, jensenshannon_many
    ),
}
SMALL_REFERENCE = 1_000


def default_method(ref: ColumnSummary, reference_rows: int) -> str:
    """Evidently's choice: p-value tests for small references, distances for large ones."""
    if reference_rows <= SMALL_REFERENCE:
        if isinstance(ref, NumericSummary):
            return "ks"
        return "ztest" if len(ref.counts) <= 2 else "chi2"
    return "wasserstein" if isinstance(ref, NumericSummary) else "jensenshannon"


def _cdf(summary: NumericSummary, points: np.ndarray) -> np.ndarray:
    return sketch.cdf(summary.values, summary.weights, points)


def _shares(ref: ColumnSummary, cur: ColumnSummary) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(ref, NumericSummary) and isinstance(cur, NumericSummary):
        expected, actual = ref.hist.astype(np.float64), cur.hist.astype(np.float64)
    else:
        keys = _keys(ref, cur)
        expected = np.array([ref.counts.get(k, 0) for k in keys], dtype=np.float64)
        actual = np.array([cur.counts.get(k, 0) for k in keys], dtype=np.float64)
    return expected / expected.sum(), actual / actual.sum()


def _shares_many(
    ref: NumericSummary, currents: Sequence[NumericSummary]
) -> tuple[np.ndarray, np.ndarray]:
    expected = ref.hist.astype(np.float64)
    actual = np.stack([c.hist for c in currents]).astype(np.float64)
    return expected / expected.sum(), actual / actual.sum(axis=1, keepdims=True)


def _keys(ref: CategoricalSummary, cur: CategoricalSummary) -> list[str]:
    return sorted(set(ref.counts) | set(cur.counts))
