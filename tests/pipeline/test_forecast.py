"""Forecast features never look into the future; backtests score the last periods."""

import numpy as np
import pandas as pd
import pytest

from loopml.metrics import mae, mape, wape
from loopml.pipeline.features import add_forecast_features
from loopml.pipeline.split import split_positions

FORECAST = {"horizon": 2, "lags": [2, 3], "rolling": [3], "calendar": True, "backtest_periods": 5}


def series(days: int = 30) -> pd.DataFrame:
    dates = pd.date_range("2026-03-02", periods=days, freq="D")
    frame = pd.DataFrame({"date": dates, "units": np.arange(days, dtype=float) * 10})
    return frame.sample(frac=1, random_state=3)  # shuffled: order must come from the time


def test_lags_and_rolling_means_use_only_values_known_at_forecast_time():
    out = add_forecast_features(series(), "units", "date", FORECAST)
    day = (out["date"] - pd.Timestamp("2026-03-02")).dt.days.to_numpy()
    # units on day d is 10 * d: every feature must come from day d - horizon or earlier
    assert np.array_equal(out["lag_2"], 10.0 * (day - 2))
    assert np.array_equal(out["lag_3"], 10.0 * (day - 3))
    assert np.allclose(out["rolling_mean_3"], 10.0 * (day - 3))  # mean of d-2, d-3, d-4
    assert (out[["lag_2", "lag_3", "rolling_mean_3"]].to_numpy() < out[["units"]].to_numpy()).all()
    assert day[0] == 4  # rows without a full history are dropped, not filled


def test_calendar_features_come_from_the_time_column():
    out = add_forecast_features(series(), "units", "date", FORECAST)
    row = out[out["date"] == pd.Timestamp("2026-03-09")].iloc[0]
    assert (row["day_of_week"], row["day_of_month"], row["month"], row["week_of_year"]) == (
        0,
        9,
        3,
        11,
    )


def split_rows(frame, **how):
    train, test = split_positions(frame, **how)
    return frame.iloc[train], frame.iloc[test]


def test_the_backtest_holds_out_the_last_periods():
    frame = series(20)
    train, test = split_rows(
        frame, method="time", test_size=0.2, seed=0, time="date", backtest_periods=5
    )
    assert len(test) == 5 and train["date"].max() < test["date"].min()
    with pytest.raises(ValueError, match="too few"):
        split_rows(
            frame.head(4), method="time", test_size=0.2, seed=0, time="date", backtest_periods=5
        )


def test_time_split_holds_out_the_newest_rows_and_random_split_is_seeded():
    frame = series(20)
    train, test = split_rows(frame, method="time", test_size=0.25, seed=0, time="date")
    assert len(test) == 5 and train["date"].max() < test["date"].min()
    first = split_rows(frame, method="random", test_size=0.25, seed=1)[1].index
    assert first.equals(split_rows(frame, method="random", test_size=0.25, seed=1)[1].index)


def test_forecast_metrics():
    actual, predicted = np.array([10.0, 0.0, 30.0]), np.array([12.0, 1.0, 27.0])
    assert mae(actual, predicted) == pytest.approx(2.0)
    assert wape(actual, predicted) == pytest.approx(6 / 40)
    assert mape(actual, predicted) == pytest.approx((0.2 + 0.1) / 2)  # zero actuals left out
