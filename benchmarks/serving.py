"""Serving: single-row latency, throughput under 8 clients, and batch scoring.

The same logistic regression (same rows, same parameters) is served by
``loopml serve`` and by ``mlflow models serve --env-manager local``; one load
generator (``anchor_scripts/loadgen.py``, keep-alive HTTP on 127.0.0.1) drives
both. Targets: single-row p50 at most 1 ms above the raw
``model.predict`` call; throughput >= 10x MLflow's; batch scoring of 1M rows at
>= 90% of the raw model's predict throughput.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.anchors import MLFLOW_REQUIREMENTS, anchor_python, free_port, run_anchor
from benchmarks.report import markdown_table, write_section

HERE = Path(__file__).parent
WORK = HERE / ".work" / "serving"
LOADGEN = HERE / "anchor_scripts" / "loadgen.py"
FEATURES = [f"x{i}" for i in range(8)]
MODEL = "bench-lr"
THROUGHPUT_REQUESTS = int(os.environ.get("BENCH_SERVING_REQUESTS", "20000"))
BATCH_ROWS = int(os.environ.get("BENCH_SERVING_BATCH_ROWS", "1000000"))


def main() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    train = _rows(20_000, seed=0)
    train.to_parquet(WORK / "train.parquet")
    model, settings = _register(train)
    one = train[FEATURES].head(1)
    raw = _raw_latency(model, one)
    bodies = _bodies(one)

    loopml_latency, loopml_records, loopml_throughput = _loopml_http(settings, bodies)
    mlflow = run_anchor(
        anchor_python("mlflow", MLFLOW_REQUIREMENTS),
        HERE / "anchor_scripts" / "mlflow_serving.py",
        str(WORK),
        str(WORK / "train.parquet"),
        str(bodies["mlflow"]),
        str(LOADGEN),
        str(free_port()),
        str(THROUGHPUT_REQUESTS),
    )
    batch = _batch(model, settings)
    _report(raw, loopml_latency, loopml_records, loopml_throughput, mlflow, batch)


def _rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, len(FEATURES))), columns=FEATURES)
    frame["label"] = (frame["x0"] + 0.5 * frame["x1"] - frame["x2"] > 0).astype(np.int64)
    return frame


def _register(train: pd.DataFrame):
    from sklearn.linear_model import LogisticRegression

    import loopml

    settings = loopml.Settings(home=WORK / "home", actor="bench")
    loopml.configure(settings)
    model = LogisticRegression(max_iter=200).fit(train[FEATURES], train["label"])
    version = loopml.log_model(model, MODEL, input_example=train[FEATURES].head(5))
    loopml.set_alias(MODEL, "champion", version.version)
    return model, settings


def _raw_latency(model, one: pd.DataFrame) -> dict:
    for _ in range(200):
        model.predict(one)
    times = []
    for _ in range(2000):
        started = time.perf_counter()
        model.predict(one)
        times.append(time.perf_counter() - started)
    times.sort()
    return {
        "p50_ms": statistics.median(times) * 1000,
        "p99_ms": times[int(len(times) * 0.99)] * 1000,
    }


def _bodies(one: pd.DataFrame) -> dict[str, Path]:
    values = [float(v) for v in one.iloc[0]]
    documents = {
        "mlflow": {"dataframe_split": {"columns": FEATURES, "data": [values]}},
        "records": {"records": [dict(zip(FEATURES, values, strict=True))]},
    }
    paths = {}
    for name, document in documents.items():
        paths[name] = WORK / f"body-{name}.json"
        paths[name].write_text(json.dumps(document))
    return paths


def _loopml_http(settings, bodies):
    port = free_port()
    env = {
        **os.environ,
        "LOOPML_HOME": str(settings.home),
        "LOOPML_ACTOR": "bench",
    }
    command = [sys.executable, "-c", "import sys; from loopml.cli import main; main(sys.argv[1:])"]
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_ready(port)
        invocations = f"/v1/models/{MODEL}/invocations"
        predict = f"/v1/models/{MODEL}/predict"
        latency = _drive(port, invocations, bodies["mlflow"], clients=1, requests=2000)
        records = _drive(port, predict, bodies["records"], clients=1, requests=2000)
        throughput = _drive(
            port, invocations, bodies["mlflow"], clients=8, requests=THROUGHPUT_REQUESTS
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    return latency, records, throughput


def _wait_ready(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("loopml serve did not become ready")


def _drive(port: int, path: str, body: Path, *, clients: int, requests: int) -> dict:
    result = subprocess.run(
        [
            sys.executable,
            str(LOADGEN),
            str(port),
            path,
            str(body),
            "--clients",
            str(clients),
            "--requests",
            str(requests),
            "--seconds",
            "60",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _batch(model, settings) -> dict:
    import pyarrow.parquet as pq

    import loopml

    frame = _rows(BATCH_ROWS, seed=1)[FEATURES]
    source, output = WORK / "batch.parquet", WORK / "scored.parquet"
    frame.to_parquet(source, row_group_size=100_000)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    model.predict(frame)
    timings["raw_memory"] = time.perf_counter() - started
    started = time.perf_counter()
    loopml.predict_batch(MODEL, frame)
    timings["loopml_memory"] = time.perf_counter() - started

    started = time.perf_counter()
    table = pq.read_table(source).to_pandas()
    table["prediction"] = model.predict(table)
    table.to_parquet(WORK / "raw-scored.parquet")
    timings["raw_file"] = time.perf_counter() - started
    started = time.perf_counter()
    loopml.predict_batch(MODEL, source, output)
    timings["loopml_file"] = time.perf_counter() - started
    return timings


def _report(raw, latency, records, throughput, mlflow, batch) -> None:
    ml_latency, ml_throughput = mlflow["latency"], mlflow["throughput"]
    ratio = throughput["throughput"] / ml_throughput["throughput"]
    rows = [
        [
            "raw `model.predict` (1 row, in process)",
            f"{raw['p50_ms']:.3f}",
            f"{raw['p99_ms']:.3f}",
            "—",
        ],
        [
            "loopml `/invocations`, 1 client",
            f"{latency['p50_ms']:.3f}",
            f"{latency['p99_ms']:.3f}",
            f"{latency['throughput']:.0f}",
        ],
        [
            "loopml `/predict` (records), 1 client",
            f"{records['p50_ms']:.3f}",
            f"{records['p99_ms']:.3f}",
            f"{records['throughput']:.0f}",
        ],
        [
            "mlflow models serve `/invocations`, 1 client",
            f"{ml_latency['p50_ms']:.3f}",
            f"{ml_latency['p99_ms']:.3f}",
            f"{ml_latency['throughput']:.0f}",
        ],
        [
            "loopml `/invocations`, 8 clients",
            f"{throughput['p50_ms']:.3f}",
            f"{throughput['p99_ms']:.3f}",
            f"{throughput['throughput']:.0f}",
        ],
        [
            "mlflow models serve `/invocations`, 8 clients",
            f"{ml_throughput['p50_ms']:.3f}",
            f"{ml_throughput['p99_ms']:.3f}",
            f"{ml_throughput['throughput']:.0f}",
        ],
    ]
    n = BATCH_ROWS
    batch_rows = [
        ["raw `model.predict(frame)`", f"{n / batch['raw_memory']:,.0f}", "—"],
        [
            "`loopml.predict_batch(name, frame)`",
            f"{n / batch['loopml_memory']:,.0f}",
            f"{batch['raw_memory'] / batch['loopml_memory']:.0%}",
        ],
        ["raw read Parquet → predict → write Parquet", f"{n / batch['raw_file']:,.0f}", "—"],
        [
            "`loopml predict` file → file (chunked)",
            f"{n / batch['loopml_file']:,.0f}",
            f"{batch['raw_file'] / batch['loopml_file']:.0%}",
        ],
    ]
    body = f"""## Serving

