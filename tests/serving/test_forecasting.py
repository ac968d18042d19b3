"""Forecasts of the next periods from a segment's history, with training's own features,
on matplotlib's monthly stock panel (1990-2022, ships inside matplotlib)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml
from tests.servers import serving

import loopml
from loopml.pipeline.features import add_forecast_features, forecast_feature_names
from loopml.pipeline.project import load_project
from loopml.serving.forecasting import Recipe, forecast_features

SRC = str(Path(__file__).resolve().parents[2] / "src")
TICKERS = ["IBM", "AAPL", "MSFT", "XRX"]
FORECAST = {"horizon": 1, "lags": [1, 2, 12], "rolling": [3], "backtest_periods": 12}


def stock_panel() -> pd.DataFrame:
    """Month-start closing prices of four stocks, long: date, ticker, price."""
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "Stocks.csv"
    wide = pd.read_csv(path, comment="#", parse_dates=["Date"])
    wide = wide[wide["Date"].dt.day == 1].dropna(subset=TICKERS)
    long = wide.melt("Date", TICKERS, var_name="ticker", value_name="price")
    return long.rename(columns={"Date": "date"}).sort_values(["ticker", "date"])


@pytest.fixture
def stocks(sqlite_ctx, tmp_path):
    panel = stock_panel()
    train = panel[panel["date"] < "2006-01-01"]
    train.to_csv(tmp_path / "stocks.csv", index=False)
    settings = {
        "name": "stocks",
        "data": {"path": "stocks.csv", "time": "date"},
        "target": "price",
        "segment_by": ["ticker"],
        "task": "forecast",
        "model": "ridge",
        "forecast": FORECAST,
        "execution": {"max_workers": 1},
    }
    (tmp_path / "loopml.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    result = loopml.Pipeline(tmp_path / "loopml.yaml").run()
    assert {o.status for o in result.segments} == {"trained"}
    return panel, train, tmp_path


def test_serving_builds_the_features_training_built(stocks):
    panel, _, folder = stocks
    recipe = Recipe.from_project(load_project(folder / "loopml.yaml"))
    ibm = panel[panel["ticker"] == "IBM"].reset_index(drop=True)
    names = forecast_feature_names({**FORECAST, "calendar": True})
    trained = add_forecast_features(ibm, "price", "date", {**FORECAST, "calendar": True})
    for month in ("2006-01-01", "2008-10-01", "2015-06-01"):
        known = ibm[ibm["date"] < month][["date", "price"]]
        block = pd.DataFrame({"date": [pd.Timestamp(month)], "ticker": ["IBM"]})
        served = forecast_features(recipe, known, block)
        expected = trained[trained["date"] == month][names].reset_index(drop=True)
        pd.testing.assert_frame_equal(served[names], expected, check_dtype=False)


def test_a_batch_forecast_gives_each_segment_its_next_months(stocks):
    panel, train, folder = stocks
    frame = loopml.forecast_batch("stocks", train, periods=6, project=folder / "loopml.yaml")
    assert sorted(frame["segment"].unique()) == [f"ticker={t}" for t in sorted(TICKERS)]
    months = pd.date_range("2006-01-01", periods=6, freq="MS", tz="UTC")
    for _, part in frame.groupby("segment"):
        assert list(part["date"]) == list(months)
    # One month ahead the forecast is the champion on training's features of that month.
    first = frame[frame["date"] == months[0]].set_index("segment")["prediction"]
    actual = panel[panel["date"] == "2006-01-01"].set_index("ticker")["price"]
    last = train[train["date"] == train["date"].max()].set_index("ticker")["price"]
    for ticker in TICKERS:
        model = loopml.load_model("models:/stocks@champion", segment={"ticker": ticker})
        rows = add_forecast_features(
            panel[panel["ticker"] == ticker], "price", "date", {**FORECAST, "calendar": True}
        )
        row = rows[rows["date"] == "2006-01-01"]
        assert first[f"ticker={ticker}"] == pytest.approx(float(model.predict(row)[0]))
        # a user's check: a month ahead, within a fifth of the price (these are real prices)
        assert abs(first[f"ticker={ticker}"] - actual[ticker]) < 0.2 * last[ticker]


def test_the_server_forecasts_from_history_it_is_given_and_from_feedback(stocks, tmp_path):
    panel, train, folder = stocks
    from loopml._context import get_context

    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    settings = get_context().settings
    env.update(
        LOOPML_STORE_URL=settings.store_url,
        LOOPML_HOME=str(settings.home),
        PYTHONPATH=os.pathsep.join([SRC, env.get("PYTHONPATH", "")]),
    )
    recent = train[train["date"] >= "2004-01-01"].assign(
        date=lambda f: f["date"].dt.strftime("%Y-%m-%dT00:00:00Z")
    )
    with serving(env, folder) as base, httpx.Client(base_url=base, timeout=60) as client:
        given = client.post(
            "/v1/models/stocks/history", json={"records": recent.to_dict("records")}
        )
        assert given.json() == {"rows": len(recent), "segments": 4}
        one = client.post(
            "/v1/models/stocks/forecast", json={"segment": {"ticker": "IBM"}, "periods": 3}
        )
        assert one.status_code == 200, one.text
        rows = one.json()["forecasts"]
        assert [r["event_time"][:10] for r in rows] == ["2006-01-01", "2006-02-01", "2006-03-01"]
        assert "recursive" in one.json()["method"]
        everyone = client.post("/v1/models/stocks/forecast", json={"periods": 2}).json()
        assert len(everyone["forecasts"]) == 8
        # January's observed price comes as feedback: the next forecast starts in February.
        january = panel[(panel["ticker"] == "IBM") & (panel["date"] == "2006-01-01")][
            "price"
        ].item()
        sent = client.post(
            "/v1/feedback",
            json={
                "feedback": [
                    {
                        "prediction_id": rows[0]["prediction_id"],
                        "label": january,
                        "event_time": "2006-02-01T00:00:00Z",
                    }
                ]
            },
        )
        assert sent.json()["accepted"] == 1
        after = client.post(
            "/v1/models/stocks/forecast", json={"segment": {"ticker": "IBM"}, "periods": 1}
        )
        assert after.json()["forecasts"][0]["event_time"][:10] == "2006-02-01"
        missing = client.post(
            "/v1/models/stocks/forecast", json={"segment": {"ticker": "DELL"}, "periods": 1}
        )
        assert missing.status_code == 404 and "history" in missing.json()["error"]["hint"]
        wrong = client.post("/v1/models/other/forecast", json={"periods": 1})
        assert wrong.status_code == 404
        too_many = client.post("/v1/models/stocks/forecast", json={"periods": 0})
        assert too_many.status_code == 422
    logged = loopml.read_predictions(settings.resolved_artifact_uri, "stocks")
    assert "2006-03-01" in {t.strftime("%Y-%m-%d") for t in logged["event_time"].to_pylist()}
    assert np.isfinite(logged["prediction"].to_numpy()).all()


def test_the_command_line_forecasts_a_file_of_history(stocks, capsys):
    from loopml.cli import main

    _, train, folder = stocks
    history, output = folder / "recent.csv", folder / "forecast.csv"
    train[train["date"] >= "2003-01-01"].to_csv(history, index=False)
    main(
        [
            "forecast",
            "stocks",
            "--history",
            str(history),
            "--periods",
            "2",
            "--segment",
            "ticker=IBM",
            "--output",
            str(output),
            "--project",
            str(folder / "loopml.yaml"),
        ]
    )
    written = pd.read_csv(output)
    assert list(written["segment"]) == ["ticker=IBM", "ticker=IBM"]
    assert list(written["date"].str[:10]) == ["2006-01-01", "2006-02-01"]
    assert "2 period(s) of 1 segment(s)" in capsys.readouterr().out


def test_bad_history_and_periods_are_refused_with_what_to_send(stocks):
    from loopml.errors import InvalidInput
    from loopml.serving.forecasting import History, forecast

    _, train, folder = stocks
    recipe = Recipe.from_project(load_project(folder / "loopml.yaml"))
    history = History(recipe)
    with pytest.raises(InvalidInput, match="ISO 8601 times in date"):
        history.add(pd.DataFrame({"date": ["soon"], "ticker": ["IBM"], "price": [1.0]}))
    with pytest.raises(InvalidInput, match="lack price"):
        history.add(pd.DataFrame({"date": ["2006-01-01T00:00:00Z"], "ticker": ["IBM"]}))
    history.add(train[train["ticker"] == "IBM"].tail(14))
    keys, known = history.segment("ticker=IBM")

    def score(rows):
        return np.zeros(len(rows))

    with pytest.raises(InvalidInput, match="not a period"):
        forecast(recipe, known, 2, score, keys=keys, freq="fortnightly-ish")
    with pytest.raises(InvalidInput, match="too short"):
        forecast(recipe, known.tail(5), 2, score, keys=keys, freq="MS")
    uneven = known.drop(index=[3, 7])
    with pytest.raises(InvalidInput, match="not evenly spaced"):
        forecast(recipe, uneven, 2, score, keys=keys)


def test_a_retrain_rebuilds_the_forecasts_lags_from_its_stored_training_rows(stocks, sqlite_ctx):
    """The dataset `loopml run` stores holds prices, not lags: the loop rebuilds them with
    the recipe the training run recorded, so a retrain learns from the training rows too."""
    from loopml.automation import history

    _, train, _ = stocks
    context = sqlite_ctx
    champion = loopml.get_model_version("stocks", alias="champion", segment={"ticker": "IBM"})
    names = forecast_feature_names({**FORECAST, "calendar": True})
    found = history.training_of(context.store, context.artifacts, champion, names)
    assert found is not None and found.target == "price" and found.time == "date"
    ibm = train[train["ticker"] == "IBM"]
    expected = add_forecast_features(ibm, "price", "date", {**FORECAST, "calendar": True})
    assert len(found.rows) == len(expected) == len(ibm) - 12  # a year of lags to start
    pd.testing.assert_frame_equal(
        found.rows[names].reset_index(drop=True),
        expected[names].reset_index(drop=True),
        check_dtype=False,
    )
