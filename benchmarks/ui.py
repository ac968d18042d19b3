"""Web UI: server time of each page at scale, on SQLite and on PostgreSQL.

The store of each database holds one model family of 1,000 segments with ten
tracked runs each (10,000 runs, 10,000 versions, nine promotions a segment),
a day of prediction log (1,000,000 rows, written by the serving log's own
writer), a performance monitor with twelve hourly windows for every segment
and 100 open alerts (20 more resolved as real change or false alarm, for the
precision report), a drift monitor whose 40 alerts share one cause (their page
reads its segment from the log's day), and 50 challengers waiting for approval.
Then a second family of 9,000 segments (a champion each) is registered and the
health table is timed at 10,000 segments.

Each page is fetched in-process (no network) and timed, wall clock and the
process's CPU time (the server runs in it; on a shared machine the wall clock
also holds the waits for a core); the reference in the same run is the REST
API's JSON list of the same alerts, the cheapest answer about the same rows. Targets: every page under 300 ms; the health table at
10,000 segments under 1 s. PostgreSQL: 127.0.0.1:5432 (LOOPML_BENCH_PG), a
database of its own for the run, dropped afterwards.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.report import markdown_table, write_section

SEGMENTS = 1_000
ROUNDS = 10  # tracked runs (and versions) per segment
PREDICTIONS = 1_000_000
WINDOWS = 12  # hourly results of the performance monitor
ALERTED = 120
RESOLVED = 20  # of the alerted: half false alarms, half real changes
DRIFTED = 40
PENDING = 50
WIDE = 10_000  # segments of the health table's second measurement
REPEATS = 7
TARGET_S, WIDE_TARGET_S = 0.3, 1.0
PG_SERVER = os.environ.get("LOOPML_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


# building the store -----------------------------------------------------------


def build(context) -> dict[str, float]:
    """The store of the module's docstring; returns seconds per part."""
    store, spent = context.store, {}
    began = time.perf_counter()
    template = _template_version()
    run_ids = _runs(store, SEGMENTS * ROUNDS)
    spent[f"{SEGMENTS * ROUNDS:,} runs"] = time.perf_counter() - began
    began = time.perf_counter()
    _versions(store, template, run_ids)
    spent["versions and promotions"] = time.perf_counter() - began
    began = time.perf_counter()
    _prediction_log(context.settings.resolved_artifact_uri)
    spent[f"{PREDICTIONS:,} predictions"] = time.perf_counter() - began
    began = time.perf_counter()
    _monitors(store)
    spent["monitors and alerts"] = time.perf_counter() - began
    return spent


def _template_version():
    """One real model logged once: its artifact, flavor and signature serve every version."""
    from sklearn.linear_model import Ridge

    import loopml

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 2)), columns=["price", "qty"])
    model = Ridge().fit(X, X @ rng.normal(size=2))
    version = loopml.log_model(model, "template", input_example=X.head(), metrics={"mae": 1.0})
    return _template(version)


def _template(version):
    """The fields a copy of ``version`` needs: flavor, artifact and its size, signature."""
    from loopml._context import get_context

    size = len(get_context().artifacts.get_bytes(version.artifact_digest))
    return (version.flavor, version.artifact_digest, size, version.signature)


def _runs(store, count: int) -> list[str]:
    from loopml.tracking import service as tracking
    from loopml.tracking.environment import capture
    from loopml.tracking.resources import ResourceUsage
    from loopml.tracking.service import RunStatus

    environment, ids = capture(), []
    for start in range(0, count, SEGMENTS):
        names = [
            (f"train store={i % SEGMENTS}", {"segment": f"store={i % SEGMENTS}"})
            for i in range(start, start + SEGMENTS)
        ]
        batch = tracking.create_runs(
            store,
            project="default",
            experiment="demand",
            runs=names,
            parent_run_id=None,
            environment=environment,
            actor="bench",
        )
        now = time.time() * 1000
        tracking.end_runs(
            store,
            [
                (
                    run,
                    RunStatus.FINISHED,
                    ResourceUsage(0.4, 0.3, 80 << 20),
                    None,
                    [("mae", 1.0, 0, now)],
                )
                for run in batch
            ],
        )
        ids += batch
    return ids


