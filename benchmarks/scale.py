"""Many segments end to end: train, rerun, log data, serve, monitor and look up.

Every figure stands beside its raw baseline from the same run: ``loopml run``
beside the same fits in a plain loop, ``log_dataset`` beside a bare Parquet
write, a monitor pass beside a bare read and group-by of the same log, the
server's latency beside the model call alone.

Sizes come from the environment so the default run takes a few minutes on two
cores; the headline size is ``BENCH_SCALE_SEGMENTS=10000`` (200 rows each).

    BENCH_SCALE_SEGMENTS        segments trained and served (default 2000)
    BENCH_SCALE_DATASET_ROWS    rows of the 50-column frame for log_dataset (1,000,000)
    BENCH_SCALE_LOG_ROWS        rows of the prediction log for the monitor pass (1,000,000)
    BENCH_SCALE_LOG_SEGMENTS    segments that log spans (10,000)
    BENCH_SCALE_DASK            1 to also train on a Dask LocalCluster (default 1)
    BENCH_SCALE_PARTS           the parts to run, comma-separated, of training, registry,
                                serving, datasets, monitoring (default all); registry and
                                serving need training. A run of some parts prints its
                                figures and leaves BENCHMARKS.md alone.
    BENCH_SCALE_SERVING_ONLY    1 to build the champions in bulk (a fit, a skops file and a
                                registration each, no pipeline) and time only the registry
                                and serving parts (default 0)
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

import loopml
from benchmarks.anchors import free_port
from benchmarks.pipeline import FEATURES, identical, make_table, project, raw_fit_seconds
from benchmarks.report import markdown_table, write_section
from benchmarks.serving import _wait_ready
from loopml.config import Settings

SEGMENTS = int(os.environ.get("BENCH_SCALE_SEGMENTS", "2000"))
ROWS = 200
DATASET_ROWS = int(os.environ.get("BENCH_SCALE_DATASET_ROWS", "1000000"))
LOG_ROWS = int(os.environ.get("BENCH_SCALE_LOG_ROWS", "1000000"))
LOG_SEGMENTS = int(os.environ.get("BENCH_SCALE_LOG_SEGMENTS", "10000"))
DASK = os.environ.get("BENCH_SCALE_DASK", "1") == "1"
PARTS = ("training", "registry", "serving", "datasets", "monitoring")
CHOSEN = [p.strip() for p in os.environ.get("BENCH_SCALE_PARTS", ",".join(PARTS)).split(",")]
SERVING_ONLY = os.environ.get("BENCH_SCALE_SERVING_ONLY", "0") == "1"
MAX_MODELS = max(1, SEGMENTS // 4)  # the server's budget: most segments start cold
CHANGED = 0.01  # share of segments whose rows change before the partial rerun
NAME = "scale"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


def main() -> None:
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        home = work / "home"
        settings = Settings(home=home, store_url=f"sqlite:///{home / 'loopml.db'}")
        loopml.configure(settings)
        loopml.list_experiments()  # the store exists before any clock starts
        figures = {"load": load}
        parts = [bulk_champions, registry, serving] if SERVING_ONLY else _parts()
        for part in parts:
            figures |= part(work, settings)
            _say(f"{part.__name__}: {figures}")
        figures["load_end"] = os.getloadavg()[0]
    if set(CHOSEN) != set(PARTS):  # the report's table needs every part's figures
        print(json.dumps(figures, indent=2))
        return
    body = report(figures)
    write_section("scale-serving" if SERVING_ONLY else "scale", body)
    print(body)


def _parts() -> list:
    unknown = sorted(set(CHOSEN) - set(PARTS))
    if unknown:
        sys.exit(f"BENCH_SCALE_PARTS names no part {', '.join(unknown)}; parts: {', '.join(PARTS)}")
    return [globals()[name] for name in PARTS if name in CHOSEN]


# training -------------------------------------------------------------------


def training(work: Path, settings: Settings) -> dict:
    frame = make_table(SEGMENTS, ROWS)
    data = work / "sales.parquet"
    frame.to_parquet(data, index=False)
    out = {"raw_fit": raw_fit_seconds(frame, ROWS)}
    out["raw_refit"] = raw_fit_seconds(frame, ROWS, refit=True)
    out["plain_loop"] = plain_loop(frame)
    cpu = time.process_time()
    out["run"], result = timed(lambda: loopml.Pipeline(project(NAME, data)).run())
    out["coordinator_cpu"] = time.process_time() - cpu  # the process that plans and writes
    out["worker_cpu"] = sum(o.cpu_seconds for o in result.segments)  # the segments' own
    out["trained"] = result.count("trained")
    _say(f"loopml run {out['run']:.1f}s: {result.summary()}")
    if DASK:
        out |= dask_run(data)
    out["rerun"], again = timed(lambda: loopml.Pipeline(project(NAME, data)).run())
    out["rerun_trained"] = again.count("trained")
    changed = change_segments(frame, CHANGED)
    changed.to_parquet(data, index=False)
    out["partial"], partial = timed(lambda: loopml.Pipeline(project(NAME, data)).run())
    out["partial_trained"], out["partial_expected"] = partial.count("trained"), _changed(CHANGED)
    return out


def bulk_champions(work: Path, settings: Settings) -> dict:
    """Champions without a pipeline: fit, pack, register and set the alias of every
    segment in a few transactions, so serving can be timed at sizes a pipeline run on
    two shared cores would take too long to reach."""
    from sklearn.linear_model import Ridge

    from loopml._context import get_context
    from loopml.models import pack
    from loopml.models.signature import infer
    from loopml.registry import service

    frame = make_table(SEGMENTS, ROWS)
    X, y = frame[FEATURES], frame["units"].to_numpy()
    signature = infer(X.iloc[:5])
    context = get_context()
    started = time.perf_counter()
    for start in range(0, SEGMENTS, 500):
        skus = range(start, min(start + 500, SEGMENTS))
        blobs = [
            pack(
                Ridge().fit(X.iloc[s * ROWS : (s + 1) * ROWS], y[s * ROWS : (s + 1) * ROWS]),
                signature,
                trusted=False,
            ).to_bytes()
            for s in skus
        ]
        stored = context.artifacts.put_many(blobs)
        versions = service.register_many(
            context.store,
            NAME,
            [
                service.NewVersion(
                    flavor="sklearn",
                    artifact_digest=o.digest,
                    artifact_size=o.size,
                    signature=signature,
                    segment={"sku": f"sku{s:04d}"},
                )
                for s, o in zip(skus, stored, strict=True)
            ],
            actor="bench",
        )
        with context.store.write() as session:
            service.set_aliases(
                session,
                NAME,
                "champion",
                [(v.version, v.segment_key) for v in versions],
                actor="bench",
            )
    built = time.perf_counter() - started
    _say(f"{SEGMENTS} champions built in bulk in {built:.1f}s")
    return {"trained": SEGMENTS, "bulk": built}


def plain_loop(frame: pd.DataFrame) -> float:
    """What a data scientist writes by hand: group, split, fit, score each segment."""
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score
    from sklearn.model_selection import train_test_split

    started = time.perf_counter()
    for _key, rows in frame.groupby("sku"):
        train, test = train_test_split(rows, test_size=0.2, random_state=0)
        model = Ridge().fit(train[FEATURES], train["units"])
        r2_score(test["units"], model.predict(test[FEATURES]))
    return time.perf_counter() - started


def change_segments(frame: pd.DataFrame, share: float) -> pd.DataFrame:
    changed = frame.copy()
    skus = sorted(frame["sku"].unique())[: _changed(share)]
    rows = changed["sku"].isin(skus)
    changed.loc[rows, "units"] += 1.0
    return changed


def _changed(share: float) -> int:
    return max(1, int(SEGMENTS * share))


def dask_run(data: Path) -> dict:
    import distributed

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        address = "dask://" + cluster.scheduler_address.removeprefix("tcp://")
        seconds, result = timed(
            lambda: loopml.Pipeline(project(f"{NAME}-dask", data, address)).run()
        )
    same = result.count("trained") == SEGMENTS and identical(NAME, f"{NAME}-dask", SEGMENTS)
    return {"dask": seconds, "dask_identical": same}


# registry -------------------------------------------------------------------


def registry(work: Path, settings: Settings) -> dict:
    listing, versions = timed(lambda: loopml.list_model_versions(NAME))
    keys = [v.segment_key for v in versions][:: max(1, len(versions) // 200)]
    started = time.perf_counter()
    for key in keys:
        loopml.get_model_version(NAME, alias="champion", segment=key)
    lookup = (time.perf_counter() - started) / len(keys)
    return {
        "listing": listing,
        "versions": len(versions),
        "lookup": lookup,
        "raw_lookup": _raw_lookup(settings, keys),
    }


def _raw_lookup(settings: Settings, keys: list[str]) -> float:
    """The anchor: the same champion rows by one hand-written SQL join, sqlite3 alone."""
    import sqlite3

    connection = sqlite3.connect(settings.store_url.removeprefix("sqlite:///"))
    query = (
        "SELECT v.* FROM model_versions v JOIN aliases a ON a.version_id = v.id "
        "JOIN models m ON m.id = a.model_id "
        "WHERE m.name = ? AND a.segment_key = ? AND a.alias = 'champion'"
    )
    started = time.perf_counter()
    for key in keys:
        connection.execute(query, (NAME, key)).fetchall()
    seconds = (time.perf_counter() - started) / len(keys)
    connection.close()
    return seconds


# serving --------------------------------------------------------------------


def serving(work: Path, settings: Settings) -> dict:
    import psutil

    row = make_table(1, 1)[FEATURES].iloc[0]
    champions = [  # segments whose model passed its gate
        s["segment"].removeprefix("sku=") for s in loopml.list_segments(NAME) if s["aliases"]
    ]
    model = loopml.load_model(f"models:/{NAME}@champion", segment="sku=sku0000").native
    raw = _model_call(model, row)
    port = free_port()
    env = {
        **os.environ,
        "LOOPML_HOME": str(settings.home),
        "LOOPML_ACTOR": "bench",
        "LOOPML_STORE_URL": settings.store_url,
        "LOOPML_SERVING_MAX_MODELS": str(MAX_MODELS),
    }
    command = [sys.executable, "-c", "import sys; from loopml.cli import main; main(sys.argv[1:])"]
    started = time.perf_counter()
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_ready(port, timeout=600)
        ready = time.perf_counter() - started
        rss_ready = psutil.Process(server.pid).memory_info().rss
        preloaded = _wait_preloaded(port) - started
        rss_preloaded = psutil.Process(server.pid).memory_info().rss
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        warm = [_predict(connection, champions[0], row) for _ in range(500)]
        # Preloading takes the champions in order: the later ones have never been loaded.
        unloaded = sorted(champions)[MAX_MODELS:]
        order = np.random.default_rng(1).permutation(len(unloaded))[:500]
        cold = [_predict(connection, unloaded[i], row) for i in order]
        rss_after = psutil.Process(server.pid).memory_info().rss
        loaded = _metric(port, "loopml_models_loaded")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    return {
        "ready": ready,
        "preloaded": preloaded,
        "rss_ready": rss_ready,
        "rss_preloaded": rss_preloaded,
        "rss_after": rss_after,
        "loaded": loaded,
        "raw_call": raw,
        "warm": _percentiles(warm),
        "cold": _percentiles(cold),
    }


def _wait_preloaded(port: int, timeout: float = 600) -> float:
    """When the server reported it had loaded its budget in the background."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as answer:
            if not json.loads(answer.read()).get("models_preloading"):
                return time.perf_counter()
        time.sleep(0.1)
    raise RuntimeError("loopml serve did not finish preloading")


