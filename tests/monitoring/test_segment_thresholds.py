"""Performance thresholds that fit each segment: its own backtest, its own windows."""

import uuid
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression

import loopml
from loopml import FeedbackLog, PredictionLog
from loopml.monitoring.performance import threshold_for
from loopml.monitoring.spec import MonitorSpec

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
FEATURES = ["age", "bmi", "bp", "s5"]


def spec(**fields) -> MonitorSpec:
    base = dict(name="m", model="demand", kind="performance", metric="mae", per_segment=True)
    return MonitorSpec(**(base | fields))


def test_one_absolute_threshold_misjudges_a_noisy_and_a_stable_segment_its_own_windows_do_not():
    noisy = [20.0, 31.0, 12.0, 27.0, 18.0, 25.0]  # mean 22.2, sd 6.8
    stable = [1.0, 1.1, 0.9, 1.0, 1.05, 0.95]  # mean 1.0, sd 0.07
    own = spec(threshold_from="windows", sigmas=3)
    assert threshold_for(spec(threshold=5.0), None, noisy).value == 5.0  # 35 alerts, 2 does not
    assert threshold_for(own, None, noisy).value > 35  # a usual noisy window: no alert
    assert threshold_for(own, None, stable).value < 2.0  # the stable one's error doubled: alert
    assert threshold_for(own, None, stable).value == pytest.approx(
        np.mean(stable) + 3 * np.std(stable, ddof=1)
    )


def test_seasonal_windows_are_compared_with_the_same_season():
    # quarterly windows: every fourth one is the busy season with twice the error
    past = [10.0, 10.0, 10.0, 20.0] * 4  # newest first: the next window is a busy one
    plain = threshold_for(spec(threshold_from="windows"), None, past)
    seasonal = threshold_for(spec(threshold_from="windows", season=4), None, past)
    assert seasonal.value == pytest.approx(20.0) and "4 windows apart" in seasonal.basis
    assert plain.value > 25.0  # without seasons the spread is as wide for every window
    after_busy = [20.0, 10.0, 10.0, 10.0] * 4  # newest first: the next window is a quiet one
    quiet = threshold_for(spec(threshold_from="windows", season=4), None, after_busy)
    assert quiet.value == pytest.approx(10.0)  # a quiet quarter is held to the quiet ones


def test_too_few_windows_of_its_own_and_no_backtest_give_no_verdict():
    found = threshold_for(spec(threshold_from="windows"), None, [1.0, 2.0])
    assert found.value is None and "2 of 4 windows" in found.basis


def _serve(ctx, table: pd.DataFrame, shift: dict[str, float]) -> None:
    root = ctx.settings.resolved_artifact_uri
    predictions, feedback = PredictionLog(root), FeedbackLog(root)
    for segment, part in table.groupby("group"):
        version = loopml.get_model_version("demand", alias="champion", segment={"group": segment})
        model = loopml.load_model(f"models:/demand/{version.version}", segment={"group": segment})
        predicted = model.predict(part[FEATURES])
        for i, (row, p) in enumerate(zip(part.itertuples(), predicted, strict=True)):
            pid, when = uuid.uuid4().hex, NOW - timedelta(hours=10) + timedelta(minutes=i)
            predictions.append(
                [
                    {
                        "prediction_id": pid,
                        "time": when,
                        "model": "demand",
                        "version": version.version,
                        "segment": version.segment_key,
                        "inputs": {f: getattr(row, f) for f in FEATURES},
                        "prediction": p,
                        "latency_ms": 1.0,
                    }
                ]
            )
            feedback.append(
                [
                    {
                        "prediction_id": pid,
                        "label": row.target + shift.get(segment, 0.0),
                        "time": when + timedelta(minutes=5),
                    }
                ]
            )
    predictions.close()
    feedback.close()


def test_on_a_real_table_each_segment_is_judged_by_its_own_backtest(ctx):
    """Diabetes (scikit-learn's bundled table) in two segments by sex; one segment's
    outcome later moves up by 100 points (two thirds of its mean). Only that one alerts."""
    frame = load_diabetes(as_frame=True).frame
    frame["group"] = np.where(frame["sex"] > 0, "m", "f")
    served = []
    for segment, part in frame.groupby("group"):
        a, b = int(0.6 * len(part)), int(0.8 * len(part))
        train, test, later = part.iloc[:a], part.iloc[a:b], part.iloc[b:]
        model = LinearRegression().fit(train[FEATURES], train["target"])
        mae = float(np.mean(np.abs(model.predict(test[FEATURES]) - test["target"])))
        version = loopml.log_model(
            model,
            "demand",
            input_example=train[FEATURES].head(3),
            segment={"group": segment},
            metrics={"mae": mae},
        )
        loopml.set_alias("demand", "champion", version.version, segment={"group": segment})
        served.append(later)
    _serve(ctx, pd.concat(served), shift={"m": 100.0})
    loopml.create_monitor(
        spec(name="own", threshold_from="backtest", factor=1.5, window="1d", min_rows=20)
    )
    report = loopml.run_monitors(now=NOW, names=["own"])
    verdicts = {o.segment: o.status for o in report.outcomes["own"]}
    assert verdicts == {"group=f": "ok", "group=m": "alert"}
    [alert] = loopml.list_alerts(state="active", monitor="own")
    assert "1.5 × its backtest mae" in alert.message
