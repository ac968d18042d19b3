"""docs/migrating-from-mlflow.md runs as written: its MLflow script (blocks starting with
``import mlflow``) in the MLflow client's environment against a live loopml server, then
its loopml blocks in loopml's own; its import command works on a real MLflow store."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loopml.cli import app

DOC = Path(__file__).parents[2] / "docs" / "migrating-from-mlflow.md"
pytestmark = pytest.mark.xdist_group("mlflow-client")


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(), re.S | re.M)


@pytest.mark.slow
@pytest.mark.timeout(900)  # a real MLflow client on a machine that may be busy
def test_the_mlflow_script_logs_to_loopml(run_client, live_server, ctx, tmp_path):
    mlflow_code = [b for b in blocks("python") if b.startswith("import mlflow")]
    loopml_code = [b for b in blocks("python") if not b.startswith("import mlflow")]
    assert mlflow_code and loopml_code
    script = tmp_path / "train.py"
    script.write_text("\n".join(mlflow_code) + "\nprint('{}')\n")
    run_client(script, live_server)
    namespace: dict = {}
    for block in loopml_code:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert len(namespace["runs"]) == 1


def test_the_documented_variable_and_import_command(mlflow_python, sqlite_ctx, tmp_path):
    assert "export MLFLOW_TRACKING_URI=http://127.0.0.1:8000" in blocks("bash")[0]
    command = next(
        line for b in blocks("bash") for line in b.splitlines() if "import mlflow" in line
    )
    args = shlex.split(command)[1:]
    args[args.index("--from") + 1] = f"sqlite:///{tmp_path / 'mlflow.db'}"  # a new, empty store
    args[args.index("--mlflow-python") + 1] = str(mlflow_python)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "experiments" in result.output  # MLflow's Default experiment, copied
