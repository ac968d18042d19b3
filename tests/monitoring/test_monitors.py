"""Monitors over the prediction log: results, deduplicated alerts, webhooks, gauges, CLI."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry, generate_latest

import loopml
from loopml.audit import list_events
from loopml.cli import main
from loopml.monitoring import service
from loopml.monitoring.prometheus import MonitorCollector

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


def _log(ctx, hours_ago: float, rows: int, *, shift=0.0, segments=("",), seed=0, now=NOW):
    rng = np.random.default_rng(seed)
    start, model = now - timedelta(hours=hours_ago), "demand"
    records = [
        {
            "prediction_id": f"{model}-{seed}-{i}",
            "time": start + timedelta(seconds=i * 3000 / rows),
            "model": model,
            "segment": segments[i % len(segments)],
            "inputs": {"price": float(rng.normal(shift, 1)), "qty": float(rng.normal(5, 2))},
            "prediction": float(rng.normal(50, 5)),
        }
        for i in range(rows)
    ]
    with loopml.PredictionLog(ctx.settings.resolved_artifact_uri) as log:
        log.append(records)
    return records


def _drift_monitor(ctx, **overrides):
    rng = np.random.default_rng(9)
    training = pd.DataFrame({"price": rng.normal(0, 1, 5000), "qty": rng.normal(5, 2, 5000)})
    digest = loopml.save_reference(loopml.make_reference(training))
    fields = {
        "name": "demand-drift",
        "model": "demand",
        "kind": "drift",
        "window": "1h",
        "reference": digest,
    } | overrides
    return loopml.create_monitor(**fields)


def test_drift_alert_opens_once_updates_and_closes_when_healthy(ctx):
    _drift_monitor(ctx)
    _log(ctx, 1, 600, shift=1.5, seed=1)
    first = loopml.run_monitors(now=NOW)
    [outcome] = first.outcomes["demand-drift"]
    assert outcome.status == "alert" and outcome.value == pytest.approx(0.5)
    assert [c.event for c in first.changes] == ["opened"]
    assert loopml.run_monitors(now=NOW + timedelta(minutes=10)).outcomes == {}  # not due yet
    again = loopml.run_monitors(now=NOW + timedelta(minutes=30), force=True)
    assert again.changes == []  # still drifting: the same alert, not a second one
    [alert] = loopml.list_alerts(state="active")
    assert alert.state == "open" and alert.monitor == "demand-drift"

    _log(ctx, -1.5, 600, seed=2)  # the next hour is healthy
    healed = loopml.run_monitors(now=NOW + timedelta(hours=2, minutes=30))
    assert [c.event for c in healed.changes] == ["resolved"]
    assert loopml.list_alerts(state="active") == []
    assert [a.state for a in loopml.list_alerts()] == ["resolved"]
    results = service.monitor_results(ctx.store, "demand-drift")
    assert [r.status for r in results] == ["ok", "alert", "alert"]
    assert {e.action for e in list_events(ctx.store, entity_type="alert")} == {
        "alert.open",
        "alert.resolve",
    }


def test_an_empty_window_is_recorded_as_no_data_without_an_alert(ctx):
    _drift_monitor(ctx)
    report = loopml.run_monitors(now=NOW)
    [outcome] = report.outcomes["demand-drift"]
    assert outcome.status == "no_data" and report.changes == []
    assert any(p["problem"] == "empty_window" for p in outcome.details["problems"])


def test_acknowledge_and_resolve_by_hand_with_audit(ctx):
    _drift_monitor(ctx)
    _log(ctx, 1, 400, shift=2.0, seed=3)
    [change] = loopml.run_monitors(now=NOW).changes
    acked = service.acknowledge_alert(ctx.store, change.alert.id, actor="ana", reason="looking")
    assert (acked.state, acked.acknowledged_by) == ("acknowledged", "ana")
    done = service.resolve_alert(ctx.store, change.alert.id, actor="ana", reason="price feed fixed")
    assert done.state == "resolved" and done.resolved_at is not None
    with pytest.raises(loopml.InvalidInput, match="resolved already"):
        service.resolve_alert(ctx.store, change.alert.id, actor="ana")
    with pytest.raises(loopml.NotFound):
        service.acknowledge_alert(ctx.store, 999, actor="ana")


def test_a_thousand_segments_are_monitored_in_one_pass(sqlite_ctx):
    segments = [f"store={i}" for i in range(1000)]
    _drift_monitor(sqlite_ctx, per_segment=True, name="per-store")
    _log(sqlite_ctx, 1, 20_000, segments=segments, seed=4)
    outcomes = loopml.run_monitors(now=NOW).outcomes["per-store"]
    assert sorted(o.segment for o in outcomes) == sorted(segments)
    assert all(o.rows == 20 for o in outcomes)


def test_alerts_of_many_segments_open_and_resolve_together_each_audited(ctx, caplog):
    segments = [f"store={i}" for i in range(60)]
    _drift_monitor(ctx, per_segment=True, name="per-store")
    _log(ctx, 1, 6000, shift=1.5, segments=segments, seed=6)
    with caplog.at_level("WARNING", logger="loopml.monitoring"):
        opened = loopml.run_monitors(now=NOW).changes
    assert sorted(c.alert.segment for c in opened) == sorted(segments)
    assert {c.event for c in opened} == {"opened"}
    events = list_events(ctx.store, entity_type="alert", action="alert.open")
    assert {(e.entity_id, e.after["segment"]) for e in events} == {
        (str(c.alert.id), c.alert.segment) for c in opened
    }
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 21 and lines[-1].startswith("per-store: 40 more alerts opened")

    _log(ctx, -1.5, 24_000, segments=segments, seed=7)  # the next hour is healthy
    healed = loopml.run_monitors(now=NOW + timedelta(hours=2, minutes=30))
    healthy = {o.segment for o in healed.outcomes["per-store"] if o.status == "ok"}
    assert len(healthy) > 50  # a few of 60 segments may drift by chance on 400 rows
    assert {c.alert.segment for c in healed.changes} == healthy
    assert {c.event for c in healed.changes} == {"resolved"}
    assert len(loopml.list_alerts(state="active")) == 60 - len(healthy)
    resolved = list_events(ctx.store, entity_type="alert", action="alert.resolve")
    assert {e.entity_id for e in resolved} == {str(c.alert.id) for c in healed.changes}


def test_performance_monitor_uses_late_labels_and_reports_coverage(ctx):
    records = _log(ctx, 1, 200, seed=5)
    labels = [(r["prediction_id"], r["prediction"] + 10.0, NOW) for r in records[:120]]
    with loopml.FeedbackLog(ctx.settings.resolved_artifact_uri) as feedback:
        feedback.append(labels)
    loopml.create_monitor(name="mae", model="demand", kind="performance", metric="mae", threshold=5)
    [outcome] = loopml.run_monitors(now=NOW).outcomes["mae"]
    assert outcome.status == "alert" and outcome.value == pytest.approx(10.0)
    assert outcome.details["label_coverage"] == pytest.approx(0.6)


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Receiver.received
    server.shutdown()
    server.server_close()


def test_alerts_are_posted_to_the_webhook(sqlite_ctx, receiver):
    url, received = receiver
    _drift_monitor(sqlite_ctx, webhook=url)
    _log(sqlite_ctx, 1, 400, shift=2.0, seed=6)
    report = loopml.run_monitors(now=NOW)
    assert report.delivered == 1
    [event] = received
    assert event["event"] == "opened" and event["alert"]["monitor"] == "demand-drift"
    assert event["alert"]["model"] == "demand" and event["alert"]["state"] == "open"


def test_monitor_results_are_prometheus_gauges(ctx):
    _drift_monitor(ctx)
    _log(ctx, 1, 400, shift=2.0, seed=7)
    loopml.run_monitors(now=NOW)
    registry = CollectorRegistry()
    registry.register(MonitorCollector(ctx.store))
    text = generate_latest(registry).decode()
    labels = 'kind="drift",model="demand",monitor="demand-drift",segment=""'
    assert f"loopml_monitor_value{{{labels}}} 0.5" in text
    assert f"loopml_monitor_alerting{{{labels}}} 1.0" in text
    assert 'loopml_alerts_active{model="demand",monitor="demand-drift"} 1.0' in text


def _cli(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exit_:
        return exit_.code
    return 0


def test_cli_declares_runs_and_lists_monitors_and_alerts(sqlite_ctx, tmp_path, capsys):
    rng = np.random.default_rng(8)
    digest = loopml.save_reference(
        loopml.make_reference(pd.DataFrame({"price": rng.normal(0, 1, 2000)}))
    )
    spec = tmp_path / "monitors.yaml"
    spec.write_text(
        f"- name: price-drift\n  model: demand\n  kind: drift\n  window: 7d\n  reference: {digest}\n"
    )
    _cli(["monitor", "create", str(spec)])
    _log(sqlite_ctx, 1, 300, shift=3.0, seed=9, now=datetime.now(timezone.utc))
    _cli(["monitor", "list"])
    _cli(["monitor", "run", "--json"])
    out = capsys.readouterr().out
    assert "price-drift" in out and '"status": "alert"' in out
    _cli(["alerts", "list"])
    alert_id = loopml.list_alerts()[0].id
    assert "price-drift" in capsys.readouterr().out
    _cli(["alerts", "ack", str(alert_id), "--reason", "on it"])
    _cli(["alerts", "resolve", str(alert_id)])
    assert "resolved" in capsys.readouterr().out
    _cli(["alerts", "list", "--state", "resolved"])
    assert "price-drift" in capsys.readouterr().out


def test_cli_refuses_an_invalid_spec_with_the_field(sqlite_ctx, tmp_path, capsys):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: p\nmodel: demand\nkind: performance\nmetric: mae\n")
    assert _cli(["monitor", "create", str(spec)]) == 1
    assert "threshold" in capsys.readouterr().err


def test_a_monitor_with_a_missing_reference_reports_an_error_and_the_others_still_run(sqlite_ctx):
    _drift_monitor(sqlite_ctx)
    loopml.create_monitor(name="broken", model="demand", kind="drift", reference="0" * 64)
    _log(sqlite_ctx, 1, 2000, seed=10)
    outcomes = loopml.run_monitors(now=NOW).outcomes
    assert outcomes["broken"][0].status == "error" and "missing" in outcomes["broken"][0].message
    assert outcomes["demand-drift"][0].status == "ok"
