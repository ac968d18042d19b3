"""``POST /v1/models/{name}/explain`` and ``loopml explain``: rows explained by the model
that answers them, each adding up to what ``/predict`` answers."""

from __future__ import annotations

import json

import lightgbm
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from tests.api.test_errors import assert_error_shape
from tests.cli.test_commands import run_cli, wide_terminal  # noqa: F401
from tests.explain.conftest import diabetes

import loopml


@pytest.fixture
def sexes(ctx):
    """load_diabetes split by its ``sex`` column into two segments, each with its champion:
    a LightGBM model for one, a ridge regression (explained against a background) for the other."""
    X, y = diabetes()
    frame = X.assign(group=np.where(X["sex"] > 0, "a", "b"))
    features = [c for c in X.columns if c != "sex"]
    models = {}
    for group, model in (
        ("a", lightgbm.LGBMRegressor(n_estimators=50, n_jobs=1, verbose=-1)),
        ("b", Ridge()),
    ):
        part = frame[frame["group"] == group]
        model.fit(part[features], y[part.index])
        version = loopml.log_model(
            model, "progress", input_example=part[features].head(), segment={"group": group}
        )
        loopml.set_alias("progress", "champion", version.version, segment={"group": group})
        loopml.explain_version("progress", version.version, part[features])
        models[group] = (model, version)
    return frame[[*features, "group"]], models


def test_each_row_is_explained_by_its_segments_champion(client, sexes):
    frame, _ = sexes
    rows = pd.concat([frame[frame["group"] == "a"].head(3), frame[frame["group"] == "b"].head(3)])
    body = {"records": rows.to_dict(orient="records")}

    answer = client.post("/v1/models/progress/explain", json=body)
    assert answer.status_code == 200, answer.text
    explained = answer.json()["explanations"]
    predicted = client.post("/v1/models/progress/predict", json=body).json()["predictions"]

    assert [e["segment"] for e in explained] == ["group=a"] * 3 + ["group=b"] * 3
    assert [e["version"] for e in explained] == [p["version"] for p in predicted]
    for row, prediction in zip(explained, predicted, strict=True):
        assert row["base_value"] + sum(row["contributions"].values()) == pytest.approx(
            prediction["prediction"], abs=1e-6
        )
        assert row["output"] == pytest.approx(prediction["prediction"], abs=1e-6)
        assert row["explains"] == "prediction"
    assert "lightgbm pred_contrib" in explained[0]["method"]
    assert "LinearExplainer" in explained[3]["method"]
    assert set(explained[0]["contributions"]) == set(frame.columns) - {"group"}


def test_bad_requests_get_a_4xx_that_names_the_problem(client, sexes):
    frame, _ = sexes
    record = frame.head(1).to_dict(orient="records")[0]
    missing = {k: v for k, v in record.items() if k != "bmi"}
    error = assert_error_shape(
        client.post("/v1/models/progress/explain", json={"records": [missing]}), 422
    )
    assert "bmi" in error["message"]
    unknown = {**record, "group": "z"}
    assert_error_shape(client.post("/v1/models/progress/explain", json={"records": [unknown]}), 404)
    assert_error_shape(client.post("/v1/models/nope/explain", json={"records": [record]}), 404)
    bad = client.post(
        "/v1/models/progress/explain",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert_error_shape(bad, 400)
    text = {**record, "bmi": "heavy"}
    assert_error_shape(client.post("/v1/models/progress/explain", json={"records": [text]}), 422)


def test_a_model_needing_a_background_it_lacks_answers_what_to_do(client, ctx):
    X, y = diabetes()
    loopml.log_model(Ridge().fit(X, y), "plain", input_example=X.head())
    loopml.set_alias("plain", "champion", 1)
    record = X.head(1).to_dict(orient="records")
    error = assert_error_shape(
        client.post("/v1/models/plain/explain", json={"records": record}), 422
    )
    assert "explain_version" in error.get("hint", "") + error["message"]


def test_the_cli_explains_a_file_routed_like_the_server(sexes, tmp_path, capsys):
    frame, models = sexes
    rows = pd.concat([frame[frame["group"] == "b"].head(2), frame[frame["group"] == "a"].head(2)])
    source, out = tmp_path / "rows.csv", tmp_path / "why.json"
    rows.to_csv(source, index=False)

    code, printed, _ = run_cli(
        capsys, "explain", "progress", "--input", str(source), "--output", str(out)
    )

    assert code == 0
    written = json.loads(out.read_text())["explanations"]
    assert [w["segment"] for w in written] == ["group=b", "group=b", "group=a", "group=a"]
    lightgbm_model = models["a"][0]
    features = [c for c in frame.columns if c != "group"]
    expected = lightgbm_model.predict(rows[features].tail(2))
    assert [w["output"] for w in written[2:]] == pytest.approx(expected, abs=1e-6)
    assert "group=a" in printed and "largest contributions" in printed


def test_the_cli_computes_and_shows_a_versions_global_explanation(ctx, tmp_path, capsys):
    X, y = diabetes()
    model = lightgbm.LGBMRegressor(n_estimators=50, n_jobs=1, verbose=-1).fit(X, y)
    loopml.log_model(model, "progress", input_example=X.head())
    X.to_parquet(tmp_path / "train.parquet")

    code, printed, _ = run_cli(
        capsys,
        "explain",
        "progress",
        "--version",
        "1",
        "--data",
        str(tmp_path / "train.parquet"),
        "--sample-rows",
        "300",
    )

    assert code == 0
    assert "on 300 rows" in printed
    importance = np.abs(model.predict(X.sample(300, random_state=0), pred_contrib=True)[:, :-1])
    assert printed.index(X.columns[importance.mean(axis=0).argmax()]) < printed.index("sex")


def test_the_cli_refuses_ambiguous_arguments(ctx, capsys):
    code, _, err = run_cli(capsys, "explain", "progress")
    assert code == 1 and "--input" in err
