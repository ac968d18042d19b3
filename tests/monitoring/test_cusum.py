"""CUSUM of standardized residuals: its false-alarm rate and delay against its stated
rule, the date it gives a change, and a monitor that watches a real series with it."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression

import loopml
from loopml import FeedbackLog, PredictionLog
from loopml.monitoring.cusum import (
    ROOT_MEAN,
    ROOT_SD,
    average_run_length,
    cusum,
    false_alarm_every,
    residual_scale,
    spread_cusum,
    spread_scores,
)
from loopml.monitoring.spec import MonitorSpec


def run_lengths(rng, shift: float, k: float, h: float, streams: int):
    """Rows until the first alarm of ``streams`` normal streams of mean ``shift``."""
    found = []
    for _ in range(streams):
        first = None
        for length in (1_000, 20_000):  # 1,000 rows hold an alarm 997 times in 1,000
            first = cusum(rng.normal(shift, 1.0, length), k, h).first_alarm
            if first is not None:
                break
        found.append(20_000 if first is None else first + 1)
    return np.array(found)


def test_the_stated_run_lengths_are_montgomerys_table():
    # Montgomery, Introduction to Statistical Quality Control, table 9.3 (k = 1/2, h = 4)
    for shift, table in [(0.0, 168), (0.5, 26.6), (1.0, 8.38), (2.0, 3.34)]:
        assert average_run_length(0.5, 4.0, shift) == pytest.approx(table, rel=0.04)
    assert average_run_length(0.5, 5.0) == pytest.approx(465, rel=0.02)


def test_false_alarms_come_as_rarely_as_the_rule_says():
    rng = np.random.default_rng(11)
    lengths = run_lengths(rng, 0.0, 0.5, 4.0, streams=1500)
    stated = average_run_length(0.5, 4.0)  # 169 rows between false alarms
    assert lengths.mean() == pytest.approx(stated, rel=0.1)  # standard error about 2.6%
    # the share of in-control rows that raise the first alarm is 1/ARL, about 0.6%
    assert len(lengths) / lengths.sum() < 0.0075


@pytest.mark.parametrize("shift", [1.0, 2.0])
def test_a_shift_is_found_as_fast_as_the_rule_says(shift):
    rng = np.random.default_rng(12)
    lengths = run_lengths(rng, shift, 0.5, 4.0, streams=1500)
    assert lengths.mean() == pytest.approx(average_run_length(0.5, 4.0, shift), rel=0.12)
    if shift == 2.0:  # two standard deviations: found on the third row or sooner 3 times in 5
        assert 0.5 < np.mean(lengths <= 3) < 0.8


def test_the_change_is_dated_where_the_run_began_and_the_side_is_named():
    rng = np.random.default_rng(13)
    z = np.concatenate([rng.normal(0, 1, 200), rng.normal(-2, 1, 20)])
    found = cusum(z, 0.5, 4.0)
    assert found.alarm and found.side == "down"
    assert 195 <= found.start <= 203  # (the calm rows may hold a false alarm: 1 in 169 rows)
    assert cusum(z[found.start :], 0.5, 4.0).first_alarm <= 10
    calm = cusum(rng.normal(0, 1, 100) * 0.1, 0.5, 4.0)  # small residuals never add up
    assert not calm.alarm and calm.statistic == 0 and calm.side == "" and calm.start is None


def test_the_scale_is_the_backtest_rmse_or_the_mae_of_normal_errors():
    assert residual_scale({"rmse": 2.0, "mae": 1.0}) == (2.0, "its backtest rmse 2")
    sigma, basis = residual_scale({"mae": 1.0})
    assert sigma == pytest.approx(math.sqrt(math.pi / 2)) and "√(π/2)" in basis
    rng = np.random.default_rng(14)
    errors = rng.normal(0, 3.0, 100_000)  # mean |e| x sqrt(pi/2) is the sd of normal errors
    assert residual_scale({"mae": np.mean(np.abs(errors))})[0] == pytest.approx(3.0, rel=0.01)
    assert residual_scale({"r2": 0.5})[0] is None


def test_cusum_is_for_regression_residuals():
    with pytest.raises(ValueError, match="regression residuals"):
        MonitorSpec(
            name="m", model="m", kind="error_drift", detector="cusum", task="classification"
        )


def monthly_returns(ticker: str = "^GSPC") -> pd.Series:
    """Month-start log returns of one series of matplotlib's bundled sample data."""
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "Stocks.csv"
    prices = pd.read_csv(path, comment="#", parse_dates=["Date"]).sort_values("Date")
    prices = prices[(prices["Date"].dt.day == 1) & (prices["Date"] < "2012-01-01")]
    returns = np.log(prices.set_index("Date")[ticker]).diff().dropna()
    return returns.tz_localize("UTC")


