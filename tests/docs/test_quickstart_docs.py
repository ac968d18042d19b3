"""docs/quickstart-own-data.md runs as written: every shell block, in order, with the
installed ``loopml`` against a fresh store, ``loopml serve`` as a real process."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

PAGE = Path(__file__).parent.parent.parent / "docs" / "quickstart-own-data.md"


def shell_blocks() -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", PAGE.read_text(), re.S | re.M)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_ready(base: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, "loopml serve exited"
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail("loopml serve did not become ready in 180 s")


@pytest.fixture
def shell_env(sqlite_template, tmp_path) -> dict[str, str]:
    """A user's shell: this environment's ``loopml`` and ``python`` first, a fresh store."""
    store = tmp_path / "loopml.db"
    shutil.copy(sqlite_template, store)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return env | {"PATH": path, "LOOPML_STORE_URL": f"sqlite:///{store}",
                  "LOOPML_HOME": str(tmp_path / "home"), "LOOPML_ACTOR": "tester"}  # fmt: skip


def test_the_quickstart_from_your_own_csv_runs_as_written(shell_env, tmp_path):
    env = shell_env
    port = free_port()
    outputs, server = [], None
    try:
        for block in shell_blocks():
            block = block.replace("localhost:8000", f"127.0.0.1:{port}")
            if block.startswith("loopml serve"):
                command = block.strip().replace("--port 8000", f"--port {port}").split()
                server = subprocess.Popen(command, env=env, cwd=tmp_path,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
                wait_until_ready(f"http://127.0.0.1:{port}", server)
                continue
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], env=env, cwd=tmp_path,
                                  capture_output=True, text=True, timeout=600)  # fmt: skip
            assert done.returncode == 0, f"{block}\n{done.stdout}\n{done.stderr}"
            outputs.append(done.stdout)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
    init, run, registry, predict, feedback = outputs[1:]
    assert "2 segment(s)" in init and "Left out 'Unnamed: 0'" in init
    assert "2 trained" in run and "2 promoted" in run
    assert "sex=female" in registry and "sex=male" in registry
    assert "beat_champion: mae" in registry
    (answer,) = json.loads(predict)["predictions"]
    assert answer["segment"] == "sex=male" and answer["role"] == "champion"
    assert 25 < answer["prediction"] < 346  # within the range of the target
    assert json.loads(feedback)["accepted"] == 1