def _metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        lines = answer.read().decode().splitlines()
    return float(next(line for line in lines if line.startswith(name + " ")).split()[-1])


def _model_call(model, row: pd.Series) -> float:
    frame = row.to_frame().T
    started = time.perf_counter()
    for _ in range(200):
        model.predict(frame)
    return (time.perf_counter() - started) / 200


def _predict(connection: http.client.HTTPConnection, sku: str, row: pd.Series) -> float:
    body = json.dumps({"records": [{"sku": sku, **row.to_dict()}]})
    started = time.perf_counter()
    connection.request(
        "POST", f"/v1/models/{NAME}/predict", body, {"Content-Type": "application/json"}
    )
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"predict answered {response.status}")
    return time.perf_counter() - started


def _percentiles(seconds: list[float]) -> dict[str, float]:
    values = np.array(seconds) * 1000
    return {"p50": float(np.percentile(values, 50)), "p99": float(np.percentile(values, 99))}


# datasets -------------------------------------------------------------------


def datasets(work: Path, settings: Settings) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from loopml.data.frames import PARQUET_OPTIONS

    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(size=(DATASET_ROWS, 50)), columns=[f"c{i}" for i in range(50)])

    def bare(**options) -> None:  # from pandas to a Parquet file, as log_dataset goes
        pq.write_table(
            pa.Table.from_pandas(frame, preserve_index=False), work / "bare.parquet", **options
        )

    defaults, _ = timed(bare)
    same, _ = timed(lambda: bare(**PARQUET_OPTIONS))
    logged, _ = timed(lambda: loopml.log_dataset(frame, "wide"))
    return {"bare_parquet_defaults": defaults, "bare_parquet": same, "log_dataset": logged}


