"""The unmodified MLflow client in its own cached virtual environment.

The environment is benchmarks/.venvs/mlflow, shared with the MLflow benchmarks:
built once with pip from PyPI, then reused by every run. Tests that need it skip
with the reason when PyPI cannot be reached to build it. MLflow is never
installed into loopml's own environment. Tests point it at ``live_server``
(tests/conftest.py): the whole app under uvicorn on loopback, over the test's
own store.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from pathlib import Path

import pytest
from benchmarks.anchors import MLFLOW_REQUIREMENTS, VENVS, anchor_python


@pytest.fixture(scope="session")
def mlflow_python() -> Path:
    return anchor_or_skip("mlflow", MLFLOW_REQUIREMENTS, "The MLflow client")


def anchor_or_skip(name: str, requirements: list[str], what: str) -> Path:
    """The Python of cached environment ``name``; the test skips when PyPI cannot build it."""
    VENVS.mkdir(parents=True, exist_ok=True)
    with (VENVS / f".{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test workers must not build it at once
        try:
            return anchor_python(name, requirements)
        except subprocess.CalledProcessError as error:
            pytest.skip(f"{what} could not be installed from PyPI ({error}).")


@pytest.fixture
def run_client(mlflow_python):
    """``run_client(script, url, *args)``: run a script with MLflow's client against the
    server at ``url``; the JSON it printed last."""
    return lambda script, url, *args: _run(mlflow_python, script, url, *args)


def _run(python: Path, script: str, url: str, *args: str, timeout: float = 300) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "LOOPML_"))}
    env.update(MLFLOW_TRACKING_URI=url, MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    result = subprocess.run(
        [str(python), str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if result.returncode != 0:
        pytest.fail(f"{script} failed:\n{result.stderr[-6000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])
