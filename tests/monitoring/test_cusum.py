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
from sklearn.linear_model import LinearRegression

import loopml
from loopml import FeedbackLog, PredictionLog
from loopml.monitoring.cusum import average_run_length, cusum, residual_scale
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


def sp500_returns() -> pd.Series:
    """Month-start log returns of the S&P 500 in matplotlib's bundled sample data."""
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "Stocks.csv"
    prices = pd.read_csv(path, comment="#", parse_dates=["Date"]).sort_values("Date")
    prices = prices[(prices["Date"].dt.day == 1) & (prices["Date"] < "2012-01-01")]
    returns = np.log(prices.set_index("Date")["^GSPC"]).diff().dropna()
    return returns.tz_localize("UTC")


def test_a_monitor_finds_the_2008_crash_in_real_returns_and_no_change_before(ctx):
    """A model of the S&P 500's monthly returns (last month's return as the feature),
    trained on the 1990s and backtested on 2000-2003, served from 2004 with each month's
    return as its label: 2004-2007 stays within h; 2008 alarms, low side, with the change
    dated after the index's peak of October 2007."""
    returns = sp500_returns()
    frame = pd.DataFrame({"lag_1": returns.shift(1), "y": returns}).dropna()
    fit, test = frame[frame.index < "2000-01-01"], frame[frame.index < "2004-01-01"]
    test = test[test.index >= "2000-01-01"]
    model = LinearRegression().fit(fit[["lag_1"]], fit["y"])
    rmse = float(np.sqrt(np.mean((model.predict(test[["lag_1"]]) - test["y"]) ** 2)))
    version = loopml.log_model(
        model, "sp500", input_example=fit[["lag_1"]].head(3), metrics={"rmse": rmse}
    )
    loopml.set_alias("sp500", "champion", version.version)
    live = frame[frame.index >= "2004-01-01"]
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
                    "model": "sp500",
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
        name="sp500-cusum",
        model="sp500",
        kind="error_drift",
        detector="cusum",
        window="3000d",
        min_rows=12,
    )
    before = loopml.run_monitors(now=datetime(2007, 12, 15, tzinfo=timezone.utc), force=True)
    [calm] = before.outcomes["sp500-cusum"]
    assert calm.status == "ok" and calm.value < 4.0 and calm.details["labelled"] == 48
    after = loopml.run_monitors(now=datetime(2009, 1, 2, tzinfo=timezone.utc), force=True)
    [crash] = after.outcomes["sp500-cusum"]
    assert crash.status == "alert" and crash.details["side"] == "down"
    # dated from the turn after the index's peak of October 2007, before Lehman's fall
    assert "2007-10-01" <= crash.details["change_at"] < "2008-09-01"
    assert f"its backtest rmse {rmse:.4g}" in crash.message and "every 169 rows" in crash.message
    [alert] = loopml.list_alerts(state="active", monitor="sp500-cusum")
    assert alert.threshold == 4.0