def _versions(store, template, run_ids: list[str]) -> None:
    """ROUNDS versions a segment; each of the first nine rounds becomes champion, the last
    round's first PENDING wait for approval."""
    from loopml.registry import promotion
    from loopml.registry import service as registry
    from loopml.registry.service import NewVersion

    segments = range(len(run_ids) // ROUNDS)
    for round_ in range(ROUNDS):
        news = [
            NewVersion(
                *template,
                {"store": s},
                run_ids[round_ * len(segments) + k],
                {"mae": 1.0 - 0.01 * round_},
            )
            for k, s in enumerate(segments)
        ]
        versions = registry.register_many(store, "demand", news, actor="retrainer")
        if round_ < ROUNDS - 1:
            promotion.promote_many(store, "demand", versions, actor="retrainer")
        else:
            registry.set_gate(
                store, "demand", {"beat_champion": "mae", "require_approval": True}, actor="bench"
            )
            promotion.promote_many(store, "demand", versions[:PENDING], actor="retrainer")


def _prediction_log(root: str) -> None:
    """A day of predictions through the serving log's writer, in one table."""
    import loopml
    from loopml.predictions.schema import predictions_table
    from loopml.store import utcnow

    rng = np.random.default_rng(4)
    now = utcnow()
    times = pd.date_range(now - timedelta(days=1), now, periods=PREDICTIONS, tz="UTC")
    segment = np.arange(PREDICTIONS) % SEGMENTS
    price = rng.normal(0, 1, PREDICTIONS) + np.where(segment < DRIFTED, 1.5, 0.0)
    fields = {
        "prediction_id": [f"p{i}" for i in range(PREDICTIONS)],
        "time": times,
        "model": ["demand"] * PREDICTIONS,
        "version": np.full(PREDICTIONS, ROUNDS - 1),
        "segment": [f"store={s}" for s in segment],
        "prediction": rng.normal(50, 5, PREDICTIONS),
    }
    with loopml.PredictionLog(root) as log:
        log.append_table(
            predictions_table(fields, {"price": price, "qty": rng.normal(5, 2, PREDICTIONS)})
        )


def _monitors(store) -> None:
    import loopml
    from loopml.monitoring import service as monitoring
    from loopml.monitoring.spec import MonitorSpec
    from loopml.store import utcnow

    rng = np.random.default_rng(1)
    training = pd.DataFrame({"price": rng.normal(0, 1, 5000), "qty": rng.normal(5, 2, 5000)})
    reference = loopml.save_reference(loopml.make_reference(training))
    now = utcnow()
    spec = MonitorSpec(
        name="demand-mae",
        model="demand",
        kind="performance",
        metric="mae",
        threshold=1.5,
        per_segment=True,
    )
    monitor = monitoring.create_monitor(store, spec, actor="bench")
    for hour in range(WINDOWS, 0, -1):
        end = now - timedelta(hours=hour - 1)
        outcomes = [
            monitoring.Outcome(
                f"store={i}",
                "alert" if i < ALERTED else "ok",
                2.0 if i < ALERTED else 1.0 + 0.01 * hour,
                80,
                f"demand-mae: mae at store={i}",
                {},
                1.5,
            )
            for i in range(SEGMENTS)
        ]
        monitoring.record_outcomes(
            store, monitor, outcomes, window=(end - timedelta(hours=1), end), now=end, actor="bench"
        )
    for alert in monitoring.list_alerts(store, state="active")[:RESOLVED]:
        monitoring.resolve_alert(
            store,
            alert.id,
            actor="operator",
            reason="looked at it",
            resolution="false_alarm" if alert.id % 2 else "real_change",
        )
    spec = MonitorSpec(
        name="demand-drift",
        model="demand",
        kind="drift",
        window="1d",
        reference=reference,
        per_segment=True,
    )
    drift = monitoring.create_monitor(store, spec, actor="bench")
    columns = [
        {
            "name": "price",
            "drifted": True,
            "method": "psi",
            "statistic": 0.6,
            "p_value": None,
            "threshold": 0.2,
        },
        {
            "name": "qty",
            "drifted": False,
            "method": "psi",
            "statistic": 0.01,
            "p_value": None,
            "threshold": 0.2,
        },
    ]
    outcomes = [
        monitoring.Outcome(
            f"store={i}",
            "alert" if i < DRIFTED else "ok",
            0.6 if i < DRIFTED else 0.01,
            1000,
            f"demand-drift: drift in price at store={i}",
            {"columns": columns if i < DRIFTED else columns[1:]},
            0.2,
        )
        for i in range(SEGMENTS)
    ]
    monitoring.record_outcomes(
        store, drift, outcomes, window=(now - timedelta(days=1), now), now=now, actor="bench"
    )


def widen(store, template) -> float:
    """A second family of WIDE - SEGMENTS segments (no gate), each with its champion."""
    began = time.perf_counter()
    from loopml.registry import promotion
    from loopml.registry import service as registry
    from loopml.registry.service import NewVersion

    for start in range(0, WIDE - SEGMENTS, SEGMENTS):
        news = [
            NewVersion(*template, {"sku": s}, None, {"mae": 1.0})
            for s in range(start, start + SEGMENTS)
        ]
        versions = registry.register_many(store, "inventory", news, actor="retrainer")
        promotion.promote_many(store, "inventory", versions, actor="retrainer")
    return time.perf_counter() - began


# timing -----------------------------------------------------------------------


def timed(client, path: str) -> tuple[float, float]:
    """Median wall and CPU seconds of a page. The CPU time (of the process: the server
    runs in it) is what the page costs; the wall time also holds the waits of a shared,
    loaded machine."""
    client.get(path)  # templates compiled and caches warm: the steady state is timed
    walls, cpus = [], []
    for _ in range(REPEATS):
        started, cpu = time.perf_counter(), time.process_time()
        answer = client.get(path)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return statistics.median(walls), statistics.median(cpus)


def ready(client, limit: float = 300.0) -> float:
    """Seconds until the server answers /readyz (its serving engine has loaded the
    champions: work of the start, not of any page, whose CPU would count in a page's)."""
    started = time.perf_counter()
    while client.get("/readyz").status_code != 200:
        if time.perf_counter() - started > limit:
            raise RuntimeError(f"The server was not ready within {limit:.0f} s.")
        time.sleep(0.2)
    return time.perf_counter() - started


def preloaded(client, limit: float = 300.0) -> float:
    """Seconds until the serving engine has loaded its champions' budget in the background."""
    started = time.perf_counter()
    while client.get("/readyz").json().get("models_preloading"):
        if time.perf_counter() - started > limit:
            raise RuntimeError(f"The models were not preloaded within {limit:.0f} s.")
        time.sleep(0.05)
    return time.perf_counter() - started


def first_view(client, path: str) -> tuple[float, float]:
    """Wall and CPU seconds of a page's first fetch once the server has started: the
    health table then reads the prediction log's totals (the small file kept beside each
    log file), which later views keep."""
    started, cpu = time.perf_counter(), time.process_time()
    answer = client.get(path)
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return time.perf_counter() - started, time.process_time() - cpu


def pages(store) -> dict[str, str]:
    from loopml.monitoring import service as monitoring
    from loopml.registry import approvals

    metric = monitoring.list_alerts(store, state="active", monitor="demand-mae")[0].id
    drift = monitoring.list_alerts(store, state="active", monitor="demand-drift")[0].id
    approval = approvals.list_approvals(store)[0].id
    return {
        "sign-in": "/ui/login",
        "needs you": "/ui/",
        "health, page 1": "/ui/health",
        "health, search + filter": "/ui/health?q=store%3D9&status=action",
        "health, sorted by alerts": "/ui/health?sort=alerts&desc=true&page=5",
        "alerts + monitor precision": "/ui/alerts",
        "alerts, all states": "/ui/alerts?state=all",
        "one alert (performance)": f"/ui/alerts/{metric}",
        "one alert (drift, reads the log)": f"/ui/alerts/{drift}",
        "approvals": "/ui/approvals",
        "one approval": f"/ui/approvals/{approval}",
        "models": "/ui/models",
        "model": "/ui/models/demand",
        "model, page 5": "/ui/models/demand?page=5",
        "model, one segment": "/ui/models/demand?segment=store%3D7",
        "version card": f"/ui/models/demand/versions/{SEGMENTS * 5 + 8}",
    }


WIDE_PAGES = {
    "health, page 1": "/ui/health",
    "health, search + filter": "/ui/health?q=sku%3D99&status=healthy",
    "health, sorted by retrain, last page": "/ui/health?sort=retrained&desc=true&page=200",
}


def measure(backend: str, url: str | None, folder: Path) -> dict:
    from fastapi.testclient import TestClient

    import loopml
    from loopml.server import create_app

    context = loopml.configure(home=folder / "loopml", store_url=url, actor="bench")
    try:
        spent = build(context)
        template = _template(loopml.list_model_versions("template")[0])
        load = os.getloadavg()[0]
        with TestClient(create_app(context=context)) as client:
            spent["start until ready"] = ready(client)
            # A page fetched while the engine still loads its champions in the background
            # shares the two cores with that loading: shown, not judged.
            during = first_view(client, "/ui/")
            spent["champions preloaded in the background"] = preloaded(client)
            cold = first_view(client, "/ui/health")
            reference = timed(client, "/api/v1/alerts?state=all")
            measured = {"health, page 1, first view after start": cold}
            contended = {"needs you, while the champions preload": during}
            measured |= {name: timed(client, path) for name, path in pages(context.store).items()}
            spent[f"{WIDE - SEGMENTS:,} segments more"] = widen(context.store, template)
            wide_reference = timed(client, "/api/v1/alerts?state=all")
            wide = {name: timed(client, path) for name, path in WIDE_PAGES.items()}
        return {
            "backend": backend,
            "spent": spent,
            "load": load,
            "reference": reference,
            "measured": measured,
            "contended": contended,
            "wide_reference": wide_reference,
            "wide": wide,
            "load_after": os.getloadavg()[0],
        }
    finally:
        context.close()


@contextmanager
def postgres_database():
    from sqlalchemy import create_engine, text

    name = f"loopml_bench_ui_{uuid.uuid4().hex[:10]}"
    admin = create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")

    def run(statement: str) -> None:
        with admin.connect() as connection:
            connection.execute(text(statement))

    run(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# the report -------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _row(
    name: str, page: tuple[float, float], reference: tuple[float, float], target: float | None
):
    (wall, cpu), (anchor, anchor_cpu) = page, reference
    return [
        name,
        _ms(wall),
        _ms(cpu),
        _ms(anchor),
        _ms(anchor_cpu),
        f"{wall / anchor:.1f}x",
        "—" if target is None else f"< {target * 1000:.0f} ms",
        "" if target is None else "pass" if wall < target else "FAIL",
    ]


def table(result: dict) -> str:
    rows = [
        _row(name, page, result["reference"], TARGET_S) for name, page in result["measured"].items()
    ]
    rows += [
        _row(name, page, result["reference"], None) for name, page in result["contended"].items()
    ]
    rows += [
        _row(f"{name} ({WIDE:,} segments)", page, result["wide_reference"], WIDE_TARGET_S)
        for name, page in result["wide"].items()
    ]
    header = ["page", "loopml UI", "(CPU)", "REST /api/v1/alerts", "(CPU)", "ratio", "target", ""]
    built = ", ".join(f"{part} {s:.0f} s" for part, s in result["spent"].items())
    return (
        f"### {result['backend']}\n\n"
        + markdown_table(header, rows)
        + f"\n\nBuilt in {sum(result['spent'].values()):.0f} s ({built}). 1-minute load "
        f"{result['load']:.1f} when the pages were timed, {result['load_after']:.1f} after.\n"
    )


def main() -> None:
    results = []
    with tempfile.TemporaryDirectory() as folder:
        results.append(measure("SQLite", None, Path(folder) / "sqlite"))
        print(table(results[-1]), flush=True)
        with postgres_database() as url:
            results.append(measure("PostgreSQL", url, Path(folder) / "postgres"))
            print(table(results[-1]), flush=True)
    body = (
        f"## Web UI pages: {SEGMENTS:,} segments, {SEGMENTS * ROUNDS:,} runs, "
        f"{PREDICTIONS:,} logged predictions\n\n"
        f"Median server time of each page over {REPEATS} fetches after one not timed "
        "(in-process, no network; the first row is the one fetch right after the server "
        "is ready and has preloaded its champions in the background, its prediction-log "
        "totals not yet read; the row after the pages is one fetch while that preload "
        "still runs, which shares the cores with it, shown and not judged), "
        "wall clock and CPU of the process, beside the REST API's JSON list of the same "
        "alerts in the same run (pass/FAIL judges the wall clock). The store: "
        f"{SEGMENTS * ROUNDS:,} tracked runs and versions of one family ({ROUNDS} a segment, nine "
        f"promotions each), a day of {PREDICTIONS:,} logged predictions (Parquet, through the "
        f"serving log's writer), {WINDOWS} hourly results of a performance monitor for every "
        f"segment with {ALERTED - RESOLVED} open alerts and {RESOLVED} resolved as real change or "
        f"false alarm, a drift monitor's {DRIFTED} alerts of one cause (their page reads the "
        f"day's log for the drifted feature's distribution), {PENDING} approvals. The last rows "
        f"time the health table once a second family of {WIDE - SEGMENTS:,} segments is added. A 1-minute load far "
        f"above the {os.cpu_count()} cores slows every figure by about the same factor.\n\n"
        + "\n".join(table(r) for r in results)
        + "\nRun: `PYTHONPATH=src:. python -m benchmarks ui` (PostgreSQL at "
        "127.0.0.1:5432, or LOOPML_BENCH_PG; a database of its own, dropped afterwards)."
    )
    write_section("ui", body)
    print(body)
