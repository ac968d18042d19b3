"""Features of one segment: the project's columns, plus for forecasts lags, rolling
means and calendar parts of the time column.

Every forecast feature of a row at time t uses only target values from t - horizon
or earlier, so nothing the model learns from was unknown when the forecast was made.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

CALENDAR = ("day_of_week", "day_of_month", "month", "week_of_year")


def base_features(
    columns: Iterable[str],
    target: str,
    time: str | None,
    segment_by: Sequence[str],
    sensitive: Sequence[str] = (),
) -> list[str]:
    """``features: all``: every column but the target, the time column, the segment keys and
    the sensitive attributes."""
    skip = {target, *segment_by, *sensitive} | ({time} if time else set())
    return [column for column in columns if column not in skip]


def forecast_feature_names(forecast: dict[str, Any]) -> list[str]:
    names = [f"lag_{lag}" for lag in forecast["lags"]]
    names += [f"rolling_mean_{window}" for window in forecast["rolling"]]
    return names + (list(CALENDAR) if forecast["calendar"] else [])


def add_forecast_features(
    frame: pd.DataFrame, target: str, time: str, forecast: dict[str, Any]
) -> pd.DataFrame:
    """The segment's rows in time order with lag, rolling and calendar columns; rows whose
    history is too short for every lag and window are dropped."""
    frame = frame.sort_values(time, kind="stable").reset_index(drop=True)
    history = frame[target].astype(float)
    horizon = forecast["horizon"]
    new: dict[str, pd.Series] = {}
    for lag in forecast["lags"]:
        new[f"lag_{lag}"] = history.shift(lag)
    known = history.shift(horizon)  # the newest value known when forecasting this row
    for window in forecast["rolling"]:
        new[f"rolling_mean_{window}"] = known.rolling(window, min_periods=window).mean()
    if forecast["calendar"]:
        stamps = frame[time].dt
        new["day_of_week"] = stamps.day_of_week
        new["day_of_month"] = stamps.day
        new["month"] = stamps.month
        new["week_of_year"] = stamps.isocalendar().week.astype("int64")
    out = frame.assign(**new)
    return out.dropna(subset=[c for c in new if c not in CALENDAR]).reset_index(drop=True)