# monitoring -----------------------------------------------------------------


def monitoring(work: Path, settings: Settings) -> dict:
    import pyarrow.dataset as ds

    root = settings.resolved_artifact_uri
    _write_log(root, LOG_ROWS, LOG_SEGMENTS)
    rng = np.random.default_rng(9)
    training = pd.DataFrame({"price": rng.normal(0, 1, 5000), "qty": rng.normal(5, 2, 5000)})
    digest = loopml.save_reference(loopml.make_reference(training))
    loopml.create_monitor(
        name="drift", model="logged", kind="drift", window="2h", reference=digest, per_segment=True
    )
    loopml.create_monitor(
        name="mae",
        model="logged",
        kind="performance",
        window="2h",
        metric="mae",
        threshold=5,
        per_segment=True,
    )

    def bare() -> None:
        # The log's Parquet files only: each hour's folder also holds the UI's totals sidecar.
        files = sorted(str(path) for path in Path(root, "predictions").rglob("*.parquet"))
        table = ds.dataset(
            files, format="parquet", partitioning="hive", partition_base_dir=f"{root}/predictions"
        ).to_table()
        frame = table.select(["segment", "input.price", "input.qty", "prediction"]).to_pandas()
        frame.groupby("segment").agg(["mean", "std"])

    raw, _ = timed(bare)
    seconds, report = timed(lambda: loopml.run_monitors(now=NOW, force=True))
    counted = {name: len(outcomes) for name, outcomes in report.outcomes.items()}
    return {"monitor": seconds, "monitor_raw": raw, "monitor_outcomes": counted}


