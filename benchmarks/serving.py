"""Serving: single-row latency, throughput under 8 clients, and batch scoring.

The same logistic regression (same rows, same parameters) is served by
``loopml serve`` and by ``mlflow models serve --env-manager local``; one load
generator (``anchor_scripts/loadgen.py``, keep-alive HTTP on 127.0.0.1) drives
both. The loopml server is measured twice in one run: with the model's own
library (``native``), then after ``loopml.set_runtime(..., "onnx")`` switched
the same running server to onnxruntime. Beside them, in the same run: a bare Starlette
route on uvicorn (``anchor_scripts/starlette_hello.py``), what the HTTP stack alone costs
before any server does work of its own. Targets: single-row p50 at most 1 ms
above the raw ``model.predict`` call (0.3 ms through onnxruntime);
throughput >= 10x MLflow's (25x through onnxruntime); batch scoring of 1M rows
at >= 90% of the raw model's predict throughput.
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
    load = os.getloadavg()[0]
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    train = _rows(20_000, seed=0)
    train.to_parquet(WORK / "train.parquet")
    model, settings = _register(train)
    one = train[FEATURES].head(1)
    raw = _raw_latency(model.predict, one)
    bodies = _bodies(one)

    ceiling = _drive(
        free_port(), "/", bodies["mlflow"], clients=8, requests=THROUGHPUT_REQUESTS, ceiling=True
    )
    floor = _starlette_floor(bodies["mlflow"])
    runtimes, raw_onnx = _loopml_http(settings, bodies, train[FEATURES])
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
    _report(raw, raw_onnx, runtimes, mlflow, batch, (load, os.getloadavg()[0]), ceiling, floor)


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


def _raw_latency(call, one) -> dict:
    for _ in range(200):
        call(one)
    times = []
    for _ in range(2000):
        started = time.perf_counter()
        call(one)
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


def _onnx_call():
    """The version's ONNX export called as the server calls it: one float32 row."""
    import loopml

    loaded = loopml.load_model(f"models:/{MODEL}/1")
    return loaded.runtime_model.predict_proba


def _loopml_http(settings, bodies, sample: pd.DataFrame) -> tuple[dict[str, tuple], dict]:
    import loopml

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
    measured = {}
    try:
        _wait_ready(port)
        measured["native"] = _measure(port, bodies)
        loopml.set_runtime(MODEL, 1, "onnx", sample=sample)
        raw_onnx = _raw_latency(_onnx_call(), sample.head(1).to_numpy())
        _wait_runtime(port, bodies["records"], "onnx")
        measured["onnx"] = _measure(port, bodies)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        loopml.set_runtime(MODEL, 1, "native")  # batch scoring below uses the library
    return measured, raw_onnx


def _measure(port: int, bodies) -> tuple[dict, dict, dict]:
    invocations = f"/v1/models/{MODEL}/invocations"
    predict = f"/v1/models/{MODEL}/predict"
    latency = _drive(port, invocations, bodies["mlflow"], clients=1, requests=2000)
    records = _drive(port, predict, bodies["records"], clients=1, requests=2000)
    throughput = _drive(
        port, invocations, bodies["mlflow"], clients=8, requests=THROUGHPUT_REQUESTS
    )
    return latency, records, throughput


