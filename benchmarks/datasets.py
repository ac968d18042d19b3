"""Dataset profiling: 1M rows × 50 columns (40 numeric, 10 categorical).

loopml's profile (what ``log_dataset`` computes) and Evidently's
``DataSummaryPreset`` profile the same Parquet file in the same run, each in a
fresh process that reads the file first; only the profiling is timed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.anchors import anchor_python, run_anchor
from benchmarks.drift import EVIDENTLY
from benchmarks.report import markdown_table, write_section

WORK = Path(__file__).parent / ".work" / "datasets"
SCRIPTS = Path(__file__).parent / "anchor_scripts"
ROWS, NUMERIC, CATEGORICAL = 1_000_000, 40, 10
TARGET_SECONDS = 3.0


def make(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(NUMERIC):
        values = rng.normal(i, 1 + i % 5, rows) if i % 2 else rng.integers(0, 1000, rows)
        data[f"n{i}"] = values
    for i in range(CATEGORICAL):
        labels = np.array([f"cat{j}" for j in range(5 + 10 * i)])
        data[f"c{i}"] = pd.Series(labels[rng.integers(0, labels.size, rows)], dtype="str")
    frame = pd.DataFrame(data)
    frame.loc[rng.random(rows) < 0.02, "n1"] = np.nan  # some nulls
    return frame


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    python = anchor_python("evidently", EVIDENTLY)
    path = WORK / f"profile_{ROWS}.parquet"
    if not path.exists():
        make(ROWS).to_parquet(path, index=False)
    ours = run_anchor(Path(sys.executable), SCRIPTS / "loopml_profile.py", str(path))
    theirs = run_anchor(python, SCRIPTS / "evidently_summary.py", str(path))
    print(f"[bench] datasets: loopml {ours}, evidently {theirs}")
    verdict = "met" if ours["seconds"] < TARGET_SECONDS else "missed"
    body = (
        "## Dataset profiling\n\n"
        + (
            f"{ROWS:,} rows × {NUMERIC + CATEGORICAL} columns ({NUMERIC} numeric, {CATEGORICAL} "
            "categorical with 5–95 values). loopml's dataset profile (per column null rate; min, max, "
            "mean, std, quantiles and a histogram; distinct count and top values) vs Evidently "
            "`DataSummaryPreset` (0.7.23, its own venv) on the same Parquet file in one run; each side "
            "reads the file in a fresh process and only the profiling is timed. Target: loopml under "
            f"{TARGET_SECONDS:.0f} s ({verdict}).\n\n"
        )
        + markdown_table(
            ["rows × columns", "loopml", "Evidently", "speed ratio", "target"],
            [
                [
                    f"{ROWS:,} × {NUMERIC + CATEGORICAL}",
                    f"{ours['seconds']:.2f} s",
                    f"{theirs['seconds']:.1f} s",
                    f"{theirs['seconds'] / ours['seconds']:.1f}x",
                    f"< {TARGET_SECONDS:.0f} s: {verdict}",
                ]
            ],
        )
    )
    write_section("datasets", body)
