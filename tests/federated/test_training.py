"""The coordinator and three participants as separate processes on loopback, on real data.

One federation is trained once for the module (scikit-learn's breast cancer data, split
by mean radius into three clinics that differ in feature ranges and label balance); the
tests read what it left in each store.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from organisations import (
    breast_cancer,
    federate,
    objective,
    organisations,
    pooled_optimum,
    shares,
    training_rows,
)
from sklearn.metrics import accuracy_score, log_loss

import loopml
from loopml import audit
from loopml._context import get_context
from loopml.federated import linear, site
from loopml.federated.local import split

CLINICS = ["clinic-a", "clinic-b", "clinic-c"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    train, test, features = breast_cancer()
    orgs = organisations(tmp_path_factory.mktemp("federation"), CLINICS)
    data = shares(train, CLINICS)
    federate(orgs, "cancer", data, features, "target", min_participants=2, rounds=6)
    result = loopml.run_federation("cancer")
    return {
        "orgs": orgs,
        "result": result,
        "train": train,
        "test": test,
        "data": data,
        "features": features,
    }


def _pooled_holdout_scores(model, trained):
    test = trained["test"]
    proba = model.predict_proba(test[trained["features"]].to_numpy())[:, 1]
    return accuracy_score(test["target"], proba >= 0.5), log_loss(test["target"], proba)


def test_federated_logistic_regression_matches_the_pooled_model(trained):
    trained["orgs"].at()
    federated = loopml.load_model(f"models:/cancer/{trained['result'].version}")
    test, features = trained["test"], trained["features"]
    federated_accuracy = accuracy_score(test["target"], federated.predict(test[features]))
    train = trained["train"]
    pooled = linear.pooled_estimator(train[features].to_numpy(), train["target"].to_numpy())
    pooled_accuracy, _ = _pooled_holdout_scores(pooled, trained)
    assert abs(federated_accuracy - pooled_accuracy) <= 0.01, (federated_accuracy, pooled_accuracy)


def test_every_local_only_model_does_worse_on_the_pooled_holdout(trained):
    features = trained["features"]
    vector = trained["result"].rounds[-1].params["theta"]
    fed_accuracy, fed_loss = _pooled_holdout_scores(linear.to_estimator(vector, [0, 1]), trained)
    for member, frame in trained["data"].items():
        # The same model trained on the rows this clinic would train on alone.
        own = split(frame[features].to_numpy(float), frame["target"].to_numpy(float), 0.25)
        alone = linear.pooled_estimator(own.x_train, own.y_train)
        accuracy, loss = _pooled_holdout_scores(alone, trained)
        assert accuracy < fed_accuracy and loss > fed_loss, (member, accuracy, loss, fed_accuracy)


def test_each_round_is_a_run_with_every_participants_metrics(trained):
    trained["orgs"].at()
    result = trained["result"]
    frame = loopml.search_runs("federation:cancer")
    assert sorted(frame["name"]) == sorted([f"round {n}" for n in range(7)] + ["federation"])
    runs = {run.name: run for run in map(loopml.get_run, frame["run_id"])}
    assert all(runs[f"round {n}"].parent_run_id == result.run_id for n in range(7))
    last = runs["round 6"]
    for member, frame in trained["data"].items():
        holdout = math.ceil(len(frame) * 0.25)
        assert last.metrics[f"{member}.train_rows"] == len(frame) - holdout
        assert last.metrics[f"{member}.holdout_rows"] == holdout
        assert 0 < last.metrics[f"{member}.local_loss"] < 0.5
        assert last.metrics[f"{member}.holdout_accuracy"] > 0.85
    assert result.rounds[-1].sites == tuple(sorted(CLINICS))


def test_the_global_version_names_federation_rounds_and_fingerprints_never_rows(trained):
    orgs = trained["orgs"]
    orgs.at()
    version = loopml.get_model_version("cancer", trained["result"].version)
    lineage = json.loads(loopml.load_artifact(version.run_id, "federation/lineage.json"))
    assert lineage["federation"] == "cancer" and lineage["strategy"] == "fedavg"
    assert len(lineage["rounds"]) == 7
    assert all(
        loopml.get_run(run_id).tags["loopml.federation"] == "cancer" for run_id in lineage["rounds"]
    )
    for member in CLINICS:
        orgs.at(member)
        own = loopml.get_dataset(f"{member}-records")
        assert lineage["participants"][member] == {
            "digest": own.digest,
            "schema": own.schema,
            "num_rows": own.num_rows,
        }


def test_the_coordinators_messages_carry_only_arrays_counts_and_metrics(trained):
    folder = trained["orgs"].coordinator.home_path / "federations" / "cancer" / "engine"
    replies = [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]
    replies = [line for line in replies if line["kind"] == "reply"]
    assert len(replies) == 7 * 3
    dimension = 3 * len(trained["features"]) + 1
    for reply in replies:
        assert reply["params"] == {
            "theta": {"type": "ndarray", "dtype": "float64", "shape": [dimension]}
        }
        assert all(isinstance(value, float | int) for value in reply["metrics"].values())
        assert set(reply["metrics"]) <= {
            "local_loss",
            "holdout_log_loss",
            "holdout_accuracy",
            "train_rows",
            "holdout_rows",
        }
        # Besides the row count that weights the average, only the engine's own bookkeeping.
        assert reply["meta"]["NUM_STEPS_CURRENT_ROUND"] == reply["metrics"]["train_rows"]
        assert all(_numbers_or_words(value) for value in reply["meta"].values())


def _numbers_or_words(value) -> bool:
    """The engine's bookkeeping: numbers, words, or mappings of them (the metrics it echoes)."""
    if isinstance(value, dict):
        return all(_numbers_or_words(v) for v in value.values())
    return isinstance(value, int | float | str)


