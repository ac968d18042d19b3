"""loopml's drift_report on the benchmark data, measured like the anchor; prints JSON last.

``files``: drift_report on the two Parquet paths, which it reads one column at a
time; the timed call includes reading the files. ``memory``: both files loaded
whole as Arrow tables first (loopml works on Arrow inside: the prediction log is
Arrow), then drift_report on the tables; reading is not timed.
"""

import json
import sys
import threading
import time

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

import loopml


def main(mode, reference_path, current_path):
    if mode == "files":
        reference, current = reference_path, current_path
    elif mode == "memory":
        reference, current = pq.read_table(reference_path), pq.read_table(current_path)
    else:
        sys.exit(f"mode {mode!r}: use files or memory")
    tiny = pa.table({"n": [0.0, 1.0, 2.0], "c": ["a", "b", "a"]})
    loopml.drift_report(tiny, tiny)  # imports done, as in the anchor
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
    print(
        json.dumps(
            {
                "seconds": seconds,
                "extra_mb": (state["peak"] - base) / 2**20,
                "peak_mb": state["peak"] / 2**20,
                "drifted": len(report.drifted_columns),
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:4])
