"""docs/quickstart-own-data.md runs as written: every shell block, in order, with the
installed ``loopml`` against a fresh store, ``loopml serve`` as a real process."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.servers import free_port, serving

PAGE = Path(__file__).parent.parent.parent / "docs" / "quickstart-own-data.md"


def shell_blocks() -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", PAGE.read_text(), re.S | re.M)


@pytest.fixture
def shell_env(sqlite_template, tmp_path) -> dict[str, str]:
    """A user's shell: this environment's ``loopml`` and ``python`` first, a fresh store."""
    store = tmp_path / "loopml.db"
    shutil.copy(sqlite_template, store)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return env | {
        "PATH": path,
        "LOOPML_STORE_URL": f"sqlite:///{store}",
        "LOOPML_HOME": str(tmp_path / "home"),
        "LOOPML_ACTOR": "tester",
    }


def test_the_quickstart_from_your_own_csv_runs_as_written(shell_env, tmp_path):
    env = shell_env
    port = free_port()
    outputs = []
    with contextlib.ExitStack() as stack:
        for block in shell_blocks():
            block = block.replace("localhost:8000", f"127.0.0.1:{port}")
            if block.startswith("loopml serve"):  # a terminal of its own, in the page
                assert block.strip() == "loopml serve --port 8000"
                stack.enter_context(serving(env, tmp_path, port))
                continue
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, f"{block}\n{done.stdout}\n{done.stderr}"
            outputs.append(done.stdout)
    init, run, registry, predict, feedback = outputs[1:]
    assert "2 segment(s)" in init and "Left out 'Unnamed: 0'" in init
    assert "2 trained" in run and "2 promoted" in run
    assert "sex=female" in registry and "sex=male" in registry
    assert "beat_champion: mae" in registry
    (answer,) = json.loads(predict)["predictions"]
    assert answer["segment"] == "sex=male" and answer["role"] == "champion"
    assert 25 < answer["prediction"] < 346  # within the range of the target
    assert json.loads(feedback)["accepted"] == 1
