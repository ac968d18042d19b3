"""Feedback over HTTP: JSON whatever the Content-Type, unknown ids counted and named,
labels checked against the model's task. Models fitted on scikit-learn's bundled data."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import loopml
from loopml.predictions.reader import read_feedback
from loopml.serving.prediction_ids import new_ids, stamped_at


@pytest.fixture
def cancer(ctx):
    data = load_breast_cancer(as_frame=True)
    frame = data.data.rename(columns=lambda c: c.replace(" ", "_"))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(frame, data.target)
    version = loopml.log_model(model, "cancer", input_example=frame.head(5))
    loopml.set_alias("cancer", "champion", version.version)
    return frame, data.target


def predict(client, name: str, frame) -> list[str]:
    answer = client.post(f"/v1/models/{name}/predict", json={"records": frame.to_dict("records")})
    assert answer.status_code == 200, answer.text
    return [p["prediction_id"] for p in answer.json()["predictions"]]


def labels_of(app) -> dict[str, float]:
    table = read_feedback(app.state.context.settings.resolved_artifact_uri)
    return dict(zip(table["prediction_id"].to_pylist(), table["label"].to_pylist(), strict=True))


def test_feedback_without_content_type_is_read_as_json(app, cancer):
    frame, target = cancer
    with TestClient(app) as client:
        ids = predict(client, "cancer", frame.head(20))
        items = ", ".join(
            f'{{"prediction_id": "{i}", "label": {t}}}'
            for i, t in zip(ids, target.head(20), strict=True)
        )
        body = f'{{"feedback": [{items}]}}'
        response = client.post(
            "/v1/feedback",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 20, "unknown": 0, "unknown_ids": []}
    assert labels_of(app) == dict(zip(ids, target.head(20).astype(float), strict=True))


def test_unknown_prediction_ids_are_counted_apart_and_ten_are_named(app, cancer):
    frame, _ = cancer
    invented = [f"{n:032x}" for n in range(15)] + new_ids(3)
    with TestClient(app) as client:
        ids = predict(client, "cancer", frame.head(5))
        feedback = [{"prediction_id": i, "label": 1} for i in ids + invented]
        response = client.post("/v1/feedback", json={"feedback": feedback})
    assert response.status_code == 202
    receipt = response.json()
    assert (receipt["accepted"], receipt["unknown"]) == (5, 18)
    assert receipt["unknown_ids"] == invented[:10]
    assert set(labels_of(app)) == set(ids)  # labels of unknown ids are not kept


def test_a_label_that_is_no_class_of_the_classifier_is_a_422_naming_the_id(app, cancer):
    frame, _ = cancer
    with TestClient(app) as client:
        ids = predict(client, "cancer", frame.head(2))
        response = client.post(
            "/v1/feedback",
            json={
                "feedback": [
                    {"prediction_id": ids[0], "label": 1},
                    {"prediction_id": ids[1], "label": 7},
                ]
            },
        )
    assert response.status_code == 422
    error = response.json()["error"]
    assert ids[1] in error["message"] and "classes: 0, 1" in error["message"]
    assert error["fields"][0]["field"] == "body.feedback.1.label"
    assert labels_of(app) == {}  # nothing of a refused request is kept


@pytest.mark.parametrize("label", ['"inf"', '"-Infinity"', '"nan"', '"high"', "true"])
def test_infinite_text_or_boolean_labels_for_a_regression_are_a_422_naming_the_id(
    app, diabetes, label
):
    with TestClient(app) as client:
        (prediction_id,) = predict(client, "diabetes", diabetes.head(1))
        response = client.post(
            "/v1/feedback",
            content=f'{{"feedback": [{{"prediction_id": "{prediction_id}", "label": {label}}}]}}',
        )
    assert response.status_code == 422, response.text
    assert prediction_id in response.json()["error"]["message"]


def test_a_number_too_large_for_a_double_is_malformed_json(app, diabetes):
    with TestClient(app) as client:
        (prediction_id,) = predict(client, "diabetes", diabetes.head(1))
        response = client.post(
            "/v1/feedback",
            content=f'{{"feedback": [{{"prediction_id": "{prediction_id}", "label": 1e999}}]}}',
        )
    assert response.status_code == 400
    assert "infinity" in response.json()["error"]["message"]


def test_a_regression_label_is_kept(app, diabetes):
    data_target = 151.0
    with TestClient(app) as client:
        (prediction_id,) = predict(client, "diabetes", diabetes.head(1))
        response = client.post(
            "/v1/feedback",
            json={"feedback": [{"prediction_id": prediction_id, "label": data_target}]},
        )
    assert response.json()["accepted"] == 1
    assert labels_of(app) == {prediction_id: data_target}


def test_prediction_ids_tell_the_time_they_are_about():
    from datetime import datetime, timedelta, timezone

    first, second = new_ids(2)
    assert len(first) == 32 and first != second
    assert abs(stamped_at(first) - datetime.now(timezone.utc)) < timedelta(seconds=5)
    assert stamped_at("not-an-id") is None
    assert stamped_at("z" * 32) is None
    times = [datetime(1959, 3, 1, tzinfo=timezone.utc), datetime(2031, 7, 1, tzinfo=timezone.utc)]
    assert [stamped_at(i) for i in new_ids(2, times)] == times  # before 1970 and ahead