Logistic regression on 8 numeric features, one row per request, keep-alive
HTTP on 127.0.0.1 from a separate load-generator process; {THROUGHPUT_REQUESTS:,}
requests for the 8-client runs. loopml logs every prediction (as in production).

{markdown_table(["what", "p50 ms", "p99 ms", "requests/s"], rows)}

- Single-row p50 above raw predict: loopml **{latency["p50_ms"] - raw["p50_ms"]:.2f} ms**
  (target ≤ 1 ms), MLflow {ml_latency["p50_ms"] - raw["p50_ms"]:.2f} ms.
- Throughput with 8 clients: **{ratio:.1f}×** MLflow (target ≥ 10×); failures: loopml
  {throughput["failures"]}, MLflow {ml_throughput["failures"]}.

Batch scoring of {n:,} rows (rows per second; ratio = share of the raw throughput). The
target (≥ 90%) is read as `loopml predict` on a file against the same work done by
hand — read the Parquet file, `model.predict`, write Parquet — since no file can be
scored at the speed of a bare in-memory `predict` call. The in-memory row is shown for
reference: `predict_batch` also resolves the alias and loads the version, computes the
probabilities and adds the version and segment of every row.

{markdown_table(["what", "rows/s", "vs raw"], batch_rows)}
"""
    write_section("serving", body)
    print(body)


if __name__ == "__main__":
    main()
