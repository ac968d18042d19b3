"""Anchors run in virtual environments of their own, never in loopml's.

MLflow and Evidently are not loopml dependencies (Evidently cannot even share
an environment with pandas 3), so each anchor gets ``benchmarks/.venvs/<name>``
with pinned requirements, created on first use. An anchor's side of a
benchmark is a script run with that environment's Python; it prints one JSON
object on its last line of output, which is what ``run_anchor`` returns.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import venv
from pathlib import Path

VENVS = Path(__file__).parent / ".venvs"

# One list per anchor, shared by every benchmark that uses it, so they share one venv.
MLFLOW_REQUIREMENTS = ["mlflow==3.17.2", "scikit-learn==1.9.1"]


def anchor_python(name: str, requirements: list[str]) -> Path:
    """The Python of anchor environment ``name``, created and installed if needed."""
    home = VENVS / name
    python = home / "bin" / "python"
    stamp = home / ".requirements"
    wanted = "\n".join(sorted(requirements))
    if stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"[bench] preparing the {name} environment: {', '.join(requirements)}", file=sys.stderr)
    venv.create(home, with_pip=True, clear=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *requirements],
        check=True,
    )
    stamp.write_text(wanted)
    return python


def run_anchor(python: Path, script: Path, *args: str, timeout: float = 3600) -> dict:
    """Run ``script`` in an anchor environment; return the JSON of its last output line."""
    result = subprocess.run(
        [str(python), str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{script.name} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def free_port() -> int:
    """A free TCP port on 127.0.0.1 for a server under benchmark."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
