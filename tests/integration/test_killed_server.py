"""A ``loopml serve`` killed with SIGKILL loses at most the last second of its prediction log."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

import loopml
from loopml.predictions.reader import read_predictions

LOOPML = str(Path(sys.executable).parent / "loopml")
BOUND = 1.0  # serving_log_flush_interval's default, as docs/serving.md states
WRITE_TIME = 0.5  # writing one Parquet file on a busy two-core machine, at most


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_ready(base: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 180  # a loaded machine imports slowly
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/v2/models/diabetes/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail("loopml serve did not load its model within 180 s")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_killed_server_loses_at_most_the_last_second(sqlite_ctx, tmp_path):
    """The log is files, whatever the store: SQLite alone is enough here."""
    ctx = sqlite_ctx
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    env.update(LOOPML_STORE_URL=ctx.settings.store_url, LOOPML_HOME=str(ctx.settings.home))
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    version = loopml.log_model(Ridge().fit(X, y), "diabetes", input_example=X.head(5))
    loopml.set_alias("diabetes", "champion", version.version)
    port, log = _free_port(), tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [LOOPML, "serve", "--port", str(port), "--log-level", "warning"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    answered: list[tuple[str, float]] = []  # (prediction id, when its answer arrived)
    try:
        _wait_ready(base, server, log)
        records = X.head(4).to_dict(orient="records")
        with httpx.Client(base_url=base, timeout=10) as client:
            stop = time.monotonic() + 3.0
            while time.monotonic() < stop:
                answer = client.post("/v1/models/diabetes/predict", json={"records": records})
                assert answer.status_code == 200, answer.text
                now = time.monotonic()
                answered += [(p["prediction_id"], now) for p in answer.json()["predictions"]]
        killed_at = time.monotonic()
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert server.returncode == -signal.SIGKILL
    logged = set(
        read_predictions(ctx.settings.resolved_artifact_uri, "diabetes")[
            "prediction_id"
        ].to_pylist()
    )
    old_enough = [pid for pid, when in answered if when < killed_at - BOUND - WRITE_TIME]
    # Enough answers well before the kill to check (a warming server answers fewer early on).
    assert len(old_enough) > 100, (len(old_enough), len(answered))
    assert [pid for pid in old_enough if pid not in logged] == []
    assert logged <= {pid for pid, _ in answered}  # and nothing made up