def _write_log(root: str, rows: int, segments: int) -> None:
    from loopml.predictions.schema import predictions_table

    rng = np.random.default_rng(4)
    times = pd.date_range(NOW - timedelta(hours=1), NOW, periods=rows, tz="UTC")
    ids = [f"p{i}" for i in range(rows)]
    predicted = rng.normal(50, 5, rows)
    fields = {
        "prediction_id": ids,
        "time": list(times),
        "model": ["logged"] * rows,
        "version": [1] * rows,
        "segment": [f"store={i % segments}" for i in range(rows)],
        "prediction": predicted,
    }
    features = {"price": rng.normal(0.2, 1, rows), "qty": rng.normal(5, 2, rows)}
    with loopml.PredictionLog(root) as log:
        log.append_table(predictions_table(fields, features))
    labels = predicted + rng.normal(0, 3, rows)
    with loopml.FeedbackLog(root) as feedback:
        feedback.append(zip(ids, labels.tolist(), [NOW] * rows, strict=True))


# the report -----------------------------------------------------------------


def report(f: dict) -> str:
    rows = []
    for key, part in [
        ("run", _training_rows),
        ("bulk", _bulk_rows),
        ("log_dataset", _dataset_rows),
        ("monitor", _monitoring_rows),
        ("ready", _serving_rows),
        ("listing", _registry_rows),
    ]:
        if key in f:
            rows += part(f)
    trained = f"{f['trained']:,} segments trained." if "run" in f else ""
    if "bulk" in f:
        trained = (
            f"{f['trained']:,} champions built in bulk (`BENCH_SCALE_SERVING_ONLY=1`): "
            "only the registry and serving parts ran."
        )
    heading = (
        f"## Serving many segments: {SEGMENTS:,} champions"
        if SERVING_ONLY
        else f"## Many segments: {SEGMENTS:,} × {ROWS} rows of ridge"
    )
    return (
        f"{heading}\n\n"
        f"`python -m benchmarks scale` (sizes from `BENCH_SCALE_*`, see the module); "
        f"1-minute load {f['load']:.1f} when it started, {f['load_end']:.1f} when it ended. "
        f"{trained}\n\n"
        + markdown_table(["what", "time", "against the target"], rows)
        + "\n\n"
        + (SERVING_NOTES if SERVING_ONLY else NOTES + "\n" + SERVING_NOTES)
    )


