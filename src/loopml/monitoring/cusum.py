"""CUSUM on standardized residuals: a change detector for series with one label a period.

A window's mean error of a few rows is too noisy to show a shift of a couple of
standard deviations quickly without false alarms; a CUSUM accumulates the evidence
row by row instead (Page 1954; the tabular form of Montgomery's *Introduction to
Statistical Quality Control*, ch. 9). The residuals r = label - prediction of the
version judged are standardized by that version's own expected error, z = r / sigma,
and the two one-sided sums of the **mean**

    S+_t = max(0, S+_{t-1} + z_t - k)        S-_t = max(0, S-_{t-1} - z_t - k)

start at 0 and alarm while either is above ``h``. ``k`` is half the shift (in
standard deviations) the detector is tuned for; ``h`` sets the false-alarm rate.
For independent normal residuals, Siegmund's approximation gives the average run
length (rows until an alarm) of a one-sided sum whose residuals have mean ``shift``:

    ARL = (exp(-2 D b) + 2 D b - 1) / (2 D^2),   D = shift - k,  b = h + 1.166

(b^2 when D = 0), and for the two sums together 1/ARL = 1/ARL+ + 1/ARL-. With
k = 0.5 and h = 4 that is 168 rows between false alarms, and 8.4 rows to detect a
shift of one standard deviation (Montgomery's table 9.3 gives 168 and 8.38).

A third, one-sided sum watches the residuals' **spread**: a change of variance leaves
the mean at 0, so the two sums above see it only when large residuals happen to fall
on one side. It runs the same rule on Hawkins'
transform of each residual (Hawkins 1981; Hawkins & Olwell 1998, section 6.3),

    w_t = (sqrt(|z_t|) - 0.8222) / 0.3492

which for z ~ N(0, 1) has mean 0, standard deviation 1 and a nearly normal shape
(0.8222 = E sqrt|Z| = 2^(1/4) Gamma(3/4) / sqrt(pi), 0.3492^2 = E|Z| - 0.8222^2), so
Siegmund's ARL holds for it too: with k = 0.5 and h = 4, one false alarm in 338 rows
of the upper sum alone. A spread that doubles moves w by 2.355 (sqrt(2) - 1) = 0.98
sd, so k = 0.5 is tuned for a doubling, as for a 1-sd shift of the mean. Only the
upper sum counts: a spread that shrinks is no alarm. The three sums together give a
false alarm every 1 / (1/169 + 1/338) = 113 rows of an unchanged segment. The spread
sum is only as right as sigma: a backtest that underestimates the error by 20% is
read as a 20% rise.

Each change is dated where the alarming sum last left zero: the first row of the run
that crossed ``h``, so evidence for a retrain can count from the change, not from the
alarm.

Why these lines and not an engine: river's Page-Hinkley (used by ``detector:
page_hinkley``) compares each value with the running mean of the stream itself, with
a forgetting factor and no reference, and tells neither where the run began nor a
false-alarm rate; the CUSUM tests of statsmodels (``breaks_cusumolsresid``) are
retrospective tests of one regression's stability, not a sequential rule against a
known scale. The rule here needs the serving version's own sigma as the reference,
the dated start of the run and the stated ARL: a dozen lines, tested against
Montgomery's table and a simulation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SIEGMUND = 1.166  # the correction of Siegmund's approximation, for normal observations
ROOT_MEAN = 0.8222  # E sqrt|Z| for a standard normal Z
ROOT_SD = 0.3492  # the standard deviation of sqrt|Z|


@dataclass(frozen=True)
class Cusum:
    statistic: float  # the larger sum after the last row
    side: str  # "up" (labels above predictions), "down", or "" when every sum is 0
    start: int | None  # index of the row where the larger sum's run began
    alarm: bool  # statistic above h
    first_alarm: int | None  # index of the first row whose sums crossed h, if any did


def _upper(values: np.ndarray, k: float, h: float) -> tuple[float, int, int | None]:
    """One upper sum: its last value, the row its run began, the row it first crossed h."""
    total, start, first = 0.0, 0, None
    for index, value in enumerate(values):
        total = max(0.0, total + value - k)
        if total == 0:
            start = index + 1
        if first is None and total > h:
            first = index
    return total, start, first


def cusum(z, k: float, h: float) -> Cusum:
    """The two-sided CUSUM of the mean of standardized residuals ``z`` (in time order)."""
    z = np.asarray(z, dtype=float)
    up, up_start, up_first = _upper(z, k, h)
    down, down_start, down_first = _upper(-z, k, h)
    firsts = [f for f in (up_first, down_first) if f is not None]
    statistic = max(up, down)
    side = "" if statistic == 0 else ("up" if up >= down else "down")
    start = {"up": up_start, "down": down_start}.get(side)
    return Cusum(statistic, side, start, statistic > h, min(firsts) if firsts else None)


def spread_scores(z) -> np.ndarray:
    """Hawkins' transform: about N(0, 1) while z is, larger when its spread rises."""
    return (np.sqrt(np.abs(np.asarray(z, dtype=float))) - ROOT_MEAN) / ROOT_SD


