"""A Dask cluster of separate processes (``dask scheduler`` and two ``dask worker``
on loopback, reached as tcp://) trains the same models as local processes, with the
store on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

import loopml

pytest.importorskip("distributed")
DASK = Path(sys.executable).with_name("dask")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The scheduler's tcp:// address; the processes stop when the module's tests end."""
    folder = tmp_path_factory.mktemp("dask")
    address_file = folder / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(Path(loopml.__file__).parents[1])}
    common = {
        "env": env,
        "cwd": folder,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
        "start_new_session": True,
    }
    processes = [
        subprocess.Popen(
            [
                str(DASK),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(address_file),
            ],
            **common,
        )
    ]
    try:
        address = _address(address_file)
        processes += [
            subprocess.Popen(
                [
                    str(DASK),
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                    "--name",
                    f"w{i}",
                ],
                **common,
            )
            for i in range(2)
        ]
        _wait_workers(address, 2)
        yield address
    finally:
        for process in reversed(processes):
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)


def _address(path: Path) -> str:
    deadline = time.monotonic() + 60
    while not path.exists() or not path.read_text().strip():
        assert time.monotonic() < deadline, "dask scheduler did not start"
        time.sleep(0.1)
    return json.loads(path.read_text())["address"]


def _wait_workers(address: str, count: int) -> None:
    import distributed

    with distributed.Client(address, timeout="30s") as client:
        client.wait_for_workers(count, timeout=60)


def _project(folder: Path, name: str, executor: str) -> dict:
    data = load_diabetes(as_frame=True).frame
    data["sex"] = np.where(data["sex"] > 0, "m", "f")
    data["age_band"] = pd.qcut(data["age"], 5, labels=False)
    path = folder / "diabetes.csv"
    data.to_csv(path, index=False)
    return {
        "name": name,
        "data": {"path": str(path)},
        "target": "target",
        "segment_by": ["sex", "age_band"],
        "features": ["bmi", "bp", "s5"],
        "model": "ridge",
        "split": {"method": "random", "min_rows": 20},
        "execution": {"executor": executor, "max_workers": 2, "chunk_size": 2},
    }


def test_separate_worker_processes_train_the_models_local_processes_train(ctx, tmp_path, cluster):
    local = loopml.Pipeline(_project(tmp_path, "diabetes-local", "local")).run()
    executor = "dask://" + cluster.removeprefix("tcp://")
    remote = loopml.Pipeline(_project(tmp_path, "diabetes-dask", executor)).run()
    assert remote.count("trained") == local.count("trained") == 10
    for outcome in local.segments:
        one = loopml.load_model("models:/diabetes-local@champion", segment=outcome.segment_key)
        two = loopml.load_model("models:/diabetes-dask@champion", segment=outcome.segment_key)
        assert np.array_equal(one.native.coef_, two.native.coef_), outcome.segment_key
        assert one.native.intercept_ == two.native.intercept_
    assert {v.segment_key: v.metrics for v in loopml.list_model_versions("diabetes-local")} == {
        v.segment_key: v.metrics for v in loopml.list_model_versions("diabetes-dask")
    }
    assert loopml.Pipeline(_project(tmp_path, "diabetes-dask", executor)).run().up_to_date