def _starlette_floor(body: Path) -> tuple[dict, dict]:
    """A bare Starlette route on uvicorn (``anchor_scripts/starlette_hello.py``), driven as
    loopml is: what the HTTP stack alone costs, 1 client then 8."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(HERE / "anchor_scripts" / "starlette_hello.py"), str(port)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/invocations", data=body.read_bytes()
                )
                urllib.request.urlopen(request, timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the Starlette anchor did not start") from None
                time.sleep(0.2)
        single = _drive(port, "/invocations", body, clients=1, requests=2000)
        many = _drive(port, "/invocations", body, clients=8, requests=THROUGHPUT_REQUESTS)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    return single, many


def _wait_runtime(port: int, body: Path, runtime: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/models/{MODEL}/predict",
            data=body.read_bytes(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            if json.loads(response.read())["predictions"][0]["runtime"] == runtime:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server did not switch to {runtime}")


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


def _drive(
    port: int, path: str, body: Path, *, clients: int, requests: int, ceiling: bool = False
) -> dict:
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
            *(["--ceiling"] if ceiling else []),
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


def _report(
    raw, raw_onnx, runtimes, mlflow, batch, load: tuple, ceiling: dict, floor: tuple
) -> None:
    ml_latency, ml_throughput = mlflow["latency"], mlflow["throughput"]

    def row(what, figures, requests_per_second=True):
        rate = f"{figures['throughput']:.0f}" if requests_per_second else "—"
        return [what, f"{figures['p50_ms']:.3f}", f"{figures['p99_ms']:.3f}", rate]

    rows = [
        row("raw `model.predict` (1 row, in process)", raw, False),
        row("raw onnxruntime `session.run` (1 row, in process)", raw_onnx, False),
        row("mlflow models serve `/invocations`, 1 client", ml_latency),
        row("mlflow models serve `/invocations`, 8 clients", ml_throughput),
        row("load generator's ceiling: a trivial server that answers at once, 8 clients", ceiling),
        row("bare Starlette route on uvicorn (reads the body, fixed answer), 1 client", floor[0]),
        row("bare Starlette route on uvicorn, 8 clients", floor[1]),
    ]
    findings = []
    for runtime, (latency, records, throughput) in runtimes.items():
        rows += [
            row(f"loopml ({runtime}) `/invocations`, 1 client", latency),
            row(f"loopml ({runtime}) `/predict` (records), 1 client", records),
            row(f"loopml ({runtime}) `/invocations`, 8 clients", throughput),
        ]
        anchor = raw_onnx if runtime == "onnx" else raw
        over = latency["p50_ms"] - anchor["p50_ms"]
        ratio = throughput["throughput"] / ml_throughput["throughput"]
        limit, times = (0.3, 25) if runtime == "onnx" else (1.0, 10)
        call = "onnxruntime `session.run`" if runtime == "onnx" else "`model.predict`"
        findings.append(
            f"- {runtime}: single-row p50 **{over:+.2f} ms** above raw {call} "
            f"(target ≤ {limit} ms: {'met' if over <= limit else 'NOT met'}); 8-client "
            f"throughput **{ratio:.1f}×** MLflow (target ≥ {times}×: "
            f"{'met' if ratio >= times else 'NOT met'}); failures {throughput['failures']}."
        )
    findings.append(
        f"- The HTTP stack alone (a bare Starlette route on uvicorn that reads the body and "
        f"answers a fixed prediction): p50 {floor[0]['p50_ms']:.3f} ms with 1 client, "
        f"{floor[1]['throughput']:,.0f} requests/s with 8 "
        f"({floor[1]['throughput'] / ml_throughput['throughput']:.1f}× MLflow). Above it, loopml "
        + ", ".join(
            f"{runtime} adds {latency['p50_ms'] - floor[0]['p50_ms']:+.3f} ms p50"
            for runtime, (latency, _, _) in runtimes.items()
        )
        + " (parsing, checks, the model call, the prediction log, metrics)."
    )
    findings.append(
        f"- MLflow: single-row p50 {ml_latency['p50_ms'] - raw['p50_ms']:+.2f} ms above raw; "
        f"failures {ml_throughput['failures']}."
    )
    findings.append(
        f"- The load generator itself tops out at {ceiling['throughput']:,.0f} requests/s "
        f"against a server that does no work ({ceiling['throughput'] / ml_throughput['throughput']:.1f}× "
        "MLflow): no server can be measured faster than that in this run. Scoring requests "
        "without credentials take a short way past FastAPI's stack when sign-in is off "
        "(`loopml.serving.routes.fast`); with sign-in on, every request goes the normal way."
    )
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
1-minute load when the run started: {load[0]:.1f}; when it ended: {load[1]:.1f}.

The loopml server is measured with the model's own library (native), then switched
while running to onnxruntime (`loopml.set_runtime(name, version, "onnx")`) and measured
again; the raw anchors are the two in-process calls of one row.

{markdown_table(["what", "p50 ms", "p99 ms", "requests/s"], rows)}

{chr(10).join(findings)}

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