def _training_rows(f: dict) -> list[list[str]]:
    per_segment = (f["run"] - f["raw_fit"]) / SEGMENTS * 1000
    beside_both = (f["run"] - f["raw_refit"]) / SEGMENTS * 1000
    rows = [
        [f"raw `Ridge.fit` × {SEGMENTS:,} (one process)", _s(f["raw_fit"]), "the fits alone"],
        [
            f"raw `Ridge.fit` × {2 * SEGMENTS:,}: the two fits a run makes of each segment",
            _s(f["raw_refit"]),
            "scored on its training rows, then refit on all (`split.refit`)",
        ],
        ["plain pandas group-by loop: split, fit, score", _s(f["plain_loop"]), "one process"],
        [
            "`loopml run`, 2 local workers",
            _s(f["run"]),
            f"raw fit + 15 s = {f['raw_fit'] + 15:.1f} s: {_met(f['run'] <= f['raw_fit'] + 15)}; "
            f"platform work per segment {per_segment:.1f} ms beside one fit, "
            f"{beside_both:.1f} ms beside the two it makes (≤ 1 ms: {_met(beside_both <= 1)}); "
            f"CPU: {f['coordinator_cpu']:.1f} s coordinating, {f['worker_cpu']:.1f} s in the "
            "workers (fits, scores, model files, drift references)",
        ],
        [
            "rerun, nothing changed",
            _s(f["rerun"]),
            f"{f['rerun_trained']} trained (target < 1 s: {_met(f['rerun'] < 1)})",
        ],
        [
            f"rerun, {f['partial_expected']} segments changed",
            _s(f["partial"]),
            f"{f['partial_trained']} trained (expected {f['partial_expected']})",
        ],
    ]
    if "dask" in f:
        rows.append(
            [
                "`loopml run`, Dask LocalCluster (2 workers)",
                _s(f["dask"]),
                f"identical models: {'yes' if f['dask_identical'] else 'NO'}",
            ]
        )
    return rows


def _bulk_rows(f: dict) -> list[list[str]]:
    return [
        [
            f"{SEGMENTS:,} champions built in bulk: fit, skops file, registration, alias",
            _s(f["bulk"]),
            "setup, not a loopml figure",
        ]
    ]


def _dataset_rows(f: dict) -> list[list[str]]:
    return [
        [
            f"bare `pyarrow.parquet.write_table` of a {DATASET_ROWS:,} × 50 frame, pyarrow's "
            "defaults (snappy)",
            _s(f["bare_parquet_defaults"]),
            "",
        ],
        ["the same, loopml's writer options (zstd level 3)", _s(f["bare_parquet"]), "the anchor"],
        [
            "`log_dataset` of the same frame: write, hash, profile, summaries, version row",
            _s(f["log_dataset"]),
            f"{f['log_dataset'] / f['bare_parquet']:.1f}× the bare write with the same options "
            f"(target ≤ 2×: {_met(f['log_dataset'] <= 2 * f['bare_parquet'])})",
        ],
    ]


def _monitoring_rows(f: dict) -> list[list[str]]:
    return [
        [
            f"bare read + group-by of a {LOG_ROWS:,}-row log, {LOG_SEGMENTS:,} segments",
            _s(f["monitor_raw"]),
            "",
        ],
        [
            "monitor pass: drift and MAE per segment",
            _s(f["monitor"]),
            f"{f['monitor_outcomes']} (target < 10 s: {_met(f['monitor'] < 10)})",
        ],
    ]


