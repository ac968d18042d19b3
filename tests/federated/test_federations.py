"""Federations as records in a store (SQLite and PostgreSQL), through the API and the CLI."""

from __future__ import annotations

import json

import pytest
from organisations import breast_cancer
from typer.testing import CliRunner

import loopml
from loopml import audit
from loopml._context import get_context
from loopml.cli import app


def run_cli(*args: str):
    return CliRunner().invoke(app, list(args), terminal_width=200)


def test_a_federation_and_its_invitations_are_recorded_and_audited(ctx):
    federation = loopml.create_federation(
        "cancer", ["a", "b"], "y", strategy="fedprox", mu=0.5, min_participants=3, rounds=4
    )
    assert (federation.role, federation.strategy, federation.state) == (
        "coordinator",
        "fedprox",
        "open",
    )
    assert federation.features == [{"name": "a", "type": "float"}, {"name": "b", "type": "float"}]
    path = loopml.invite_to_federation("cancer", "clinic-a")
    loopml.invite_to_federation("cancer", "clinic-a")  # again: one member, one event
    invitation = json.loads(path.read_text())
    assert invitation["member"] == "clinic-a" and invitation["options"]["mu"] == 0.5
    assert invitation["min_participants"] == 3 and invitation["target"] == "y"
    assert invitation["options"]["round_timeout"] == 600  # the default, for every member to see
    assert [m.state for m in loopml.get_federation("cancer").members] == ["invited"]
    actions = [e.action for e in audit.list_events(get_context().store, entity_id="cancer")]
    assert sorted(actions) == ["federation.create", "federation.invite"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"strategy": "scaffold"}, "'scaffold' is not a strategy. Choose one of: fedavg, fedprox"),
        ({"min_participants": 0}, "min_participants must be a positive integer"),
        ({"rounds": -1}, "rounds must be a positive integer"),
        (
            {"strategy": "newton", "rounds": 1},
            "A newton federation needs at least 2 rounds, not 1: the first measures",
        ),
        ({"holdout": 1.5}, "holdout must be a share between 0 and 1"),
        ({"round_timeout": 0}, "round_timeout is a whole number of seconds, at least 1, not 0"),
        ({"round_timeout": 2.5}, "round_timeout is a whole number of seconds"),
        ({"round_timeout": True}, "round_timeout is a whole number of seconds"),
        (
            {"strategy": "bagging", "model_family": "ridge_regression"},
            "'ridge_regression' is not a model family for bagging. Choose one of: boosted_trees",
        ),
        (
            {"model_family": "boosted_trees"},
            "not a model family for fedavg. Choose one of: logistic_regression, ridge_regression",
        ),
        (
            {"strategy": "newton", "model_family": "ridge_regression", "privacy": {}},
            "Differential privacy supports the strategies fedavg, fedprox, not 'newton'",
        ),
    ],
)
def test_bad_settings_are_refused_with_what_to_do(ctx, options, message):
    with pytest.raises(loopml.InvalidInput, match=message):
        loopml.create_federation("cancer", ["a"], "y", **options)


def test_one_round_is_enough_for_averaged_coefficients(ctx):
    for strategy in ("fedavg", "fedprox"):
        assert (
            loopml.create_federation(strategy, ["a"], "y", strategy=strategy, rounds=1).rounds == 1
        )


def test_names_are_unique_and_unknown_ones_are_listed(ctx):
    loopml.create_federation("cancer", ["a"], "y")
    with pytest.raises(loopml.Conflict, match="already exists"):
        loopml.create_federation("cancer", ["a"], "y")
    with pytest.raises(loopml.NotFound, match=r"No federation 'heart'\. Federations: cancer\."):
        loopml.invite_to_federation("heart", "clinic-a")
    with pytest.raises(loopml.InvalidInput, match="is not a participant name"):
        loopml.invite_to_federation("cancer", "../clinic")


def test_the_commands_create_invite_and_show_a_federation(ctx):
    _, _, features = breast_cancer()
    done = run_cli(
        "federation",
        "create",
        "cancer",
        "--features",
        ",".join(features[:3]),
        "--target",
        "target",
        "--min-participants",
        "2",
        "--rounds",
        "3",
    )
    assert (
        "Federation cancer: fedavg (logistic_regression), 3 features, target target, 2 per round, "
        "3 rounds" in done.output
    )
    done = run_cli("federation", "invite", "cancer", "clinic-a")
    assert done.exit_code == 0 and "clinic-a.invitation.json" in done.output.replace("\n", "")
    done = run_cli("federation", "status", "cancer")
    assert done.exit_code == 0 and "clinic-a" in done.output and "invited" in done.output
    done = run_cli("federation", "status")
    assert "cancer" in done.output and "coordinator" in done.output
    done = run_cli("federation", "run", "cancer")
    assert "0 member(s) can train, the federation needs 2" in str(done.exception)
    done = run_cli("federation", "evaluate", "cancer")
    assert "did not join federation 'cancer'" in str(done.exception)