def serve_returns(ctx, name: str, returns: pd.Series, fit_end: str, test_end: str):
    """A model of monthly returns (last month's return as the feature), fitted before
    ``fit_end``, backtested until ``test_end`` and served from there with each month's
    return as its label, through the real prediction and feedback logs. Its backtest rmse."""
    frame = pd.DataFrame({"lag_1": returns.shift(1), "y": returns}).dropna()
    fit, test = frame[frame.index < fit_end], frame[frame.index < test_end]
    test = test[test.index >= fit_end]
    model = LinearRegression().fit(fit[["lag_1"]], fit["y"])
    rmse = float(np.sqrt(np.mean((model.predict(test[["lag_1"]]) - test["y"]) ** 2)))
    version = loopml.log_model(
        model, name, input_example=fit[["lag_1"]].head(3), metrics={"rmse": rmse}
    )
    loopml.set_alias(name, "champion", version.version)
    live = frame[frame.index >= test_end]
    root = ctx.settings.resolved_artifact_uri
    predictions, feedback = PredictionLog(root), FeedbackLog(root)
    for when, row, predicted in zip(
        live.index, live.itertuples(), model.predict(live[["lag_1"]]), strict=True
    ):
        pid = uuid.uuid4().hex
        predictions.append(
            [
                {
                    "prediction_id": pid,
                    "time": when,
                    "event_time": when,
                    "model": name,
                    "version": version.version,
                    "inputs": {"lag_1": row.lag_1},
                    "prediction": float(predicted),
                    "latency_ms": 1.0,
                }
            ]
        )
        feedback.append([{"prediction_id": pid, "label": row.y, "time": when}])
    predictions.close()
    feedback.close()
    loopml.create_monitor(
        name=f"{name}-cusum",
        model=name,
        kind="error_drift",
        detector="cusum",
        window="3000d",
        min_rows=12,
    )
    return rmse


def test_a_monitor_finds_the_2008_crash_in_real_returns_and_no_change_before(ctx):
    """A model of the S&P 500's monthly returns (last month's return as the feature),
    trained on the 1990s and backtested on 2000-2003, served from 2004 with each month's
    return as its label: 2004-2007 stays within h; 2008 alarms, low side, with the change
    dated after the index's peak of October 2007."""
    rmse = serve_returns(ctx, "sp500", monthly_returns(), "2000-01-01", "2004-01-01")
    before = loopml.run_monitors(now=datetime(2007, 12, 15, tzinfo=timezone.utc), force=True)
    [calm] = before.outcomes["sp500-cusum"]
    assert calm.status == "ok" and calm.value < 4.0 and calm.details["labelled"] == 48
    after = loopml.run_monitors(now=datetime(2009, 1, 2, tzinfo=timezone.utc), force=True)
    [crash] = after.outcomes["sp500-cusum"]
    assert crash.status == "alert" and crash.details["side"] == "down"
    # dated from the turn after the index's peak of October 2007, before Lehman's fall
    assert "2007-10-01" <= crash.details["change_at"] < "2008-09-01"
    assert f"its backtest rmse {rmse:.4g}" in crash.message and "every 113 rows" in crash.message
    [alert] = loopml.list_alerts(state="active", monitor="sp500-cusum")
    assert alert.threshold == 4.0


# the spread ---------------------------------------------------------------------------


def test_the_spread_scores_are_standard_normal_while_the_residuals_are():
    from scipy import special

    # E sqrt|Z| = 2^(1/4) Gamma(3/4) / sqrt(pi); its variance is E|Z| - (E sqrt|Z|)^2
    mean = 2**0.25 * special.gamma(0.75) / math.sqrt(math.pi)
    assert pytest.approx(mean, abs=1e-4) == ROOT_MEAN
    assert pytest.approx(math.sqrt(math.sqrt(2 / math.pi) - mean**2), abs=1e-4) == ROOT_SD
    w = spread_scores(np.random.default_rng(21).normal(0, 1, 200_000))
    assert abs(w.mean()) < 0.01 and w.std() == pytest.approx(1.0, abs=0.01)
    # a spread that doubles moves them by 2.355 (sqrt(2) - 1) = 0.98 sd: what k = 0.5 is for
    doubled = spread_scores(np.random.default_rng(22).normal(0, 2, 200_000))
    assert doubled.mean() == pytest.approx(0.975, abs=0.02)


def spread_run_lengths(rng, sd: float, streams: int) -> np.ndarray:
    found = []
    for _ in range(streams):
        first = None
        for length in (2_000, 40_000):
            first = spread_cusum(rng.normal(0, sd, length), 0.5, 4.0).first_alarm
            if first is not None:
                break
        found.append(40_000 if first is None else first + 1)
    return np.array(found)


