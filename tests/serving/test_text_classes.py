"""A classifier whose classes are text: logged with its real class, judged right by its monitor."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from fastapi.testclient import TestClient
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import loopml
from loopml.predictions.reader import read_predictions
from loopml.store import utcnow


def test_text_classes_are_logged_and_a_healthy_model_raises_no_alert(app):
    data = load_breast_cancer(as_frame=True)
    y = np.where(data.target == 1, "No", "Yes")  # "Yes": the tumour is malignant
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, y, test_size=100, random_state=0, stratify=y
    )
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_train, y_train)
    version = loopml.log_model(model, "tumour", input_example=X_train.head(3))
    loopml.set_alias("tumour", "champion", version.version)
    with TestClient(app) as client:
        answer = client.post(
            "/v1/models/tumour/predict", json={"records": X_test.to_dict(orient="records")}
        )
        assert answer.status_code == 200, answer.text
        predictions = answer.json()["predictions"]
        feedback = [
            {"prediction_id": p["prediction_id"], "label": label}
            for p, label in zip(predictions, y_test.tolist(), strict=True)
        ]
        assert client.post("/v1/feedback", json={"feedback": feedback}).status_code == 202
    root = app.state.context.settings.resolved_artifact_uri
    logged = read_predictions(root, "tumour")["prediction"].to_pylist()
    assert logged == [p["prediction"] for p in predictions] == model.predict(X_test).tolist()
    assert set(logged) == {"Yes", "No"}

    loopml.create_monitor(
        name="tumour-accuracy",
        model="tumour",
        kind="performance",
        task="classification",
        metric="accuracy",
        threshold=0.9,
        window="1h",
        min_rows=50,
    )
    [outcome] = loopml.run_monitors(now=utcnow() + timedelta(seconds=1)).outcomes["tumour-accuracy"]
    accuracy = float(np.mean(model.predict(X_test) == y_test))
    assert accuracy > 0.95
    assert outcome.status == "ok" and outcome.value == accuracy
    assert outcome.details["labelled"] == 100
    assert loopml.list_alerts(state="active") == []