def test_the_engine_job_carries_the_quorum_and_fedprox_weight(tmp_path):
    from loopml.federated import engine

    spec = {
        "federation": "cancer",
        "num_rounds": 4,
        "initial": {"theta": [0.0] * 7},
        "min_participants": 2,
        "fedprox_mu": 0.5,
        "round_timeout": 45,
        "journal": str(tmp_path / "journal.jsonl"),
        "workspace": str(tmp_path / "engine"),
        "members": [{"name": "clinic-a", "home": "/a"}, {"name": "clinic-b", "home": "/b"}],
    }
    engine._job(spec).export_job(str(tmp_path / "job"))
    server = json.loads(
        (tmp_path / "job/federation/app_server/config/config_fed_server.json").read_text()
    )
    (workflow,) = server["workflows"]
    assert workflow["path"] == engine.CONTROLLER
    assert workflow["args"]["fedprox_mu"] == 0.5 and workflow["args"]["min_participants"] == 2
    assert workflow["args"]["num_rounds"] == 4
    # Every round waits at most the federation's deadline, for the participants it names.
    assert workflow["args"]["round_timeout"] == 45
    assert workflow["args"]["participants"] == ["clinic-a", "clinic-b"]
    client = json.loads(
        (tmp_path / "job/federation/app_clinic-b/config/config_fed_client.json").read_text()
    )
    (executor,) = client["executors"]
    command = executor["executor"]["args"]["command"]
    assert command[-8:] == [
        "--home",
        "/b",
        "--federation",
        "cancer",
        "--member",
        "clinic-b",
        "--participants",
        "2",
    ]
    assert executor["executor"]["args"]["execution_mode"] == "external_process"
    assert workflow["args"].get("aggregator") is None


@pytest.mark.parametrize(
    ("strategy", "aggregator", "tracker"),
    [("bagging", "BAGGING", None), ("histogram", "SHARED", "127.0.0.1:9091")],
)
def test_a_tree_job_aggregates_with_its_strategys_aggregator(
    tmp_path, strategy, aggregator, tracker
):
    """Bagging folds every participant's trees in; histogram jobs hand each participant the
    address of XGBoost's tracker and keep the one forest all of them grew."""
    from loopml.federated import engine

    spec = {
        "federation": "cancer",
        "strategy": strategy,
        "num_rounds": 8,
        "initial": {},
        "min_participants": 2,
        "round_timeout": 600,
        "journal": str(tmp_path / "journal.jsonl"),
        "workspace": str(tmp_path / "engine"),
        "tracker": tracker,
        "members": [{"name": "clinic-a", "home": "/a"}, {"name": "clinic-b", "home": "/b"}],
    }
    engine._job(spec).export_job(str(tmp_path / "job"))
    server = json.loads(
        (tmp_path / "job/federation/app_server/config/config_fed_server.json").read_text()
    )
    (workflow,) = server["workflows"]
    found = workflow["args"]["aggregator"]
    found = found if "path" in found else next(c for c in server["components"] if c["id"] == found)
    assert found["path"] == getattr(engine, aggregator) and workflow["args"]["model"] == {}
    client = json.loads(
        (tmp_path / "job/federation/app_clinic-a/config/config_fed_client.json").read_text()
    )
    (executor,) = client["executors"]
    command = executor["executor"]["args"]["command"]
    assert command[-2:] == (["--tracker", tracker] if tracker else ["--participants", "2"])


def test_the_create_command_takes_trees_privacy_and_segments(ctx):
    done = run_cli(
        "federation",
        "create",
        "trees",
        "--features",
        "a,b",
        "--target",
        "y",
        "--strategy",
        "bagging",
        "--max-depth",
        "2",
        "--segment-by",
        "region",
        "--round-timeout",
        "45",
    )
    assert done.exit_code == 0, done.output
    trees = loopml.get_federation("trees")
    assert (trees.model_family, trees.options["max_depth"]) == ("boosted_trees", 2)
    assert trees.options["segment_by"] == ["region"] and trees.options["round_timeout"] == 45
    done = run_cli(
        "federation",
        "create",
        "private",
        "--features",
        "a",
        "--target",
        "y",
        "--privacy",
        "epsilon=2,clip=0.001",
    )
    assert done.exit_code == 0, done.output
    assert loopml.get_federation("private").options["privacy"] == {
        "epsilon": 2.0,
        "release_epsilon": 1.0,
        "clip": 0.001,
        "fraction": 0.2,
    }
    done = run_cli(
        "federation",
        "create",
        "bad",
        "--features",
        "a",
        "--target",
        "y",
        "--privacy",
        "epsilon=lots",
    )
    assert "is not key=number pairs" in str(done.exception)


def test_the_create_command_takes_a_model_family_and_the_invitation_carries_it(ctx):
    done = run_cli(
        "federation",
        "create",
        "progression",
        "--features",
        "a,b",
        "--target",
        "y",
        "--strategy",
        "newton",
        "--model-family",
        "ridge_regression",
        "--rounds",
        "2",
    )
    assert done.exit_code == 0, done.output
    assert "newton (ridge_regression)" in done.output
    invitation = json.loads(loopml.invite_to_federation("progression", "clinic-a").read_text())
    assert (invitation["model_family"], invitation["strategy"]) == ("ridge_regression", "newton")
    assert invitation["options"]["classes"] is None  # a number, not two classes
    assert loopml.create_federation("default", ["a"], "y").model_family == "logistic_regression"
