"""CUSUM on standardized residuals: a change detector for series with one label a period.

A window's mean error of a few rows is too noisy to show a shift of a couple of
standard deviations quickly without false alarms; a CUSUM accumulates the evidence
row by row instead (Page 1954; the tabular form of Montgomery's *Introduction to
Statistical Quality Control*, ch. 9). The residuals r = label - prediction of the
version judged are standardized by that version's own expected error, z = r / sigma,
and the two one-sided sums

    S+_t = max(0, S+_{t-1} + z_t - k)        S-_t = max(0, S-_{t-1} - z_t - k)

start at 0 and alarm while either is above ``h``. ``k`` is half the shift (in
standard deviations) the detector is tuned for; ``h`` sets the false-alarm rate.
For independent normal residuals, Siegmund's approximation gives the average run
length (rows until an alarm) of a one-sided sum whose residuals have mean ``shift``:

    ARL = (exp(-2 D b) + 2 D b - 1) / (2 D^2),   D = shift - k,  b = h + 1.166

(b^2 when D = 0), and for the two sums together 1/ARL = 1/ARL+ + 1/ARL-. With
k = 0.5 and h = 4 that is 168 rows between false alarms, and 8.4 rows to detect a
shift of one standard deviation (Montgomery's table 9.3 gives 168 and 8.38).

The change is dated where the alarming sum last left zero: the first row of the run
that crossed ``h``, so evidence for a retrain can count from the change, not from the
alarm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SIEGMUND = 1.166  # the correction of Siegmund's approximation, for normal observations


@dataclass(frozen=True)
class Cusum:
    statistic: float  # the larger of the two sums after the last row
    side: str  # "up" (labels above predictions), "down", or "" when both are 0
    start: int | None  # index of the row where the larger sum's run began
    alarm: bool  # statistic above h
    first_alarm: int | None  # index of the first row whose sums crossed h, if any did


def cusum(z, k: float, h: float) -> Cusum:
    """The two-sided CUSUM of standardized residuals ``z`` (in time order)."""
    up = down = 0.0
    up_start = down_start = 0
    first = None
    for index, value in enumerate(np.asarray(z, dtype=float)):
        up, down = max(0.0, up + value - k), max(0.0, down - value - k)
        if up == 0:
            up_start = index + 1
        if down == 0:
            down_start = index + 1
        if first is None and max(up, down) > h:
            first = index
    statistic = max(up, down)
    side = "" if statistic == 0 else ("up" if up >= down else "down")
    start = {"up": up_start, "down": down_start}.get(side)
    return Cusum(statistic, side, start, statistic > h, first)


def average_run_length(k: float, h: float, shift: float = 0.0) -> float:
    """Expected rows until the two-sided CUSUM alarms, residual mean ``shift`` (Siegmund)."""

    def one_sided(drift: float) -> float:
        b = h + SIEGMUND
        if abs(drift) < 1e-12:
            return b * b
        exponent = -2 * drift * b
        if exponent > 700:
            return math.inf
        return (math.exp(exponent) + 2 * drift * b - 1) / (2 * drift * drift)

    return 1 / (1 / one_sided(shift - k) + 1 / one_sided(-shift - k))


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
        "false_alarm_every": average_run_length(spec.cusum_k, spec.cusum_h),
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
    found = cusum(residuals / sigma, spec.cusum_k, spec.cusum_h)
    times = joined["event_time"].to_pylist()
    change_at = times[found.start] if found.start is not None and found.start < len(times) else None
    details |= {
        "side": found.side,
        "change_at": change_at.isoformat() if change_at else None,
        "rows_since_change": len(times) - found.start if change_at else 0,
    }
    since = f", since {change_at:%Y-%m-%d} ({found.side})" if change_at and found.alarm else ""
    relation = "above" if found.alarm else "within"
    message = (
        f"{spec.name} on {where}: CUSUM {found.statistic:.3g} of residuals / {sigma:.4g} "
        f"({basis}){since} is {relation} h {spec.cusum_h:g} (k {spec.cusum_k:g}: a false "
        f"alarm every {details['false_alarm_every']:.0f} rows)"
    )
    return Outcome(
        segment,
        "alert" if found.alarm else "ok",
        found.statistic,
        rows.num_rows,
        message,
        details,
        spec.cusum_h,
    )
