"""Tracking: loopml against MLflow, both on SQLite, measured in one run.

Four rates with a target ratio each (single ``log_metric`` calls, batched metric
points, whole runs, a filtered search over 10k runs) and one absolute target:
a run logging 1,000,000 points finishes, flushed, in under 5 s. Every scenario
starts from a fresh SQLite file in a temporary folder. loopml's figures include
writing its buffered points (the run is flushed before the clock stops).

MLflow builds its 10k search runs through ``MlflowClient`` (create, one
``log_batch`` with the params and metrics, terminate); loopml through its
fluent API. Only the search itself is compared.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import loopml
from benchmarks.anchors import MLFLOW_REQUIREMENTS, anchor_python, run_anchor
from benchmarks.report import markdown_table, write_section
from loopml.config import Settings

SCRIPT = Path(__file__).parent / "anchor_scripts" / "mlflow_tracking.py"
MODELS = ("ridge", "lasso", "tree", "forest")  # the anchor script draws the same values

SIZES = {
    "loopml_single_calls": 200_000,
    "mlflow_single_calls": 1_000,
    "batch_keys": 1_000,  # MLflow's limit of metrics per log_batch call
    "loopml_batch_steps": 500,
    "mlflow_batch_steps": 30,
    "loopml_runs": 2_000,
    "mlflow_runs": 300,
    "search_runs": 10_000,
    "search_repeats": 5,
    "million": 1_000_000,
    "query": {
        "filter": "metrics.mae < 0.5 and params.model = 'ridge'",
        "order_by": ["metrics.mae ASC"],
        "max_results": 100,
    },
}
TARGETS = {"single": 100, "batched": 10, "runs": 10, "search": 10}
MILLION_SECONDS = 5.0


def fresh(workdir: Path, name: str) -> None:
    """Point the fluent API at a new SQLite store, migrated before any clock starts."""
    home = workdir / name
    loopml.configure(Settings(home=home, store_url=f"sqlite:///{home / 'loopml.db'}"))
    loopml.list_experiments()  # creates and migrates the store


def single_log_metric(workdir: Path, calls: int) -> float:
    fresh(workdir, "single")
    with loopml.start_run(experiment="bench") as run:
        started = time.perf_counter()
        for step in range(calls):
            loopml.log_metric("loss", step * 0.5, step=step)
        run.flush()
        elapsed = time.perf_counter() - started
    return calls / elapsed


def batched_points(workdir: Path, keys: int, steps: int) -> float:
    fresh(workdir, "batched")
    names = [f"m{k}" for k in range(keys)]
    with loopml.start_run(experiment="bench") as run:
        started = time.perf_counter()
        for step in range(steps):
            loopml.log_metrics({name: k * 0.5 + step for k, name in enumerate(names)}, step=step)
        run.flush()
        elapsed = time.perf_counter() - started
    return keys * steps / elapsed


def runs_per_second(workdir: Path, runs: int) -> float:
    fresh(workdir, "runs")
    started = time.perf_counter()
    for index in range(runs):
        with loopml.start_run(experiment="bench"):
            loopml.log_param("alpha", index % 10)
            loopml.log_param("model", "ridge")
            loopml.log_metric("mae", 1.0 / (index + 1))
            loopml.log_metric("r2", 0.5)
    return runs / (time.perf_counter() - started)


def search(workdir: Path, runs: int, repeats: int, query: dict) -> dict:
    fresh(workdir, "search")
    rng = random.Random(7)
    started = time.perf_counter()
    for index in range(runs):
        with loopml.start_run(experiment="bench"):
            mae, r2 = rng.random(), rng.random()
            loopml.log_params({"alpha": str(index % 10), "model": rng.choice(MODELS)})
            loopml.log_metrics({"mae": mae, "r2": r2})
    build_seconds = time.perf_counter() - started
    timings, found = [], 0
    for _ in range(repeats + 1):  # the first call warms caches and is not counted
        started = time.perf_counter()
        frame = loopml.search_runs(
            "bench",
            filter=query["filter"],
            order_by=query["order_by"],
            max_results=query["max_results"],
        )
        timings.append(time.perf_counter() - started)
        found = len(frame)
    return {
        "seconds": statistics.median(timings[1:]),
        "found": found,
        "build_seconds": build_seconds,
    }


def million_points(workdir: Path, points: int) -> float:
    fresh(workdir, "million")
    started = time.perf_counter()
    with loopml.start_run(experiment="bench") as run:
        for step in range(points):
            loopml.log_metric("loss", 1.0 / (step + 1))
    elapsed = time.perf_counter() - started
    stored = loopml.get_run(run.id)  # the run ended: every point is in the store
    assert stored.metrics["loss"] == 1.0 / points, "the last point is missing"
    return elapsed


def measure_loopml(workdir: Path) -> dict:
    return {
        "version": loopml.__version__,
        "single_per_s": single_log_metric(workdir, SIZES["loopml_single_calls"]),
        "batched_per_s": batched_points(workdir, SIZES["batch_keys"], SIZES["loopml_batch_steps"]),
        "runs_per_s": runs_per_second(workdir, SIZES["loopml_runs"]),
        "search": search(workdir, SIZES["search_runs"], SIZES["search_repeats"], SIZES["query"]),
        "million_seconds": million_points(workdir, SIZES["million"]),
    }


def measure_mlflow(workdir: Path) -> dict:
    import json

    python = anchor_python("mlflow", MLFLOW_REQUIREMENTS)
    return run_anchor(python, SCRIPT, str(workdir), json.dumps(SIZES))


def report(ours: dict, theirs: dict) -> str:
    def rate(value: float) -> str:
        return f"{value:,.0f}/s"

    def verdict(ratio: float, target: float) -> str:
        return "pass" if ratio >= target else "**fail**"

    rows = []
    for key, label, unit in (
        ("single", "single `log_metric` calls", rate),
        ("batched", "batched metric points (flushed)", rate),
        ("runs", "runs (start, 2 params, 2 metrics, end)", rate),
    ):
        ratio = ours[f"{key}_per_s"] / theirs[f"{key}_per_s"]
        rows.append(
            [
                label,
                unit(ours[f"{key}_per_s"]),
                unit(theirs[f"{key}_per_s"]),
                f"{ratio:,.1f}x",
                f">= {TARGETS[key]}x",
                verdict(ratio, TARGETS[key]),
            ]
        )
    ratio = theirs["search"]["seconds"] / ours["search"]["seconds"]
    rows.append(
        [
            f"`search_runs` over {SIZES['search_runs']:,} runs",
            f"{ours['search']['seconds'] * 1000:,.1f} ms",
            f"{theirs['search']['seconds'] * 1000:,.1f} ms",
            f"{ratio:,.1f}x",
            f">= {TARGETS['search']}x",
            verdict(ratio, TARGETS["search"]),
        ]
    )
    million = ours["million_seconds"]
    rows.append(
        [
            "one run logging 1,000,000 points, flushed",
            f"{million:.2f} s",
            "—",
            "—",
            f"< {MILLION_SECONDS:.0f} s",
            "pass" if million < MILLION_SECONDS else "**fail**",
        ]
    )
    query = SIZES["query"]
    return "\n".join(
        [
            "## Tracking (loopml vs MLflow, both on SQLite)",
            "",
            f"loopml {ours['version']} against MLflow {theirs['version']}, each on a fresh "
            "SQLite file per scenario. Ratios are loopml / MLflow (for search: MLflow's "
            "time / loopml's time).",
            "",
            markdown_table(["measure", "loopml", "MLflow", "ratio", "target", "result"], rows),
            "",
            f"- Single calls: loopml {SIZES['loopml_single_calls']:,} `log_metric` calls then a "
            f"flush; MLflow {SIZES['mlflow_single_calls']:,} `mlflow.log_metric` calls.",
            f"- Batched: {SIZES['batch_keys']:,} metrics per step; loopml `log_metrics` for "
            f"{SIZES['loopml_batch_steps']} steps then a flush, MLflow `log_batch` for "
            f"{SIZES['mlflow_batch_steps']} steps.",
            f"- Runs: loopml {SIZES['loopml_runs']:,}, MLflow {SIZES['mlflow_runs']:,}, "
            "each through the fluent API.",
            f"- Search: filter `{query['filter']}`, order by `{query['order_by'][0]}`, "
            f"top {query['max_results']} as a DataFrame, median of {SIZES['search_repeats']} "
            f"after a warm-up ({ours['search']['found']} rows from loopml, "
            f"{theirs['search']['found']} from MLflow). The 10k runs (2 params, 2 metrics "
            f"each) took {ours['search']['build_seconds']:.1f} s to build with loopml's fluent "
            f"API and {theirs['search']['build_seconds']:.1f} s with MLflow's client "
            "(`create_run`, one `log_batch`, `set_terminated` per run).",
        ]
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="loopml-bench-") as folder:
        workdir = Path(folder)
        print("[bench] tracking: loopml", file=sys.stderr)
        ours = measure_loopml(workdir / "loopml")
        print("[bench] tracking: MLflow (building 10k runs takes a few minutes)", file=sys.stderr)
        theirs = measure_mlflow(workdir / "mlflow")
    body = report(ours, theirs)
    write_section("tracking", body)
    print(body)


if __name__ == "__main__":
    main()
