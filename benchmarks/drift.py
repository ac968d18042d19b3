"""Drift report: 25 columns (20 numeric, 5 categorical), current vs reference of the same size.

loopml's ``drift_report`` and Evidently's ``DataDriftPreset`` run on the same
Parquet files in the same run. Memory is the peak RSS above the process's RSS
once the data is loaded, compared with the size of the two tables in memory.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.anchors import anchor_python, run_anchor
from benchmarks.report import markdown_table, write_section

WORK = Path(__file__).parent / ".work" / "drift"
SCRIPTS = Path(__file__).parent / "anchor_scripts"
EVIDENTLY = ["evidently==0.7.23", "pandas<3", "psutil"]
SIZES = (100_000, 1_000_000)
CATEGORIES = np.array([f"cat{i}" for i in range(12)])


def make(rows: int, shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {f"n{i}": rng.normal(shift if i < 5 else 0.0, 1.0, rows) for i in range(20)}
    for i in range(5):
        data[f"c{i}"] = pd.Series(CATEGORIES[rng.integers(0, 12, rows)], dtype="str")
    return pd.DataFrame(data)


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    python = anchor_python("evidently", EVIDENTLY)
    rows_out = []
    for rows in SIZES:
        reference, current = make(rows, 0.0, 1), make(rows, 0.2, 2)
        ref_path, cur_path = WORK / f"ref_{rows}.parquet", WORK / f"cur_{rows}.parquet"
        reference.to_parquet(ref_path)
        current.to_parquet(cur_path)
        data_mb = (
            reference.memory_usage(deep=True).sum() + current.memory_usage(deep=True).sum()
        ) / 2**20
        del reference, current
        # Each side in a fresh process of its own, measured the same way.
        ours = run_anchor(
            Path(sys.executable), SCRIPTS / "loopml_drift.py", str(ref_path), str(cur_path)
        )
        theirs = run_anchor(python, SCRIPTS / "evidently_drift.py", str(ref_path), str(cur_path))
        rows_out.append([
            f"{rows:,}", f"{data_mb:.0f} MiB",
            f"{ours['seconds']:.2f} s", f"{ours['extra_mb']:.0f} MiB (peak {1 + ours['extra_mb'] / data_mb:.2f}x data)",
            f"{ours['peak_mb']:.0f} MiB",
            f"{theirs['seconds']:.1f} s", f"{theirs['extra_mb']:.0f} MiB", f"{theirs['peak_mb']:.0f} MiB",
            f"{theirs['seconds'] / ours['seconds']:.0f}x", f"{theirs['peak_mb'] / ours['peak_mb']:.1f}x",
        ])  # fmt: skip
        print(f"[bench] drift {rows}: loopml {ours}, evidently {theirs}")
    body = "## Drift report (issue 7)\n\n" + (
        "25 columns (20 numeric, 5 categorical), current vs a reference of the same size; "
        "default methods (normed Wasserstein, Jensen–Shannon). loopml `drift_report` vs Evidently "
        "`DataDriftPreset` (0.7.23, its own venv) on the same data in one run. Each side runs in a fresh process that "
        "loads the two Parquet files (loopml as Arrow tables, Evidently as pandas DataFrames); memory is its peak RSS above the loaded data (sampled every 5 ms), "
        "so the memory loopml needs is data + extra; the ratio compares whole-process peak RSS (interpreter, libraries and data included), which understates loopml's advantage. Targets: 1M rows under 3 s and under 3x the data; >= 20x faster and "
        ">= 5x less memory than Evidently.\n\n"
    ) + markdown_table(
        ["rows", "data (both tables)", "loopml time", "loopml extra memory", "loopml peak RSS",
         "Evidently time", "Evidently extra memory", "Evidently peak RSS", "speed ratio",
         "peak RSS ratio"],
        rows_out,
    )  # fmt: skip
    write_section("drift", body)