def _serving_rows(f: dict) -> list[list[str]]:
    return [
        [
            f"server start with {SEGMENTS:,} champions, until ready",
            _s(f["ready"]),
            f"the alias table read and one version loaded; target ≤ 30 s: {_met(f['ready'] <= 30)}",
        ],
        [
            "… until the budget is loaded in the background",
            _s(f["preloaded"]),
            f"{MAX_MODELS:,} versions (LOOPML_SERVING_MAX_MODELS); requests are answered meanwhile",
        ],
        [
            "server RSS when ready / preloaded / after the cold requests",
            f"{f['rss_ready'] / 2**20:.0f} / {f['rss_preloaded'] / 2**20:.0f} / "
            f"{f['rss_after'] / 2**20:.0f} MiB",
            f"{f['loaded']:,.0f} versions loaded at the end (LRU within the budget)",
        ],
        ["raw `Ridge.predict` of one row", f"{f['raw_call'] * 1000:.2f} ms", "the anchor"],
        [
            "warm segment, one row over HTTP (p50 / p99)",
            f"{f['warm']['p50']:.2f} / {f['warm']['p99']:.2f} ms",
            "",
        ],
        [
            "cold segment (never loaded), first request (p50 / p99)",
            f"{f['cold']['p50']:.2f} / {f['cold']['p99']:.2f} ms",
            f"target p99 ≤ 50 ms: {_met(f['cold']['p99'] <= 50)}",
        ],
    ]


def _registry_rows(f: dict) -> list[list[str]]:
    return [
        [f"registry: list {f['versions']:,} versions", _s(f["listing"]), ""],
        [
            "registry: champion lookup of one segment",
            f"{f['lookup'] * 1000:.2f} ms",
            f"the same row by one hand-written SQL join in sqlite3: "
            f"{f['raw_lookup'] * 1000:.2f} ms",
        ],
    ]


SERVING_NOTES = """What profiling (cProfile) found in serving's start and cold path, and what became of it:

- A server reported ready only once it had loaded its whole budget, and a poll walked every
  loaded version and every remembered absent key, forgetting each model's segment fields
  whenever any segment had no loaded version (10,000 champions with 2,500 loaded: every
  poll), so the next request read all of the family's segments again. Readiness now costs the
  alias table (one query) and one version load, which imports the flavor's libraries; the
  budget loads on a background thread; a poll handles only the keys that moved, and the
  segment fields are read again only when a move brings a segment with new key fields.
- A champion lookup ran five queries, one of them a scan of every alias of every model for
  the version's aliases; it reads the version by the alias's primary key, then its aliases
  and datasets by their keys, with statements built once (building one cost SQLAlchemy more
  than SQLite took to answer it). A listing built an ORM object and a signature per version;
  it reads columns, builds each distinct signature once, and reads the model's aliases and
  datasets in one query each."""

