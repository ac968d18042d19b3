"""The unmodified MLflow client in its own cached virtual environment, and a live server.

The environment is benchmarks/.venvs/mlflow, shared with the MLflow benchmarks:
built once with pip from PyPI, then reused by every run. Tests that need it skip
with the reason when PyPI cannot be reached to build it. MLflow is never
installed into loopml's own environment. ``loopml_server`` is ``create_app``
under uvicorn on a free loopback port, over the test's own store (SQLite or
PostgreSQL).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from benchmarks.anchors import MLFLOW_REQUIREMENTS, VENVS, anchor_python

from loopml._context import Context


@pytest.fixture(scope="session")
def mlflow_python() -> Path:
    VENVS.mkdir(parents=True, exist_ok=True)
    with (VENVS / ".mlflow.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test workers must not build it at once
        try:
            return anchor_python("mlflow", MLFLOW_REQUIREMENTS)
        except subprocess.CalledProcessError as error:
            pytest.skip(f"The MLflow client could not be installed from PyPI ({error}).")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def loopml_server(ctx):
    """The URL of a running loopml server over the test's store."""
    import uvicorn

    from loopml.server import create_app

    context = Context(ctx.settings)
    port = free_port()
    config = uvicorn.Config(
        create_app(context=context), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("The loopml server did not start.")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    context.close()


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
        capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.fail(f"{script} failed:\n{result.stderr[-6000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])
