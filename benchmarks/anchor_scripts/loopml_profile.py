"""loopml's dataset profile of a Parquet file, measured like the anchor; prints JSON last."""

import json
import sys
import time

import pyarrow.parquet as pq

from loopml.data.profile import profile_table


def main(path):
    table = pq.read_table(path)  # loopml profiles Arrow: log_dataset reads data into Arrow
    profile_table(table.slice(0, 100))  # imports done, as in the anchor
    start = time.perf_counter()
    profile, summary = profile_table(table)
    json.dumps(profile), json.dumps(summary.to_dict())  # both are stored with a version
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "columns": len(profile["columns"])}))


if __name__ == "__main__":
    main(sys.argv[1])
