"""Pipelines: 1,000 segments × 500 rows of ridge, trained, tracked, registered and gated.

Target: loopml's platform overhead is at most 2 × the raw fit time + 10 s
on this 2-core machine, where the raw fit time is the same 1,000 ``Ridge.fit``
calls in one process with nothing else around them. The same job on a 2-worker
Dask LocalCluster must finish with identical models.

Anchor: MLflow's per-segment pattern (a nested run, ``log_model`` and a
registration per segment, plus an alias per segment as the gate's outcome). It
takes seconds per segment, so it is measured on a sample of segments and
extrapolated to 1,000, as the table says.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import loopml
from benchmarks.anchors import MLFLOW_REQUIREMENTS, anchor_python, run_anchor
from benchmarks.report import markdown_table, write_section
from loopml.config import Settings

SCRIPT = Path(__file__).parent / "anchor_scripts" / "mlflow_pipeline.py"
SEGMENTS = int(os.environ.get("BENCH_PIPELINE_SEGMENTS", "1000"))
ROWS = 500
FEATURES = [f"x{i}" for i in range(5)]
TEST_SIZE = 0.2
MLFLOW_SAMPLE = int(os.environ.get("BENCH_PIPELINE_MLFLOW_SAMPLE", "20"))
COMPARE_SAMPLE = 50  # segments whose coefficients are compared local vs Dask


def make_table(segments: int, rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(segments * rows, len(FEATURES)))
    weights = rng.normal(size=(segments, len(FEATURES)))
    segment = np.repeat(np.arange(segments), rows)
    y = np.einsum("ij,ij->i", X, weights[segment]) + rng.normal(0, 0.3, segments * rows)
    frame = pd.DataFrame(X, columns=FEATURES)
    frame.insert(0, "sku", [f"sku{s:04d}" for s in segment])
    frame["units"] = y
    return frame


def raw_fit_seconds(frame: pd.DataFrame, rows: int = ROWS, refit: bool = False) -> float:
    """The fits alone, ``rows`` a segment: numpy arrays ready, one process, nothing logged.
    With ``refit``, the two fits ``loopml run`` makes of each segment (``split.refit``, on
    by default): one on its training rows, scored, then one on all its rows, registered."""
    from sklearn.linear_model import Ridge

    X, y = frame[FEATURES].to_numpy(), frame["units"].to_numpy()
    train = round(rows * (1 - TEST_SIZE))
    started = time.perf_counter()
    for start in range(0, len(frame), rows):
        if refit:
            Ridge().fit(X[start : start + train], y[start : start + train])
        Ridge().fit(X[start : start + rows], y[start : start + rows])
    return time.perf_counter() - started


def project(name: str, data: Path, executor: str = "local") -> dict:
    return {
        "name": name,
        "data": {"path": str(data)},
        "target": "units",
        "segment_by": ["sku"],
        "model": "ridge",
        "split": {"method": "random", "test_size": TEST_SIZE},
        "gate": {"thresholds": {"r2": ">= 0.5"}},
        "execution": {"executor": executor, "max_workers": 2},
    }


def run_loopml(data: Path, name: str, executor: str = "local"):
    pipeline = loopml.Pipeline(project(name, data, executor))
    started = time.perf_counter()
    result = pipeline.run()
    return result, time.perf_counter() - started


def identical(a: str, b: str, segments: int = SEGMENTS) -> bool:
    """Same metrics for every segment, same coefficients for a sample of them."""
    # by version, not by champion: a segment whose model failed the gate has none
    left = {v.segment_key: v for v in loopml.list_model_versions(a)}
    right = {v.segment_key: v for v in loopml.list_model_versions(b)}
    metrics = {k: v.metrics for k, v in left.items()}
    if metrics != {k: v.metrics for k, v in right.items()} or len(left) != segments:
        return False
    for key in sorted(left)[:COMPARE_SAMPLE]:
        one = loopml.load_model(f"models:/{a}/{left[key].version}").native
        two = loopml.load_model(f"models:/{b}/{right[key].version}").native
        if not (np.array_equal(one.coef_, two.coef_) and one.intercept_ == two.intercept_):
            return False
    return True


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        frame = make_table(SEGMENTS, ROWS)
        data = workdir / "sales.parquet"
        frame.to_parquet(data, index=False)
        raw = raw_fit_seconds(frame)
        home = workdir / "home"
        loopml.configure(Settings(home=home, store_url=f"sqlite:///{home / 'loopml.db'}"))
        loopml.list_experiments()  # create and migrate the store before any clock starts

        result, seconds = run_loopml(data, "bench-local")
        print(f"[bench] loopml local: {seconds:.1f}s, {result.summary()}", file=sys.stderr)
        _, cached_seconds = run_loopml(data, "bench-local")
        distributed = __import__("distributed")
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None
        ) as cluster:
            address = "dask://" + cluster.scheduler_address.removeprefix("tcp://")
            dask_result, dask_seconds = run_loopml(data, "bench-dask", address)
        same = dask_result.count("trained") == SEGMENTS and identical("bench-local", "bench-dask")

        python = anchor_python("mlflow", MLFLOW_REQUIREMENTS)
        anchor = run_anchor(
            python, SCRIPT, str(workdir / "mlflow"), str(data), str(MLFLOW_SAMPLE), str(ROWS)
        )

    overhead = seconds - raw
    allowed = 2 * raw + 10
    per_segment = anchor["seconds"] / anchor["segments"]
    rows = [
        ["raw Ridge.fit × 1,000 (one process)", f"{raw:.2f} s", ""],
        [
            "loopml run, local processes (2 workers)",
            f"{seconds:.1f} s",
            f"overhead {overhead:.1f} s; target ≤ 2 × fit + 10 s = {allowed:.1f} s "
            f"({'met' if overhead <= allowed else 'NOT met'})",
        ],
        ["loopml run again, nothing changed", f"{cached_seconds:.1f} s", "says so, trains nothing"],
        [
            "loopml run, Dask LocalCluster (2 workers)",
            f"{dask_seconds:.1f} s",
            f"identical models: {'yes' if same else 'NO'}",
        ],
        [
            f"MLflow per-segment pattern, {anchor['segments']} segments measured",
            f"{anchor['seconds']:.1f} s",
            f"{per_segment:.2f} s per segment",
        ],
        [
            "MLflow, extrapolated to 1,000 segments",
            f"{per_segment * SEGMENTS:.0f} s",
            f"loopml is {per_segment * SEGMENTS / seconds:.0f}× faster",
        ],
    ]
    body = (
        "## Pipelines: 1,000 segments × 500 rows, ridge\n\n"
        "Each segment is split, trained, evaluated, tracked as a run, registered as a "
        "version of one model family and gated (r2 >= 0.5) before its champion alias moves. "
        f"{result.count('trained')} segments trained, {result.promotions().get('promoted', 0)} "
        f"promoted; {result.cpu_seconds:.1f} CPU seconds of training recorded.\n\n"
        + markdown_table(["what", "time", "notes"], rows)
        + "\n\nMLflow (3.17.2, SQLite store, local artifacts) runs a parent run and per segment a "
        "nested run, `log_params`, `log_metrics`, `mlflow.sklearn.log_model(..., "
        "registered_model_name=...)` and `set_registered_model_alias`. Only a sample of "
        f"{anchor['segments']} segments is measured and the time multiplied up to {SEGMENTS}; "
        "MLflow has no cache, so a rerun costs it the same again."
    )
    write_section("pipeline", body)
    print(body)