NOTES = """What profiling (pyinstrument) found in the per-segment path, and what became of it:

- Registration, gate and alias move were a transaction each per segment, with a model-row
  lock, a version lookup and an alias lookup each; they are one transaction per chunk now
  (`register_many`, `promote_many`, `set_aliases`), the champions of a chunk read in one query.
- A monitor pass read and decoded its reference once per segment and resolved each segment's
  champion for its importance; both are read once per pass now.
- A monitor pass summarized each segment on its own and called scipy's
  `wasserstein_distance` once per segment and feature (20,000 calls at 10,000 segments),
  then scored each segment's MAE apart. It now sorts each window by segment once,
  summarizes every segment's columns from that sort, computes the Wasserstein, PSI and
  Jensen–Shannon statistics of all segments sharing a reference in numpy at once (tests
  hold them equal to scipy), scores a regression's segments from one grouping, and
  inserts its new alerts in one statement. What remains is mostly the store's inserts of
  results, alerts and audit events, and the label join of the read.
- A serving poll read every alias of every model after any move; it reads the moves since its
  last poll now, and preloading stops at the server's model budget.
- A rerun read, hashed and validated the whole source; it answers from file metadata now.
- The prediction log drifts in every segment (its price is shifted by 0.2 standard
  deviations), so the monitor pass opens an alert for each of them: the worst case for its
  writes to the store.
- `log_dataset` built its Parquet in an in-memory Arrow buffer, which cost three to four
  times a file write on its own; it now streams into the artifact store's temporary file,
  hashing on the way, and profiles the table on a thread beside the write. Its codec stays
  zstd level 3, as the anchor's: smaller files than snappy, and the writer options are part
  of every version's content hash, so changing them would give logged content a new version.
  On this frame of random floats most of the write is Parquet's dictionary encoding giving up.
- A monitor pass flushed each new alert on its own to learn its id for the audit event: one
  round trip per alert. Results, alerts and audit events are now inserted in batches, and
  only the first 20 alert changes per monitor are logged one by one.
- Training sends each chunk to its worker as one frame of the columns it reads, each
  segment a range of its rows; the worker selects the features and builds the estimator
  once per chunk (a copy per segment). For scikit-learn's own estimators over float
  features it fits and scores on slices of one float array, checked finite per segment,
  and records the feature names as a fit on the frame would: scikit-learn's checks of a
  frame cost more than fitting a 200-row ridge. The models are bitwise those of the frame
  path. skops indented each model's schema, which runs Python's pure-Python JSON encoder;
  schemas and manifests are written compactly now. A chunk's registrations and alias moves
  insert their audit events in one statement.
- The validate step of a 2,000,000-row table took 19 s (cProfile, 10,000 segments), most of
  it in hashing: numpy's `unique` (which hashes, `_unique_hash`) on two million row
  hashes and target values, Arrow's `count_distinct` for constant columns, and the
  leakage check ranking the target again beside each feature with scipy's stable-sort
  `rankdata`. Duplicates and distinct values are counted by one sort now, constant
  columns compare their least and greatest values, the target is ranked once and ranks
  come from one unstable sort (tests hold them equal to scipy's).
- A chunk's versions were ORM objects flushed and then read back one by one for the
  columns the database fills; alias pointers and moves were ORM objects, the target
  versions loaded whole; each gate verdict was an ORM audit row; ending a chunk's runs
  wrote each run's metrics in two statements of its own. Versions, pointers, moves and
  verdicts are Core statements for the chunk now (ids returned in order), and a chunk's
  metrics are two statements. The model and reference files are written on a thread
  while the chunk's runs are inserted, and the workers encode each drift reference.
- cProfile of a 10,000-segment run's coordinator, and of a worker's chunk run in one
  process: a worker's segment cost about 3.5 raw fits, two of them the fits themselves
  (`split.refit` keeps its promise: scored on the train rows, registered knowing all),
  then skops walking the model's state (0.44 ms), the drift reference (0.38 ms to summarize
  through an Arrow table one column at a time, 0.13 ms to encode) and scoring. The
  reference's columns are sorted in one call from the segment's array now (0.24 ms; tests
  hold the summaries equal to the table's). On the coordinator the largest cost was
  creating files: two per segment, 0.15 to 0.6 ms of kernel time each on this machine
  (more under load), written on a thread beside the inserts. A segment's drift reference
  is kept inside its model's file now (the version's `reference_digest` is its
  `artifact_digest`; loading the model leaves it unread): one file per segment. Then comes
  SQLAlchemy's ~18 µs per inserted row, about 17 rows per segment (a run, 4 tags, 5
  metrics, a version, its dataset link, an alias and its move, 3 audit events).
  Still per segment: the two fits, skops walking each model's state, the drift
  reference's summaries (on the workers), and a file per model.
- Planning a 2,000,000-row run took 7 s of wall time before any segment trained (cProfile
  of the coordinator): the leakage check ranked every row of every feature (2.3 s), the
  estimator's library imported (1.3 s), the repeated rows were counted twice (once to infer
  the rules, once to check the table against them) and each of the 10,000 segments was a
  sliced frame that each chunk concatenated again. Leakage is scored on a seeded random
  100,000 rows (tests hold its scores within 0.02 of every row's on a real table), the
  import runs on a thread while the table is read and checked, rules inferred from the table
  skip re-counting its repeated rows (they allow them by construction), the file is hashed
  while it is read, and a segment is a range of one sorted table, a chunk one slice of it:
  planning takes 3 s now. Segments of one size share their seeded random split."""


def timed(function):
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _say(text: str) -> None:
    print(f"[bench] {text}", file=sys.stderr)
