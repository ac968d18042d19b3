"""`loopml import mlflow` copies a real MLflow store, value by value, and only once.

On SQLite only: the import writes through the tracking and registry services, whose
PostgreSQL behaviour their own tests (and tests/api/mlflow) cover; this test is slow.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

import loopml
from loopml.cli import app

pytestmark = pytest.mark.xdist_group("mlflow-client")
BUILDER = Path(__file__).with_name("build_mlflow_store.py")


@pytest.fixture
def mlflow_store(mlflow_python, tmp_path):
    uri, root = f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "mlartifacts"

    def call(action: str) -> dict:
        result = subprocess.run(
            [str(mlflow_python), str(BUILDER), uri, str(root), action],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-4000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    call("build")
    return uri, call


def _import(uri: str, python: Path):
    result = CliRunner().invoke(
        app, ["import", "mlflow", "--from", uri, "--mlflow-python", str(python)]
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
@pytest.mark.timeout(900)  # a real MLflow client on a machine that may be busy
def test_import_copies_every_value_once(mlflow_store, mlflow_python, sqlite_ctx):
    uri, call = mlflow_store
    output = _import(uri, mlflow_python)
    expected = call("dump")
    assert "cloudpickle" in output, output  # the summary says why the pickled model stays behind
    assert "Warning" not in output, output

    for run_id, want in expected["runs"].items():
        run = loopml.get_run(run_id)
        assert run.experiment == want["experiment"] and run.name == want["name"]
        assert run.status.value == want["status"].lower() and run.user == want["user"]
        assert round(run.start_time.timestamp() * 1000) == want["start_time"]
        assert round(run.end_time.timestamp() * 1000) == want["end_time"]
        assert run.params == want["params"]
        assert {k: v for k, v in run.tags.items() if not k.startswith("loopml.")} == want["tags"]
        assert run.metrics == want["latest"]  # MLflow's latest value of each metric
        for key, history in want["metrics"].items():
            got = loopml.get_metric_history(run_id, key)
            assert [[p.step, p.value, round(p.timestamp * 1000)] for p in got] == history
        assert (
            sorted(a.path for a in run.artifacts if a.path.startswith("reports/"))
            == want["artifacts"]
        )

    children = [r for r in expected["runs"].values() if r["name"].startswith("c=")]
    assert len(children) == 2
    # the skops versions are real loopml versions; the champion moved with them
    assert expected["champion"] == {"champion": 2}
    version = loopml.get_model_version("wine", alias="champion")
    assert version.run_id == expected["versions"]["wine/2"] and version.flavor == "sklearn"
    from sklearn.datasets import load_wine

    X, y = load_wine(return_X_y=True, as_frame=True)
    assert (loopml.load_model("models:/wine@champion").predict(X) == y).mean() > 0.9
    # the pickled model stays an artifact of its run, with no servable version
    with pytest.raises(LookupError):
        loopml.get_model_version("wine-pickled", version=1)
    pickled_run = expected["versions"]["wine-pickled/1"]
    assert any(a.path.startswith("mlflow-models/") for a in loopml.get_run(pickled_run).artifacts)

    # a second import copies nothing; a later one only the new run
    before = len(loopml.search_runs(["wine", "other"]))
    again = _import(uri, mlflow_python)
    assert "already imported" in again
    assert len(loopml.search_runs(["wine", "other"])) == before
    call("add")
    _import(uri, mlflow_python)
    assert len(loopml.search_runs(["wine", "other"])) == before + 1
    assert len(loopml.list_model_versions("wine")) == 2
