"""Fills an MLflow SQLite store with N runs for the search benchmark, before its server starts.

Usage: python mlflow_api_populate.py SQLITE_PATH N. One run is made by MLflow's own
client (so every column is as MLflow writes it); the others are copies of its rows
inserted in bulk, each with metric ``score``, tag ``group`` and the ``mlflow.runName`` tag
MLflow's ``create_run`` writes for every run. Not timed.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import uuid

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from mlflow.entities import Metric, RunTag
from mlflow.tracking import MlflowClient


def main() -> None:
    path, count = sys.argv[1], int(sys.argv[2])
    client = MlflowClient(f"sqlite:///{path}")
    experiment = client.create_experiment("search")
    template = client.create_run(experiment).info.run_id
    client.log_batch(template, metrics=[Metric("score", 0.0, 0, 0)], tags=[RunTag("group", "0")])
    client.set_terminated(template)
    db = sqlite3.connect(path)
    columns = [c[1] for c in db.execute("PRAGMA table_info(runs)")]
    values = db.execute("SELECT * FROM runs WHERE run_uuid = ?", (template,)).fetchone()
    row = dict(zip(columns, values, strict=True))
    runs, metrics, latest, tags = [], [], [], []
    for index in range(1, count):
        run_id = uuid.uuid4().hex
        runs.append(
            {
                **row,
                "run_uuid": run_id,
                "name": f"r{index}",
                "start_time": row["start_time"] + index,
                "artifact_uri": row["artifact_uri"].replace(template, run_id),
            }
        )
        score = (index % 100) / 100
        metrics.append(("score", score, 0, run_id, 0, 0))
        latest.append(("score", score, 0, 0, 0, run_id))
        tags += [("group", str(index % 10), run_id), ("mlflow.runName", f"r{index}", run_id)]
    marks = ", ".join(f":{c}" for c in columns)
    with db:
        db.executemany(f"INSERT INTO runs ({', '.join(columns)}) VALUES ({marks})", runs)
        db.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?,?,?,?,?,?)",
            metrics,
        )
        db.executemany(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
            "VALUES (?,?,?,?,?,?)",
            latest,
        )
        db.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)", tags)
    print("{}")


if __name__ == "__main__":
    main()
