"""A version served through onnxruntime from its verified export, chosen per version."""

import threading
import time

import httpx
import lightgbm
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import loopml
from loopml import audit
from loopml.errors import InvalidInput


@pytest.fixture
def cancer(ctx):
    """A scaled logistic regression on scikit-learn's breast-cancer data, champion."""
    data = load_breast_cancer(as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(data.data, data.target)
    version = loopml.log_model(model, "cancer", input_example=data.data.head(5))
    loopml.set_alias("cancer", "champion", version.version)
    return model, data.data


def _answers(url: str, rows) -> list[dict]:
    body = {"records": rows.to_dict(orient="records")}
    response = httpx.post(f"{url}/v1/models/cancer/predict", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


def _until(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the server did not reload the version"
        time.sleep(0.05)


def test_a_running_server_switches_a_version_to_onnxruntime_and_back(ctx, cancer, live_server):
    model, X = cancer
    rows = X.sample(60, random_state=0)
    assert {a["runtime"] for a in _answers(live_server, rows)} == {"native"}

    failures: list[str] = []
    stop = threading.Event()

    def traffic():  # a steady client sees no failed request while the runtime changes
        with httpx.Client(timeout=10) as http:
            while not stop.is_set():
                answer = http.post(
                    f"{live_server}/v1/models/cancer/predict",
                    json={"records": rows.head(3).to_dict(orient="records")},
                )
                if answer.status_code != 200:
                    failures.append(answer.text)

    client = threading.Thread(target=traffic)
    client.start()
    try:
        version = loopml.set_runtime("cancer", 1, "onnx", sample=X)
        assert version.runtime == "onnx"
        _until(lambda: _answers(live_server, rows.head(1))[0]["runtime"] == "onnx")
        answers = _answers(live_server, rows)
        assert {a["runtime"] for a in answers} == {"onnx"}
        proba = np.array([a["proba"] for a in answers])
        np.testing.assert_allclose(proba, model.predict_proba(rows)[:, 1], atol=1e-4)
        # Labels follow the probability, as the native model's do.
        assert [a["prediction"] for a in answers] == model.predict(rows).tolist()

        loopml.set_runtime("cancer", 1, "native")
        _until(lambda: _answers(live_server, rows.head(1))[0]["runtime"] == "native")
    finally:
        stop.set()
        client.join()
    assert failures == []

    events = [e for e in audit.list_events(ctx.store) if e.action == "model.runtime"]
    assert [(e.before["runtime"], e.after["runtime"]) for e in events] == [
        ("onnx", "native"),
        ("native", "onnx"),
    ]
    assert events[1].after["max_difference"] <= 1e-4 and events[1].after["rows_checked"] == len(X)
    assert {e.actor for e in events} == {ctx.settings.actor}
    moves = loopml.list_model_versions("cancer")[0].aliases
    assert moves == ("champion",)  # the alias stays where it was; only how it scores changed


def test_the_versions_api_and_open_inference_metadata_name_the_runtime(ctx, cancer, app):
    from starlette.testclient import TestClient

    loopml.set_runtime("cancer", 1, "onnx")
    with TestClient(app) as http:
        [listed] = http.get("/api/v1/models/cancer/versions").json()
        assert listed["runtime"] == "onnx" and listed["onnx_digest"]
        assert http.get("/v2/models/cancer").json()["platform"] == "onnxruntime_onnx"


def test_regressors_and_lightgbm_score_through_onnx_as_their_library_does(ctx):
    data = load_diabetes(as_frame=True)
    X, y = data.data, data.target
    for name, model in (
        ("ridge", Ridge().fit(X, y)),
        ("boosted", lightgbm.LGBMRegressor(n_estimators=30, verbose=-1).fit(X, y)),
    ):
        loopml.log_model(model, name, input_example=X.head())
        loopml.set_runtime(name, 1, "onnx", sample=X)
        loaded = loopml.load_model(f"models:/{name}/1")
        assert loaded.runtime == "onnx"
        np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-5, atol=1e-3)


def test_a_version_onnx_cannot_match_stays_native_with_the_reason(ctx):
    import pandas as pd

    text = pd.DataFrame({"store": ["a", "b"] * 10, "x": np.arange(20.0)})
    loopml.log_model(Ridge().fit(text[["x"]], text["x"]), "texty", input_example=text)
    with pytest.raises(InvalidInput, match="takes numbers"):
        loopml.set_runtime("texty", 1, "onnx")
    assert loopml.get_model_version("texty", 1).runtime == "native"
    with pytest.raises(InvalidInput, match="Runtimes: native, onnx"):
        loopml.set_runtime("texty", 1, "tensorrt")
    assert not [e for e in audit.list_events(ctx.store) if e.action == "model.runtime"]
