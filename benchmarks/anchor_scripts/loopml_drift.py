"""loopml's drift_report on the benchmark data, measured like the anchor; prints JSON last."""

import json
import sys
import threading
import time

import psutil
import pyarrow.parquet as pq

import loopml


def main(reference_path, current_path):
    # loopml works on Arrow inside (the prediction log is Arrow), so it reads the files as Arrow.
    reference = pq.read_table(reference_path)
    current = pq.read_table(current_path)
    loopml.drift_report(
        reference.slice(0, 100), current.slice(0, 100)
    )  # imports done, as in the anchor
    process = psutil.Process()
    base = process.memory_info().rss
    state = {"done": False, "peak": base}

    def watch():
        while not state["done"]:
            state["peak"] = max(state["peak"], process.memory_info().rss)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.perf_counter()
    report = loopml.drift_report(reference, current)
    seconds = time.perf_counter() - start
    state["done"] = True
    watcher.join()
    print(json.dumps({"seconds": seconds, "extra_mb": (state["peak"] - base) / 2**20, "peak_mb": state["peak"] / 2**20,
                      "drifted": len(report.drifted_columns)}))  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
