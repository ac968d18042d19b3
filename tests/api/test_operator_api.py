"""What an operator does, over REST: datasets, monitors, alerts, audit and gates.

One path on scikit-learn's diabetes data: the table is logged as a dataset, a
model trained on it serves predictions, feedback brings the true values, a
performance monitor run on demand opens an alert, an operator acknowledges and
resolves it with a note, and the audit log shows who did each step.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

import loopml


@pytest.fixture
def diabetes_loop(ctx):
    data = load_diabetes(as_frame=True)
    loopml.log_dataset(data.frame, "diabetes")
    loopml.log_dataset(data.frame.head(300), "diabetes")
    model = Ridge().fit(data.data, data.target)
    version = loopml.log_model(model, "diabetes", input_example=data.data.head(5))
    loopml.set_alias("diabetes", "champion", version.version)
    loopml.set_gate("diabetes", thresholds={"mae": "<= 60"}, beat_champion="mae")
    loopml.create_monitor(
        name="diabetes-mae",
        model="diabetes",
        kind="performance",
        metric="mae",
        threshold=20.0,  # the model's MAE is about 43: the monitor must alert
        window="1h",
    )
    return data


@pytest.fixture
def app(ctx):
    from loopml.server import create_app

    return create_app(context=ctx.__class__(ctx.settings.model_copy(update={"scheduler": False})))


def test_datasets_list_versions_and_profile(app, diabetes_loop):
    with TestClient(app) as client:
        (listed,) = client.get("/api/v1/datasets").json()
        assert (listed["name"], listed["versions"], listed["latest"]) == ("diabetes", 2, 2)
        versions = client.get("/api/v1/datasets/diabetes/versions").json()
        assert [(v["version"], v["num_rows"]) for v in versions] == [(2, 300), (1, 442)]
        assert {"name": "bmi", "type": "float"} in versions[1]["columns"]
        profile = client.get("/api/v1/datasets/diabetes/versions/1/profile").json()
        bmi = profile["columns"]["bmi"]
        assert profile["num_rows"] == 442
        assert bmi["mean"] == pytest.approx(diabetes_loop.frame["bmi"].mean(), abs=1e-9)
        missing = client.get("/api/v1/datasets/diabetes/versions/9/profile")
        assert missing.status_code == 404 and "diabetes" in missing.json()["error"]["message"]
        assert client.get("/api/v1/datasets/nosuch/versions").status_code == 404


def test_a_monitor_run_now_opens_an_alert_that_is_acknowledged_resolved_and_audited(
    app, diabetes_loop
):
    data = diabetes_loop
    with TestClient(app) as client:
        rows = data.data.head(100).to_dict("records")
        answer = client.post("/v1/models/diabetes/predict", json={"records": rows}).json()
        ids = [p["prediction_id"] for p in answer["predictions"]]
        labels = [
            {"prediction_id": i, "label": float(t)} for i, t in zip(ids, data.target, strict=False)
        ]
        assert client.post("/v1/feedback", json={"feedback": labels}).json()["accepted"] == 100
        app.state.feedback_log.flush()  # as its flush interval would

        (monitor,) = client.get("/api/v1/monitors").json()
        assert (monitor["name"], monitor["kind"], monitor["window_seconds"]) == (
            "diabetes-mae",
            "performance",
            3600.0,
        )
        run = client.post("/api/v1/monitors/diabetes-mae/run").json()
        (outcome,) = run["outcomes"]
        assert outcome["status"] == "alert" and outcome["rows"] == 100
        assert outcome["value"] == pytest.approx(43, abs=5)  # Ridge's MAE on these rows
        (change,) = run["changes"]
        assert change["event"] == "opened"
        alert_id = change["alert"]["id"]
        (result,) = client.get("/api/v1/monitors/diabetes-mae/results").json()
        assert result["status"] == "alert" and result["value"] == outcome["value"]

        (active,) = client.get("/api/v1/alerts").json()
        assert active["id"] == alert_id and active["state"] == "open"
        acked = client.post(f"/api/v1/alerts/{alert_id}/acknowledge").json()
        assert acked["state"] == "acknowledged" and acked["acknowledged_by"] == "anonymous"
        resolved = client.post(
            f"/api/v1/alerts/{alert_id}/resolve",
            json={"reason": "threshold was too tight", "resolution": "false_alarm"},
        ).json()
        assert resolved["state"] == "resolved" and resolved["resolution"] == "false_alarm"
        assert client.get("/api/v1/alerts").json() == []
        assert [a["id"] for a in client.get("/api/v1/alerts?state=all").json()] == [alert_id]
        assert client.post(f"/api/v1/alerts/{alert_id}/resolve").status_code == 422
        bad_state = client.get("/api/v1/alerts?state=closed")
        assert bad_state.status_code == 422 and "all" in bad_state.json()["error"]["hint"]

        page = client.get(
            "/api/v1/audit", params={"entity_type": "alert", "entity_id": str(alert_id)}
        ).json()
        actions = [(e["action"], e["reason"]) for e in page["events"]]
        assert actions[:2] == [
            ("alert.resolve", "threshold was too tight"),
            ("alert.acknowledge", None),
        ]
        assert actions[2][0] == "alert.open"
        # An open loopback server acts as "anonymous", never as its OS user.
        assert [e["actor"] for e in page["events"][:2]] == ["anonymous", "anonymous"]
    assert [a.id for a in loopml.list_alerts(state="all")] == [alert_id]


def test_audit_pages_through_events_with_filters(app, diabetes_loop):
    with TestClient(app) as client:
        everything = client.get("/api/v1/audit", params={"limit": 1000}).json()["events"]
        assert len(everything) >= 4
        first = client.get("/api/v1/audit", params={"limit": 2}).json()
        assert first["next_offset"] == 2 and first["events"] == everything[:2]
        second = client.get("/api/v1/audit", params={"limit": 2, "offset": 2}).json()
        assert second["events"] == everything[2:4]
        last = client.get("/api/v1/audit", params={"limit": 1000, "offset": 2}).json()
        assert last["next_offset"] is None
        moves = client.get("/api/v1/audit", params={"action": "alias.set"}).json()["events"]
        assert moves and all(e["action"] == "alias.set" for e in moves)
        since = everything[0]["time"]
        newest = client.get("/api/v1/audit", params={"since": since}).json()["events"]
        assert everything[0] in newest and all(e["time"] >= since for e in newest)
        assert client.get("/api/v1/audit", params={"limit": 0}).status_code == 422


def test_gates_are_read(app, diabetes_loop):
    with TestClient(app) as client:
        gate = client.get("/api/v1/gates/diabetes").json()
        assert gate["model"] == "diabetes"
        assert gate["gate"]["thresholds"] == {"mae": "<= 60"}
        assert gate["gate"]["beat_champion"] == "mae"
        assert client.get("/api/v1/gates").json() == [gate]
        missing = client.get("/api/v1/gates/nosuch")
        assert missing.status_code == 404 and "diabetes" in missing.json()["error"]["hint"]


def test_every_operator_route_declares_a_typed_response(app):
    operator = (
        "/api/v1/datasets",
        "/api/v1/monitors",
        "/api/v1/alerts",
        "/api/v1/audit",
        "/api/v1/gates",
    )
    paths = {p: ops for p, ops in app.openapi()["paths"].items() if p.startswith(operator)}
    operations = [(p, m, op) for p, ops in paths.items() for m, op in ops.items()]
    assert len(operations) == 12
    for path, method, op in operations:
        schema = op["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in schema or "$ref" in schema.get("items", {}), (method, path, schema)


def test_a_monitors_webhook_secret_is_not_in_the_answer(app, diabetes_loop):
    hook = "https://hooks.slack.com/services/T000/B000/s3cretp4th"
    loopml.create_monitor(name="diabetes-drift", model="diabetes", kind="drift", webhook=hook)
    with TestClient(app) as client:
        answer = client.get("/api/v1/monitors")
    assert answer.status_code == 200
    assert "s3cretp4th" not in answer.text
    (drift,) = [m for m in answer.json() if m["name"] == "diabetes-drift"]
    assert drift["spec"]["webhook"].startswith("https://hooks.slack.com/services/")
