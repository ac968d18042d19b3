"""Registry: log + register + set alias of a small model, loopml vs MLflow (both SQLite).

loopml logs 1,000 segment versions of one model family; MLflow, which takes
seconds per model, logs a sample and its median is extrapolated to 1,000.
Target: loopml under 20 ms median, so 1,000 segment versions under 20 s.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import Ridge

from benchmarks.anchors import MLFLOW_REQUIREMENTS, anchor_python, run_anchor
from benchmarks.report import markdown_table, write_section

SEGMENTS = 1_000
MLFLOW_SAMPLE = 20
SCRIPTS = Path(__file__).parent / "anchor_scripts"


def loopml_side(workdir: Path) -> dict:
    import loopml

    loopml.configure(home=workdir / "loopml")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 5))
    model = Ridge().fit(X, X @ rng.normal(size=5))
    loopml.log_model(model, "warmup")  # imports and schema creation are not timed
    times = []
    began = time.perf_counter()
    for i in range(SEGMENTS):
        started = time.perf_counter()
        version = loopml.log_model(model, "demand", segment={"store": i})
        loopml.set_alias("demand", "champion", version.version, segment={"store": i})
        times.append(time.perf_counter() - started)
    return {"median_s": statistics.median(times), "total_s": time.perf_counter() - began}


def main() -> None:
    python = anchor_python("mlflow", MLFLOW_REQUIREMENTS)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        ours = loopml_side(work)
        (work / "mlflow").mkdir()
        theirs = run_anchor(
            python, SCRIPTS / "mlflow_registry.py", str(work / "mlflow"), str(MLFLOW_SAMPLE)
        )
    ratio = theirs["median_s"] / ours["median_s"]
    rows = [
        [
            "median log + register + alias",
            f"{ours['median_s'] * 1000:.1f} ms",
            f"{theirs['median_s'] * 1000:.0f} ms",
            f"{ratio:.0f}x",
            "< 20 ms",
            "pass" if ours["median_s"] < 0.02 else "FAIL",
        ],
        [
            f"{SEGMENTS:,} segment versions",
            f"{ours['total_s']:.1f} s",
            f"~{theirs['median_s'] * SEGMENTS:.0f} s (extrapolated from {MLFLOW_SAMPLE})",
            f"{theirs['median_s'] * SEGMENTS / ours['total_s']:.0f}x",
            "< 20 s",
            "pass" if ours["total_s"] < 20 else "FAIL",
        ],
    ]
    body = (
        "## Registry\n\nA ridge model on 5 features: `loopml.log_model(..., segment=...)` + "
        "`set_alias` vs MLflow 3.17.2 `mlflow.sklearn.log_model(..., registered_model_name=...)` + "
        "`set_registered_model_alias`, both on SQLite, in one run.\n\n"
        + markdown_table(["measure", "loopml", "MLflow", "ratio", "target", "result"], rows)
    )
    write_section("registry", body)
    print(body)


if __name__ == "__main__":
    main()
