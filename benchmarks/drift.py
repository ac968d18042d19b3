"""Drift report: 25 columns (20 numeric, 5 categorical), current vs reference of the same size.

loopml's ``drift_report`` and Evidently's ``DataDriftPreset`` run on the same
Parquet files in the same run, each in a fresh process whose whole peak RSS is
compared. loopml runs twice: on the two file paths (read one column at a time,
reading timed) and on the two files loaded whole as Arrow tables.
"""

from __future__ import annotations

import os
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
    load_before = os.getloadavg()[0]
    rows_out = []
    for rows in SIZES:
        reference, current = make(rows, 0.0, 1), make(rows, 0.2, 2)
        paths = str(WORK / f"ref_{rows}.parquet"), str(WORK / f"cur_{rows}.parquet")
        reference.to_parquet(paths[0])
        current.to_parquet(paths[1])
        data_mb = (
            reference.memory_usage(deep=True).sum() + current.memory_usage(deep=True).sum()
        ) / 2**20
        del reference, current
        # Each run in a fresh process of its own, measured the same way.
        files = run_anchor(Path(sys.executable), SCRIPTS / "loopml_drift.py", "files", *paths)
        memory = run_anchor(Path(sys.executable), SCRIPTS / "loopml_drift.py", "memory", *paths)
        theirs = run_anchor(python, SCRIPTS / "evidently_drift.py", *paths)
        if files["drifted"] != memory["drifted"]:
            raise RuntimeError(f"loopml's reports differ: files {files}, memory {memory}")
        size = [f"{rows:,}", f"{data_mb:.0f} MiB"]
        rows_out += [
            [
                *size,
                "loopml, from the files (reading timed)",
                *_figures(files, theirs),
                f"{files['extra_mb']:.0f} MiB (nothing loaded before)",
            ],
            [
                *size,
                "loopml, tables in memory",
                *_figures(memory, theirs),
                f"{memory['extra_mb']:.0f} MiB (peak {1 + memory['extra_mb'] / data_mb:.2f}x data)",
            ],
            [
                *size,
                "Evidently",
                f"{theirs['seconds']:.1f} s",
                f"{theirs['peak_mb']:.0f} MiB",
                "",
                "",
                f"{theirs['extra_mb']:.0f} MiB",
            ],
        ]
        print(f"[bench] drift {rows}: files {files}, memory {memory}, evidently {theirs}")
    body = (
        "## Drift report\n\n"
        + (
            "25 columns (20 numeric, 5 categorical), current vs a reference of the same size; "
            "default methods (normed Wasserstein, Jensen–Shannon). loopml `drift_report` vs Evidently "
            "`DataDriftPreset` (0.7.23, its own venv) on the same Parquet files in one run. Each run is a "
            "fresh process whose RSS is sampled during the call (every 5 ms for loopml, 20 ms for Evidently). "
            "*From the files*: the process imports loopml and calls `drift_report` on the two paths, which "
            "reads them one column at a time, so the two tables are never in memory; its time includes "
            "reading the files. *Tables in memory*: the process first loads both files whole as Arrow tables, "
            "then calls `drift_report`; reading is not timed. Evidently loads both files as pandas DataFrames, "
            "then builds its datasets and runs the preset; reading is not timed. Peak RSS is the whole "
            "process (interpreter, libraries and whatever data it loaded), and the ratios compare it; "
            '"above the start of the call" is the peak minus the RSS just before the call: for the in-memory '
            "runs the memory needed beyond the loaded data, for the files run everything the call needed, "
            "reading included. Numeric columns beyond 10,000 rows are held as loopml's sketch (each distinct "
            "value with its count while a column has at most 10,000 of them, else 10,000 equal-rank slices "
            "clipped into their range, so tied values stay exact); the columns here are continuous, so every "
            "one is compressed. Targets: 1M rows under 3 s and under 3x the data; >= 20x faster and "
            ">= 5x less memory than Evidently.\n\n"
            f"1-minute load average (2 cores, shared): {load_before:.1f} at the start, "
            f"{os.getloadavg()[0]:.1f} at the end.\n\n"
        )
        + markdown_table(
            [
                "rows",
                "data (both tables)",
                "run",
                "time",
                "peak RSS",
                "Evidently ÷ this: time",
                "Evidently ÷ this: peak RSS",
                "peak RSS above the start of the call",
            ],
            rows_out,
        )
    )
    write_section("drift", body)


def _figures(ours: dict, theirs: dict) -> list[str]:
    """Time, peak RSS, and how many times Evidently's each is."""
    return [
        f"{ours['seconds']:.2f} s",
        f"{ours['peak_mb']:.0f} MiB",
        f"{theirs['seconds'] / ours['seconds']:.0f}x",
        f"{theirs['peak_mb'] / ours['peak_mb']:.1f}x",
    ]
