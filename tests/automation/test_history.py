"""The history a retrain learns from: training rows, then the traffic after them, windowed."""

from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from loopml.automation.history import PERIOD, Training, gather, weights, window
from loopml.pipeline.policy import PolicySpec


def _policy(**fields) -> PolicySpec:
    return PolicySpec(name="p", model="m", triggers=[{"when": "schedule", "every": "1d"}], **fields)


def _history():
    months = pd.date_range("2025-01-01", periods=12, freq="MS")
    training = Training(
        pd.DataFrame({"date": months, "x": np.arange(12.0), "units": 10.0}), "units", "date", "dv1"
    )
    traffic = pd.DataFrame(
        {
            "x": [11.0, 12.0, 13.0, 14.0],
            "label": [99.0, 20.0, 21.0, 22.0],
            # the first row repeats the last training month: it is not counted twice
            "time": pd.to_datetime(
                ["2025-12-01", "2026-01-01", "2026-02-01", "2026-03-01"], utc=True
            ),
        }
    )
    return gather(training, traffic, ["x"])


def test_the_traffic_after_the_training_rows_extends_them_in_time_order():
    past = _history()
    assert (past.training_rows, past.traffic_rows) == (12, 3)
    assert past.frame[PERIOD].tolist() == list(range(15))
    assert past.frame["label"].tolist()[-4:] == [10.0, 20.0, 21.0, 22.0]
    dataset = past.as_dataset({"store": "north"})
    assert list(dataset.columns) == ["store", "x", "units", "date"] and len(dataset) == 15


def test_the_window_all_last_n_periods_or_since_the_change():
    frame = _history().frame
    assert len(window(frame, 15, _policy())) == 15
    assert window(frame, 15, _policy(history=4))[PERIOD].tolist() == [11, 12, 13, 14]
    since = datetime(2026, 1, 15, tzinfo=timezone.utc)
    assert len(window(frame, 15, _policy(history="since_change"), since)) == 2
    assert len(window(frame, 13, _policy())) == 13  # a backtest origin sees only the past


def test_recency_weights_halve_every_half_life():
    frame = _history().frame
    found = weights(frame, 15, 3.0)
    assert found[-1] == 1.0 and found[-4] == pytest.approx(0.5) and found[-7] == pytest.approx(0.25)
    assert weights(frame, 15, None) is None
