"""Web UI: server time of each page with 1,000 segments in the store (SQLite).

One model family of 1,000 segment champions, a monitor with a result for every
segment and 100 open alerts, and 50 challengers waiting for approval. Each page
is fetched in-process (no network) and timed; the reference in the same run is
the REST API's JSON list of the same alerts, the cheapest answer about the same
rows. Target (issue): every page under 300 ms.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
from sklearn.linear_model import Ridge

from benchmarks.report import markdown_table, write_section

SEGMENTS = 1_000
ALERTED = 100
PENDING = 50
REPEATS = 7
TARGET_S = 0.3


def build(store) -> None:
    import loopml
    from loopml.monitoring import service as monitoring
    from loopml.monitoring.spec import MonitorSpec
    from loopml.registry import promotion
    from loopml.store import utcnow

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    model = Ridge().fit(X, X @ rng.normal(size=4))
    for i in range(SEGMENTS):
        version = loopml.log_model(model, "demand", segment={"store": i}, metrics={"mae": 1.0})
        loopml.set_alias("demand", "champion", version.version, segment={"store": i})
    loopml.set_gate("demand", beat_champion="mae", require_approval=True)
    for i in range(PENDING):
        version = loopml.log_model(model, "demand", segment={"store": i}, metrics={"mae": 0.8})
        promotion.promote(store, "demand", version.version, actor="retrainer")
    spec = MonitorSpec(name="demand-mae", model="demand", kind="performance", metric="mae",
                       threshold=1.5, per_segment=True)  # fmt: skip
    monitor = monitoring.create_monitor(store, spec, actor="bench")
    now = utcnow()
    outcomes = [monitoring.Outcome(f"store={i}", "alert" if i < ALERTED else "ok",
                                   2.0 if i < ALERTED else 1.0, 50, f"demand-mae: mae at store={i}",
                                   {}, 1.5) for i in range(SEGMENTS)]  # fmt: skip
    monitoring.record_outcomes(store, monitor, outcomes, window=(now - timedelta(hours=1), now),
                               now=now, actor="bench")  # fmt: skip


def timed(client, path: str) -> float:
    client.get(path)  # templates compiled and caches warm: the steady state is timed
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        answer = client.get(path)
        times.append(time.perf_counter() - started)
        assert answer.status_code == 200, (path, answer.status_code)
    return statistics.median(times)


def main() -> None:
    from fastapi.testclient import TestClient

    import loopml
    from loopml.server import create_app

    with tempfile.TemporaryDirectory() as folder:
        context = loopml.configure(home=Path(folder) / "loopml")
        began = time.perf_counter()
        build(context.store)
        built = time.perf_counter() - began
        alert = loopml.list_alerts()[0].id
        pages = {
            "needs you": "/ui/",
            "health, page 1": "/ui/health",
            "health, search + filter": "/ui/health?q=store%3D9&status=action",
            "health, sorted by alerts": "/ui/health?sort=alerts&desc=true&page=5",
            "alerts": "/ui/alerts",
            "one alert": f"/ui/alerts/{alert}",
            "approvals": "/ui/approvals",
            "model": "/ui/models/demand",
            "model, one segment": "/ui/models/demand?segment=store%3D7",
        }
        load = os.getloadavg()[0]
        with TestClient(create_app(context=context)) as client:
            reference = timed(client, "/api/v1/alerts?state=all")
            measured = {name: timed(client, path) for name, path in pages.items()}
    rows = [[name, f"{seconds * 1000:.0f} ms", f"{reference * 1000:.0f} ms",
             f"{seconds / reference:.1f}x", "< 300 ms", "pass" if seconds < TARGET_S else "FAIL"]
            for name, seconds in measured.items()]  # fmt: skip
    body = (
        f"## Web UI pages: {SEGMENTS:,} segments, {ALERTED} open alerts, {PENDING} approvals (SQLite)\n\n"
        "Median server time of each page (in-process, no network), beside the REST API's JSON "
        "list of the same alerts in the same run.\n\n"
        + markdown_table(["page", "loopml UI", "REST /api/v1/alerts", "ratio", "target", ""], rows)
        + f"\n\nBuilding the store took {built:.0f} s. The machine's 1-minute load was "
        f"{load:.1f} on {os.cpu_count()} cores when the pages were timed (a load far above the "
        "core count slows every figure by about the same factor)."
    )
    write_section("ui", body)
    print(body)