def spread_cusum(z, k: float, h: float) -> Cusum:
    """The upper CUSUM of ``spread_scores(z)``: does the residuals' spread rise?"""
    total, start, first = _upper(spread_scores(z), k, h)
    return Cusum(total, "up" if total else "", start if total else None, total > h, first)


def average_run_length(k: float, h: float, shift: float = 0.0, *, sides: int = 2) -> float:
    """Expected rows until the CUSUM alarms, residual mean ``shift`` (Siegmund): of the
    two sums of the mean (``sides=2``) or of one upper sum (``sides=1``)."""

    def one_sided(drift: float) -> float:
        b = h + SIEGMUND
        if abs(drift) < 1e-12:
            return b * b
        exponent = -2 * drift * b
        if exponent > 700:
            return math.inf
        return (math.exp(exponent) + 2 * drift * b - 1) / (2 * drift * drift)

    if sides == 1:
        return one_sided(shift - k)
    return 1 / (1 / one_sided(shift - k) + 1 / one_sided(-shift - k))


def false_alarm_every(k: float, h: float) -> float:
    """Rows between false alarms of the mean's two sums and the spread's one together."""
    return 1 / (1 / average_run_length(k, h) + 1 / average_run_length(k, h, sides=1))


def residual_scale(metrics: dict[str, float] | None) -> tuple[float | None, str]:
    """The standard deviation of a version's residuals from its logged test error:
    its rmse, or its mae x sqrt(pi/2) (the ratio for normal errors)."""
    metrics = metrics or {}
    rmse, mae = metrics.get("rmse"), metrics.get("mae")
    if rmse is not None and math.isfinite(rmse) and rmse > 0:
        return float(rmse), f"its backtest rmse {rmse:.4g}"
    if mae is not None and math.isfinite(mae) and mae > 0:
        return float(mae) * math.sqrt(math.pi / 2), f"its backtest mae {mae:.4g} × √(π/2)"
    return None, "the serving version logged no backtest rmse or mae"


def cusum_outcome(monitor, segment: str, rows, version, where: str):
    """The CUSUM verdict on one segment's labelled rows of the ``version`` serving it."""
    from loopml.monitoring.performance import labelled_rows
    from loopml.monitoring.service import Outcome

    spec = monitor.spec
    joined = labelled_rows(rows).sort_by("event_time")
    sigma, basis = residual_scale(version.metrics if version is not None else None)
    details = {
        "labelled": joined.num_rows,
        "k": spec.cusum_k,
        "h": spec.cusum_h,
        "scale": sigma,
        "scale_basis": basis,
        "version": version.version if version is not None else None,
        "false_alarm_every": false_alarm_every(spec.cusum_k, spec.cusum_h),
    }
    if joined.num_rows < spec.min_rows or sigma is None:
        why = (
            basis
            if sigma is None
            else f"{joined.num_rows} labelled rows, fewer than {spec.min_rows}"
        )
        return Outcome(
            segment,
            "no_data",
            None,
            rows.num_rows,
            f"{spec.name} on {where}: {why}",
            details,
            spec.cusum_h,
        )
    residuals = joined["label"].to_numpy(zero_copy_only=False).astype(float) - joined[
        "prediction"
    ].to_numpy(zero_copy_only=False).astype(float)
    z, times = residuals / sigma, joined["event_time"].to_pylist()
    mean = cusum(z, spec.cusum_k, spec.cusum_h)
    spread = spread_cusum(z, spec.cusum_k, spec.cusum_h)
    details |= {
        "side": mean.side,
        **_dated(mean, times),
        "spread": _dated(spread, times)
        | {"statistic": spread.statistic, "ratio": _ratio(z, spread)},
    }
    # The change a policy counts its evidence from: the mean's when it alarms (a moved
    # mean also widens |z|), else the spread's.
    cause = "mean" if mean.alarm else "spread" if spread.alarm else ""
    if cause == "spread":
        details |= _dated(spread, times)
    details["cause"] = cause
    statistic = max(mean.statistic, spread.statistic)
    message = (
        f"{spec.name} on {where}: CUSUM {statistic:.3g} of residuals / {sigma:.4g} "
        f"({basis}){_because(cause, mean, details)} is "
        f"{'above' if cause else 'within'} h {spec.cusum_h:g} (k {spec.cusum_k:g}: a false "
        f"alarm every {details['false_alarm_every']:.0f} rows)"
    )
    return Outcome(
        segment,
        "alert" if cause else "ok",
        statistic,
        rows.num_rows,
        message,
        details,
        spec.cusum_h,
    )


