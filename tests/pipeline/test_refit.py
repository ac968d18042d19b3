"""A champion chosen by its backtest is refit on every row before it is registered."""

import numpy as np
import pandas as pd
from tests.pipeline.conftest import write_project

import loopml


def _trend_then_jump(tmp_path) -> None:
    """One segment whose last 10 days sit 50 above the noisy line of the first 50."""
    dates = pd.date_range("2026-01-05", periods=60, freq="D")
    day = np.arange(60)
    noise = np.random.default_rng(0).normal(0, 8, 60)  # a leak check refuses a perfect line
    demand = 0.5 * day + np.where(day >= 50, 50.0, 0.0) + noise
    pd.DataFrame(
        {
            "date": dates,
            "store": "north",
            "product": "rice",
            "x": day.astype(float),
            "demand": demand,
        }
    ).to_csv(tmp_path / "sales.csv", index=False)


def _champion_at(day: float) -> float:
    model = loopml.load_model(
        "models:/demand@champion", segment={"store": "north", "product": "rice"}
    )
    return float(model.predict(pd.DataFrame({"x": [day]}))[0])


def _project(tmp_path, **split):
    return write_project(
        tmp_path,
        model={"estimator": "sklearn.linear_model.LinearRegression"},
        features=["x"],
        split={"method": "time", "test_size": 10 / 60, "min_rows": 20, **split},
    )


def test_the_registered_model_has_learned_the_test_rows(sqlite_ctx, tmp_path):
    _trend_then_jump(tmp_path)
    loopml.Pipeline.from_file(_project(tmp_path)).run()
    [version] = loopml.list_model_versions("demand")
    assert version.metrics["mae"] > 40  # scored as trained on the first 50 days
    everything = pd.read_csv(tmp_path / "sales.csv")
    fitted = np.polyfit(everything["x"], everything["demand"], 1)
    assert np.isclose(_champion_at(59), np.polyval(fitted, 59))


def test_refit_false_registers_the_model_that_was_scored(sqlite_ctx, tmp_path):
    _trend_then_jump(tmp_path)
    loopml.Pipeline.from_file(_project(tmp_path, refit=False)).run()
    first = pd.read_csv(tmp_path / "sales.csv").head(50)
    fitted = np.polyfit(first["x"], first["demand"], 1)  # the line of the first 50 days only
    assert np.isclose(_champion_at(59), np.polyval(fitted, 59))