def test_the_spread_sum_false_alarms_as_rarely_as_siegmund_says_and_finds_a_doubling():
    rng = np.random.default_rng(23)
    stated = average_run_length(0.5, 4.0, sides=1)  # 338 rows: the upper sum alone
    assert stated == pytest.approx(338, abs=1)
    assert spread_run_lengths(rng, 1.0, 1000).mean() == pytest.approx(stated, rel=0.1)
    # a doubled spread is found about as fast as a 1-sd shift of the mean (8.3 rows)
    doubled = spread_run_lengths(rng, 2.0, 1000).mean()
    assert 6.5 < doubled < average_run_length(0.5, 4.0, 1.0, sides=1)
    assert false_alarm_every(0.5, 4.0) == pytest.approx(1 / (1 / 169.0 + 1 / 338.0), rel=0.01)


def test_a_generated_spread_change_is_found_dated_and_unseen_by_the_mean():
    rng = np.random.default_rng(24)
    z = np.concatenate([rng.normal(0, 1, 150), rng.normal(0, 3, 15)])  # sd x3 from row 150
    spread = spread_cusum(z, 0.5, 4.0)
    assert spread.alarm and spread.side == "up" and abs(spread.start - 150) <= 4
    assert spread.first_alarm - 150 < 15  # (a 3x spread takes 3.5 rows on average)
    assert not cusum(z[:150], 0.5, 4.0).alarm and not spread_cusum(z[:150], 0.5, 4.0).alarm
    narrower = spread_cusum(rng.normal(0, 0.3, 200), 0.5, 4.0)  # a smaller spread is no alarm
    assert not narrower.alarm and narrower.statistic == 0 and narrower.start is None


def test_real_residuals_in_random_order_false_alarm_no_more_often_than_stated():
    """An unchanged series of real residuals: a linear model of diabetes progression
    (scikit-learn's bundled table) fitted on 300 patients, its residuals on the other
    142 drawn in random order, scaled by their rms. The mean's two sums and the spread's
    one together alarm no more often than the stated one false alarm in 113 rows."""
    X, y = load_diabetes(return_X_y=True)
    residuals = y[300:] - LinearRegression().fit(X[:300], y[:300]).predict(X[300:])
    z = residuals / np.sqrt(np.mean(residuals**2))
    rng = np.random.default_rng(25)
    lengths = []
    for _ in range(1000):
        for length in (1_000, 20_000):  # 1,000 rows hold an alarm 9,999 times in 10,000
            stream = rng.choice(z, length)
            sums = (cusum(stream, 0.5, 4.0), spread_cusum(stream, 0.5, 4.0))
            firsts = [s.first_alarm for s in sums if s.first_alarm is not None]
            if firsts:
                break
        lengths.append(min(firsts) + 1)
    stated = false_alarm_every(0.5, 4.0)
    assert np.mean(lengths) > 0.9 * stated  # (standard error about 3%)


def test_a_monitor_finds_the_nasdaqs_rising_spread_in_1996_before_its_mean_moved(sqlite_ctx):
    """The Nasdaq's monthly returns: a model fitted on 1990-1992, backtested on 1993-1994
    (rmse 3.4%), served from 1995. Its returns swung twice as wide from mid-1996 (the
    tech sell-off of July 1996, then the run-up of the bubble) while their mean stayed
    near the model's: the spread sum alarms by January 1997, dated from June 1996; the
    mean's sums stay within h."""
    rmse = serve_returns(sqlite_ctx, "nasdaq", monthly_returns("^IXIC"), "1993-01-01", "1995-01-01")
    calm = loopml.run_monitors(now=datetime(1996, 5, 15, tzinfo=timezone.utc), force=True)
    [before] = calm.outcomes["nasdaq-cusum"]
    assert before.status == "ok" and before.details["cause"] == ""
    later = loopml.run_monitors(now=datetime(1997, 1, 15, tzinfo=timezone.utc), force=True)
    [found] = later.outcomes["nasdaq-cusum"]
    assert found.status == "alert" and found.details["cause"] == "spread"
    spread = found.details["spread"]
    assert spread["change_at"] == found.details["change_at"] == "1996-06-01T00:00:00+00:00"
    assert spread["ratio"] > 1.3 and spread["statistic"] > 4.0
    assert f"the error's spread rose by {spread['ratio'] - 1:.0%} since 1996-06-01" in found.message
    assert f"its backtest rmse {rmse:.4g}" in found.message
    [alert] = loopml.list_alerts(state="active", monitor="nasdaq-cusum")
    assert alert.value == pytest.approx(spread["statistic"])