def _dated(found: Cusum, times: list) -> dict:
    """Where the sum's run began, in event time, and how many rows came since."""
    began = times[found.start] if found.start is not None and found.start < len(times) else None
    return {
        "change_at": began.isoformat() if began else None,
        "rows_since_change": len(times) - found.start if began else 0,
    }


def _ratio(z: np.ndarray, spread: Cusum) -> float | None:
    """The residuals' rms since the spread's run began, over the reference sigma."""
    if spread.start is None or spread.start >= len(z):
        return None
    return float(np.sqrt(np.mean(z[spread.start :] ** 2)))


def _because(cause: str, mean: Cusum, details: dict) -> str:
    if cause == "mean":
        return f", since {details['change_at'][:10]} ({mean.side})"
    if cause == "spread":
        spread = details["spread"]
        return (
            f": the error's spread rose by {spread['ratio'] - 1:.0%} since "
            f"{spread['change_at'][:10]} (rms of the {spread['rows_since_change']} residuals "
            "since then against sigma)"
        )
    return ""


MAE_EFFICIENCY = 0.876  # an sd from the mean absolute error, for normal errors: 88% of n's df


def scale_df(metrics: dict[str, float] | None) -> float | None:
    """The degrees of freedom of ``residual_scale``'s sigma: its ``test_rows`` (for an rmse;
    88% of them for an mae, the efficiency of the mean absolute deviation), or None when
    the version logged no count (sigma is then taken as known)."""
    metrics = metrics or {}
    rows = metrics.get("test_rows")
    if rows is None or not math.isfinite(rows) or rows < 2:
        return None
    rmse = metrics.get("rmse")
    return (
        float(rows)
        if rmse is not None and math.isfinite(rmse) and rmse > 0
        else (MAE_EFFICIENCY * float(rows))
    )


@dataclass(frozen=True)
class Confirmation:
    verdict: str  # yes (the rows since the alarm confirm it), no, wait
    rows: int
    needed: int
    cause: str  # mean or spread
    statistic: float  # t (mean) or F (spread)
    p_value: float
    df: float | None  # of sigma; None: sigma taken as known

    def describe(self) -> str:
        if self.verdict == "wait":
            return f"{self.rows} of {self.needed} labelled rows since the alarm to confirm it"
        law = (
            ("t", f"t({self.df:.3g})" if self.df else "normal")
            if self.cause == "mean"
            else ("F", f"F({self.rows}, {self.df:.3g})" if self.df else f"chi-square({self.rows})")
        )
        what = "mean" if self.cause == "mean" else "spread"
        return (
            f"the {self.rows} labelled rows since the alarm {'confirm' if self.verdict == 'yes' else 'do not confirm'} "
            f"a change of the residuals' {what}: {law[0]} = {self.statistic:.3g} against {law[1]}, "
            f"p = {self.p_value:.3g}"
        )


def confirmation(z, cause: str, side: str, *, confidence: float, needed: int, df) -> Confirmation:
    """Do the first ``needed`` residuals labelled after an alarm (rows the CUSUM had not
    seen when it raised it), standardized by the same sigma, confirm its change?

    A one-sided test at ``confidence`` on those rows alone, exact for normal residuals
    with sigma estimated on ``df`` degrees of freedom independent of them: for a mean
    alarm, t = mean(z) sqrt(m) (sign of the alarm's side) against t(df); for a spread
    alarm, F = mean(z^2) against F(m, df). With ``df`` None, sigma is taken as known
    (normal, chi-square(m) / m). The rows that made the alarm are no second opinion: a
    run that crossed h has a mean above k + h / n, so any test on it agrees."""
    from scipy import stats

    z = np.asarray(z, dtype=float)[:needed]
    m = len(z)
    if m < needed or m == 0:
        return Confirmation("wait", m, needed, cause, math.nan, math.nan, df)
    if cause == "mean":
        statistic = float(np.mean(z) * math.sqrt(m)) * (-1 if side == "down" else 1)
        p = float(stats.t.sf(statistic, df) if df else stats.norm.sf(statistic))
    else:
        statistic = float(np.mean(z * z))
        p = float(stats.f.sf(statistic, m, df) if df else stats.chi2.sf(statistic * m, m))
    verdict = "yes" if p < 1 - confidence else "no"
    return Confirmation(verdict, m, needed, cause, statistic, p, df)
