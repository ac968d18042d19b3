"""Canary and shadow traffic, the prediction log and feedback."""

import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression
from tests.serving.models import FEATURES, churn_rows

from loopml.predictions.reader import read_feedback, read_predictions
from loopml.serving.traffic import Deployment, ServingConfig


def _records(n, seed=0, customers=None):
    frame = churn_rows(n, seed=seed)[FEATURES]
    if customers is not None:
        frame["customer"] = customers
    return frame.to_dict(orient="records")


@pytest.mark.parametrize(
    "serving_config",
    [ServingConfig(models={"churn": Deployment(canary_percent=30, sticky_key="customer")})],
)
def test_canary_takes_its_share_and_sticks_to_a_customer(client, churn):
    champion, challenger = (version.version for _, version in churn)
    customers = [f"c{i}" for i in range(200)]
    first = client.post("/v1/models/churn/predict", json={"records": _records(200, 1, customers)})
    second = client.post("/v1/models/churn/predict", json={"records": _records(200, 2, customers)})
    roles = [p["role"] for p in first.json()["predictions"]]
    assert roles == [p["role"] for p in second.json()["predictions"]]  # sticky
    assert 30 < roles.count("challenger") < 100  # about 30% of 200
    by_role = {p["role"]: p["version"] for p in first.json()["predictions"]}
    assert by_role == {"champion": champion, "challenger": challenger}


@pytest.mark.parametrize(
    "serving_config", [ServingConfig(models={"churn": Deployment(shadow=True)})]
)
def test_shadow_is_logged_never_returned(app, churn):
    champion, challenger = (version.version for _, version in churn)
    with TestClient(app) as client:
        answer = client.post("/v1/models/churn/predict", json={"records": _records(4)}).json()
    assert {p["version"] for p in answer["predictions"]} == {champion}
    ids = {p["prediction_id"] for p in answer["predictions"]}
    log = read_predictions(app.state.context.settings.resolved_artifact_uri, "churn").to_pylist()
    live = [r for r in log if not r["shadow"]]
    shadow = [r for r in log if r["shadow"]]
    assert {r["prediction_id"] for r in live} == ids == {r["prediction_id"] for r in shadow}
    assert {r["version"] for r in shadow} == {challenger}


def test_predictions_are_logged_and_flushed_on_shutdown(app, churn):
    with TestClient(app) as client:
        answers = [
            client.post("/v1/models/churn/predict", json={"records": _records(3, seed)}).json()
            for seed in range(5)
        ]
    expected = {p["prediction_id"]: p for a in answers for p in a["predictions"]}
    log = read_predictions(app.state.context.settings.resolved_artifact_uri, "churn").to_pylist()
    assert {r["prediction_id"] for r in log} == set(expected)
    for record in log:
        answered = expected[record["prediction_id"]]
        assert record["version"] == answered["version"]
        assert record["prediction"] == answered["prediction"]
        assert record["latency_ms"] > 0 and record["input.tenure"] is not None


def test_feedback_is_accepted_and_written(app, churn):
    with TestClient(app) as client:
        answer = client.post("/v1/models/churn/predict", json={"records": _records(2)}).json()
        ids = [p["prediction_id"] for p in answer["predictions"]]
        feedback = [{"prediction_id": ids[0], "label": 1}, {"prediction_id": ids[1], "label": 0}]
        response = client.post("/v1/feedback", json={"feedback": feedback})
        assert response.status_code == 202
        assert response.json() == {"accepted": 2, "unknown": 0, "unknown_ids": []}
        bad = client.post("/v1/feedback", json={"feedback": [{"label": 1}]})
        assert bad.status_code == 422
    labels = read_feedback(app.state.context.settings.resolved_artifact_uri).to_pylist()
    assert {(r["prediction_id"], r["label"]) for r in labels} == {(ids[0], 1.0), (ids[1], 0.0)}


def test_a_classifier_with_text_classes_is_logged_with_its_inputs(app):
    import loopml

    rows = churn_rows(200)
    labels = rows["label"].map({0: "stay", 1: "leave"})
    model = LogisticRegression(max_iter=500).fit(rows[FEATURES], labels)
    version = loopml.log_model(model, "churn-text", input_example=rows[FEATURES].head(3))
    loopml.set_alias("churn-text", "champion", version.version)
    records = rows[FEATURES].head(3).to_dict(orient="records")
    with TestClient(app) as client:
        answer = client.post("/v1/models/churn-text/predict", json={"records": records}).json()
    assert {p["prediction"] for p in answer["predictions"]} <= {"stay", "leave"}
    uri = app.state.context.settings.resolved_artifact_uri
    log = read_predictions(uri, "churn-text").to_pylist()
    assert [r["input.tenure"] for r in log] == [r["tenure"] for r in records]
    assert [r["proba"] for r in log] == [p["proba"] for p in answer["predictions"]]
    assert [r["prediction"] for r in log] == [p["prediction"] for p in answer["predictions"]]
