"""A replay of a year of monthly traffic through a real ``loopml serve``: predictions and
labels carry their own event time, and monitors judge each month at its own date."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from tests.servers import serving

import loopml
from loopml.predictions.reader import event_clock, read_predictions

SRC = str(Path(__file__).resolve().parents[2] / "src")
MONTHS = [datetime(2015, month, 1, tzinfo=timezone.utc) for month in range(1, 13)]
SHIFT_FROM = 7  # labels of July onwards are 150 above what the model learnt


@pytest.fixture
def served(ctx, process_env, tmp_path):
    data = load_diabetes(as_frame=True)
    model = Ridge().fit(data.data, data.target)
    version = loopml.log_model(model, "diabetes", input_example=data.data.head(5))
    loopml.set_alias("diabetes", "champion", version.version)
    env = {**process_env, "PYTHONPATH": os.pathsep.join([SRC, process_env.get("PYTHONPATH", "")])}
    with serving(env, tmp_path) as base:
        yield base, data


def test_a_replay_of_a_year_is_judged_month_by_month_in_event_time(ctx, served):
    base, data = served
    loopml.create_monitor(
        name="diabetes-mae",
        model="diabetes",
        kind="performance",
        metric="mae",
        threshold=80.0,
        window=timedelta(days=35),
        schedule=timedelta(days=28),
        min_rows=20,
    )
    started = time.monotonic()
    pending: list[tuple[str, float]] = []
    labelled = 0
    verdicts: dict[str, list[str]] = {}
    with httpx.Client(base_url=base, timeout=30) as client:
        for number, month in enumerate(MONTHS, start=1):
            rows = data.data.iloc[number * 30 : number * 30 + 30]
            truth = data.target.iloc[number * 30 : number * 30 + 30] + (
                150.0 if number >= SHIFT_FROM else 0.0
            )
            records = [{**row, "event_time": month.isoformat()} for row in rows.to_dict("records")]
            answer = client.post("/v1/models/diabetes/predict", json={"records": records})
            assert answer.status_code == 200, answer.text
            # Last month's labels arrive now, a period after their predictions.
            receipt = (
                client.post(
                    "/v1/feedback",
                    json={
                        "feedback": [
                            {"prediction_id": i, "label": y, "event_time": month.isoformat()}
                            for i, y in pending
                        ]
                    },
                )
                if pending
                else None
            )
            assert receipt is None or receipt.json()["accepted"] == len(pending), receipt.text
            ids = [p["prediction_id"] for p in answer.json()["predictions"]]
            pending = list(zip(ids, truth.tolist(), strict=True))
            labelled += receipt.json()["accepted"] if receipt else 0
            _written(ctx.settings.resolved_artifact_uri, 30 * number, labelled)
            report = loopml.run_monitors()  # the scheduler's call: due in event time
            for outcome in report.outcomes.get("diabetes-mae", []):
                verdicts.setdefault(month.strftime("%Y-%m"), []).append(outcome.status)
    wall = time.monotonic() - started

    root = ctx.settings.resolved_artifact_uri
    march = read_predictions(root, "diabetes", MONTHS[2], MONTHS[3])
    assert march.num_rows == 30
    assert set(march["event_time"].to_pylist()) == {MONTHS[2]}
    assert all(t > datetime(2025, 1, 1, tzinfo=timezone.utc) for t in march["time"].to_pylist())
    assert event_clock(root, "diabetes") == MONTHS[-1] + timedelta(microseconds=1)
    # A 35-day window ending just after a month's first day holds it and the month before.
    assert verdicts["2015-03"] == ["ok"] and verdicts["2015-07"] == ["ok"]
    assert verdicts["2015-08"] == ["alert"], verdicts  # July's labels, the first shifted ones
    alerts = loopml.list_alerts()
    assert [a.opened_at for a in alerts] == [MONTHS[7] + timedelta(microseconds=1)]  # its date
    assert wall < 120  # a year of months in seconds, not a year


def test_event_times_without_a_zone_are_refused_with_the_field(served):
    base, data = served
    row = {**data.data.iloc[0].to_dict(), "event_time": "2015-03-01T00:00:00"}
    answer = httpx.post(f"{base}/v1/models/diabetes/predict", json={"records": [row, row]})
    assert answer.status_code == 422
    assert "body.records.0.event_time" in answer.text and "time zone" in answer.text
    row["event_time"] = 20150301
    answer = httpx.post(f"{base}/v1/models/diabetes/predict", json={"records": [row]})
    assert answer.status_code == 422 and "ISO 8601" in answer.text
    good = {**row, "event_time": "2015-03-01T00:00:00+01:00"}
    answer = httpx.post(f"{base}/v1/models/diabetes/predict", json={"records": [good]})
    prediction_id = answer.json()["predictions"][0]["prediction_id"]
    late = {"prediction_id": prediction_id, "label": 1.0, "event_time": "2015-03-02"}
    answer = httpx.post(f"{base}/v1/feedback", json={"feedback": [late]})
    assert answer.status_code == 422 and "time zone" in answer.text
    late["event_time"] = "2015-03-02T00:00:00Z"
    answer = httpx.post(f"{base}/v1/feedback", json={"feedback": [late]})
    assert answer.json()["accepted"] == 1  # found in the hour its event time names


def _written(root: str, predictions: int, labels: int) -> None:
    """The server writes its logs about once a second; wait until they hold these rows."""
    from loopml.predictions.reader import read_feedback

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if (
            read_predictions(root, "diabetes", columns=["prediction_id"]).num_rows >= predictions
            and read_feedback(root).num_rows >= labels
        ):
            return
        time.sleep(0.2)
    pytest.fail(f"the server did not write {predictions} predictions and {labels} labels")
