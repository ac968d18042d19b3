"""The unmodified MLflow client against a live loopml server, checked from both sides."""

from __future__ import annotations

from pathlib import Path

import pytest

import loopml
from loopml import audit

pytestmark = pytest.mark.xdist_group("mlflow-client")


@pytest.mark.slow
@pytest.mark.timeout(900)  # a real MLflow client on a machine that may be busy
def test_training_script_lands_in_loopml(run_client, live_server, ctx):
    seen = run_client(Path(__file__).with_name("client_script.py"), live_server)
    assert seen["default_experiment"] == "Default"

    # runs, nesting, params, metrics and tags are loopml's own runs
    runs = loopml.search_runs("diabetes")
    assert len(runs) == 4
    for run_id, child in seen["children"].items():
        run = loopml.get_run(run_id)
        assert run.parent_run_id == seen["parent"]
        assert run.params == {"alpha": str(child["alpha"]), "solver": "auto", "features": "10"}
        assert run.metrics["mae"] == pytest.approx(child["mae"])
        assert run.tags["alpha_tag"] == str(child["alpha"])
        assert run.status.value == "finished"
        assert [p.value for p in loopml.get_metric_history(run_id, "loss")] == [
            1.0,
            0.5,
            pytest.approx(1 / 3),
            0.25,
            0.2,
        ]
    assert seen["changed_param"] == "INVALID_PARAMETER_VALUE"
    assert loopml.get_run(seen["parent"]).tags["team"] == "forecasting"

    # loopml's filter language finds them; MLflow's search saw the same
    found = loopml.search_runs("diabetes", filter="metrics.mae < 100 and status = 'finished'")
    assert set(found["run_id"]) == set(seen["children"])
    maes = {r: c["mae"] for r, c in seen["children"].items()}
    assert seen["search"] == sorted(maes, key=maes.get)
    assert seen["search_params"] == [str(seen["children"][r]["alpha"]) for r in seen["search"]]

    # batches, async logging and history with MLflow's millisecond timestamps
    assert seen["history"][:3] == [
        [0, 0.0, 1_700_000_000_000],
        [1, 1.0, 1_700_000_000_001],
        [2, 2.0, 1_700_000_000_002],
    ]
    assert seen["history"][3] == 300
    assert seen["async_count"] == 50

    # artifacts went into loopml's store, and came back
    final = loopml.get_run(seen["final"])
    paths = {a.path for a in final.artifacts}
    assert {"notes.txt", "extra/a.txt", "extra/b.txt", "schema.json", "plots/test.png"} <= paths
    assert loopml.load_artifact(seen["final"], "notes.txt") == b"trained on diabetes\n"
    assert loopml.load_artifact(seen["final"], "plots/test.png").startswith(b"\x89PNG")
    assert seen["notes"] == "trained on diabetes\n"
    assert {"notes.txt", "extra/a.txt", "schema.json", "plots/test.png"} <= set(seen["downloaded"])
    assert not any(p.startswith("mlflow-models/") for p in seen["downloaded"])  # MLflow 3 layout
    assert seen["inputs"] == ["diabetes-train"]

    # the model is a real, safely loadable loopml version; the alias went through promotion
    version = loopml.get_model_version("diabetes-ridge", alias="champion")
    assert version.version == int(seen["alias_version"]) == 1
    assert version.run_id == seen["final"] and version.flavor == "sklearn"
    model = loopml.load_model("models:/diabetes-ridge@champion")
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    _, X_test, _, _ = train_test_split(X, y, random_state=0)
    assert model.predict(X_test.iloc[:5]) == pytest.approx(seen["predictions"])
    assert seen["numbers_match"]
    events = audit.list_events(ctx.store, entity_type="model", entity_id="diabetes-ridge")
    assert events[0].action == "alias.promote" and events[0].actor == "anonymous"  # an open server

    # a pickled model is refused, not made servable; errors keep MLflow's codes
    assert seen["pickled"] == "INVALID_PARAMETER_VALUE"
    assert seen["missing_run"] == "RESOURCE_DOES_NOT_EXIST"
    assert seen["delete_run"] == "NOT_IMPLEMENTED"