def test_a_reply_is_one_array_a_count_and_numbers():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4))
    data = split(x, (x[:, 0] > 0).astype(float), 0.25)
    params, metrics, rows = site.reply(linear.initial_vector(4), data, 1, mu=0.0)
    assert set(params) == {"theta"} and params["theta"].shape == (13,)
    assert rows == 60 and all(isinstance(value, float | int) for value in metrics.values())


def test_a_newton_reply_adds_the_gradient_and_hessian_of_the_local_objective():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4))
    data = split(x, (x[:, 0] > 0).astype(float), 0.25)
    params, metrics, rows = site.reply(linear.initial_vector(4), data, 1, mu=0.0, newton=True)
    # the global vector (after the Newton step), the gradient and the Hessian of the local
    # objective there: aggregates of the rows, never rows
    assert set(params) == {"theta", "gradient", "hessian"} and params["theta"].shape == (13,)
    assert params["gradient"].shape == (5,) and params["hessian"].shape == (25,)
    gradient, hessian = linear.curvature(params["theta"], data.x_train, data.y_train)
    np.testing.assert_array_equal(params["gradient"], gradient)
    np.testing.assert_array_equal(params["hessian"], hessian)
    assert rows == 60 and all(isinstance(value, float | int) for value in metrics.values())


@pytest.fixture(scope="module")
def newton(tmp_path_factory):
    """The same clinics train a federation with strategy="newton"."""
    train, test, features = breast_cancer()
    orgs = organisations(tmp_path_factory.mktemp("newton"), CLINICS)
    data = shares(train, CLINICS)
    federate(
        orgs, "newton", data, features, "target", strategy="newton", min_participants=3, rounds=10
    )
    result = loopml.run_federation("newton")
    return {"orgs": orgs, "result": result, "test": test, "data": data, "features": features}


def test_a_newton_federation_reaches_the_pooled_model_on_skewed_clinics(newton, trained):
    """Where averaged local steps stop short of the pooled model, Newton steps from the pooled
    gradient and Hessian reach its optimum (scikit-learn's own solver stops a whisker short)."""
    rows = training_rows(newton["data"], newton["features"])
    optimum = pooled_optimum(rows)
    gaps = {
        name: objective(run["result"].rounds[-1].params["theta"], rows) - optimum
        for name, run in (("newton", newton), ("fedavg", trained))
    }
    assert gaps["newton"] < 1e-4 < 1e-3 < gaps["fedavg"], gaps
    newton["orgs"].at()
    registered = loopml.load_model(f"models:/newton/{newton['result'].version}")
    test, features = newton["test"], newton["features"]
    pooled = linear.pooled_estimator(
        np.vstack([x for x, _ in rows]), np.concatenate([y for _, y in rows])
    )
    assert accuracy_score(test["target"], registered.predict(test[features])) == accuracy_score(
        test["target"], pooled.predict(test[features].to_numpy(float))
    )


