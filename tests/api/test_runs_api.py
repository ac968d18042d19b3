import math
import time

import loopml


def test_runs_are_listed_searched_and_shown(client):
    with loopml.start_run(experiment="demand", name="a") as a:
        loopml.log_param("alpha", "0.1")
        loopml.log_metric("mae", 2.0)
        loopml.log_metric("nan_metric", math.nan)
    with loopml.start_run(experiment="demand", name="b"):
        loopml.log_metric("mae", 4.0)

    experiments = client.get("/api/v1/experiments").json()
    assert [(e["name"], e["run_count"]) for e in experiments] == [("demand", 2)]

    found = client.get("/api/v1/runs", params={"filter": "metrics.mae < 3"}).json()
    assert [r["name"] for r in found] == ["a"]
    assert found[0]["params.alpha"] == "0.1" and found[0]["metrics.nan_metric"] is None

    run = client.get(f"/api/v1/runs/{a.id}").json()
    assert run["status"] == "finished" and run["metrics"]["mae"] == 2.0
    history = client.get(f"/api/v1/runs/{a.id}/metrics/mae").json()
    assert [p["value"] for p in history] == [2.0]


def test_health_readiness_and_metrics(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    deadline = time.monotonic() + 20  # ready once the served models have loaded
    while (ready := client.get("/readyz")).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.json()["status"] == "ready"
    client.get("/api/v1/experiments")
    text = client.get("/metrics").text
    assert (
        'loopml_http_requests_total{method="GET",route="/api/v1/experiments",status="200"}' in text
    )


def test_monitor_results_are_on_the_metrics_endpoint(client, ctx):
    from datetime import datetime, timezone

    from loopml.monitoring import service

    monitor = loopml.create_monitor(
        name="demand-mae", model="demand", kind="performance", metric="mae", threshold=1.0
    )
    now = datetime.now(timezone.utc)
    outcome = service.Outcome("", "alert", 2.5, 40, "mae 2.5 is worse than 1", {}, threshold=1.0)
    service.record_outcomes(ctx.store, monitor, [outcome], window=(now, now), now=now, actor="test")
    text = client.get("/metrics").text
    assert (
        'loopml_monitor_value{kind="performance",model="demand",monitor="demand-mae",segment=""} 2.5'
        in text
    )
    assert 'loopml_alerts_active{model="demand",monitor="demand-mae"} 1.0' in text
