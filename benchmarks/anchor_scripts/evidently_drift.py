"""Evidently's DataDriftPreset on the benchmark data; prints {"seconds", "peak_rss_mb", ...} last."""

import json
import sys
import threading
import time

import pandas as pd
import psutil
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset


def peak_watcher(state):
    process = psutil.Process()
    while not state["done"]:
        state["peak"] = max(state["peak"], process.memory_info().rss)
        time.sleep(0.02)


def main(reference_path, current_path):
    reference = pd.read_parquet(reference_path)
    current = pd.read_parquet(current_path)
    numeric = [c for c in reference.columns if c.startswith("n")]
    categorical = [c for c in reference.columns if c.startswith("c")]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    base = psutil.Process().memory_info().rss
    state = {"done": False, "peak": base}
    watcher = threading.Thread(target=peak_watcher, args=(state,), daemon=True)
    watcher.start()
    start = time.perf_counter()
    ref = Dataset.from_pandas(reference, data_definition=definition)
    cur = Dataset.from_pandas(current, data_definition=definition)
    result = Report([DataDriftPreset()]).run(cur, ref)
    result.dict()
    seconds = time.perf_counter() - start
    state["done"] = True
    watcher.join()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "extra_mb": (state["peak"] - base) / 2**20,
                "peak_mb": state["peak"] / 2**20,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