def test_a_newton_reply_carries_the_vector_gradient_and_hessian_never_rows(newton):
    folder = newton["orgs"].coordinator.home_path / "federations" / "newton" / "engine"
    replies = [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]
    replies = [line for line in replies if line["kind"] == "reply"]
    assert len(replies) == 11 * 3
    d = len(newton["features"])
    # the vector; after the moments also the gradient and the (flattened) Hessian of the
    # participant's objective: sums over its rows, never a row
    shapes = {"theta": [3 * d + 1], "gradient": [d + 1], "hessian": [(d + 1) ** 2]}
    for reply in replies:
        sent = shapes if reply["round"] > 0 else {"theta": shapes["theta"]}
        assert reply["params"] == {
            key: {"type": "ndarray", "dtype": "float64", "shape": shape}
            for key, shape in sent.items()
        }


def test_the_gate_passes_and_each_participant_approves_into_its_own_registry(trained):
    orgs = trained["orgs"]
    for member in CLINICS:
        orgs.at(member)
        report = loopml.evaluate_federated_model("cancer")
        assert report["champion"] is None and report["candidate"]["accuracy"] > 0.85
    orgs.at()
    assert loopml.decide_federation_gate("cancer", margin=0.01)["passed"]
    aliases = {"clinic-a": "champion", "clinic-b": "production", "clinic-c": "champion"}
    for member, alias in aliases.items():
        orgs.at(member)
        loopml.approve_federated_model("cancer", alias=alias, reason="our holdout agrees")
        version = loopml.get_model_version("cancer", alias=alias)
        assert "federation cancer" in version.description
        moves = audit.list_events(get_context().store, entity_type="model", entity_id="cancer")
        assert any(e.actor == f"{member}-admin" and e.reason == "our holdout agrees" for e in moves)
    orgs.at()
    decisions = loopml.federation_decisions("cancer")
    assert {(d["member"], d["alias"]) for d in decisions} == set(aliases.items())
    approved = audit.list_events(
        get_context().store, entity_id="cancer", action="federation.approved"
    )
    assert sorted(e.actor for e in approved) == sorted(f"{m}-admin" for m in CLINICS)
    loopml.federation_decisions("cancer")  # read again: audited once
    assert len(audit.list_events(get_context().store, action="federation.approved")) == 3


def test_a_participant_whose_champion_is_better_fails_the_gate_for_everyone(trained):
    orgs, features = trained["orgs"], trained["features"]
    orgs.at("clinic-c")
    own = trained["data"]["clinic-c"]
    # Clinic C's own model, fitted on all its rows: on its holdout it is hard to beat.
    strong = linear.pooled_estimator(own[features], own["target"])
    champion = loopml.log_model(strong, "cancer", input_example=own[features].head())
    loopml.set_alias("cancer", "champion", champion.version)
    versions = len(loopml.list_model_versions("cancer"))
    report = loopml.evaluate_federated_model("cancer")
    assert report["champion"]["log_loss"] < report["candidate"]["log_loss"] - 0.01
    orgs.at()
    gate = loopml.decide_federation_gate("cancer", metric="log_loss", margin=0.01)
    assert not gate["passed"] and gate["reason"] == "log_loss regressed beyond 0.01 at clinic-c"
    assert gate["members"]["clinic-a"]["passed"] and not gate["members"]["clinic-c"]["passed"]
    orgs.at("clinic-c")
    with pytest.raises(loopml.InvalidInput, match="gate did not pass: log_loss regressed"):
        loopml.approve_federated_model("cancer")
    assert len(loopml.list_model_versions("cancer")) == versions
