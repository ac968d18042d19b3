"""Federated ridge regression: a coordinator and three participants as separate processes.

scikit-learn's diabetes data, its training rows split by body mass index into three
practices that differ in feature range and target level; each federation is trained once
for the module and the tests read what it left in each store.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from organisations import PRIVATE, diabetes, federate, organisations, pooled_training_rows, shares
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import Ridge

import loopml
from loopml import metrics
from loopml.federated import linear, privacy, secure

pytestmark = [
    pytest.mark.xdist_group("federated-regression"),  # one fixture, one worker
    pytest.mark.timeout(900),  # the fixture's three federations, on a machine that may be busy
]
PRACTICES = ["practice-a", "practice-b", "practice-c"]
RIDGE = {"model_family": "ridge_regression", "min_participants": 3}
FEDERATIONS = {
    "newton": {"strategy": "newton", "rounds": 2},
    "sealed": {"rounds": 10, "secure_aggregation": True},
    # A clip ten times the default: at about 77 training rows a practice, 1e-4 per row lets
    # 4 rounds barely move the coefficients (holdout R² 0.00 to 0.07 in 300 runs of the
    # engine's filter on these rows); 1e-3 gave 0.16 to 0.45 in 150 (the pooled ridge: 0.39).
    "private": {"rounds": 4, "privacy": {**PRIVATE, "clip": 1e-3}},
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The same practices train a newton federation in the clear, a fedavg one sealed and a
    fedavg one private."""
    train, test, features = diabetes()
    orgs = organisations(tmp_path_factory.mktemp("regression"), PRACTICES)
    data = shares(train, PRACTICES)
    for name, options in FEDERATIONS.items():
        federate(orgs, name, data, features, "target", **RIDGE, **options)
    results = {name: loopml.run_federation(name) for name in FEDERATIONS}
    return {
        "orgs": orgs,
        "results": results,
        "test": test,
        "data": data,
        "features": features,
        "pooled": _ridge(data, features),
    }


def _ridge(data, features):
    """The pooled ridge on the rows ``data``'s members train on (each less its holdout)."""
    x, y = pooled_training_rows(data, features, "target", stratify=False)
    return linear.pooled_estimator(pd.DataFrame(x, columns=features), y, linear.RIDGE)


def _rmse(model, trained) -> float:
    test = trained["test"]
    return metrics.rmse(test["target"].to_numpy(), model.predict(test[trained["features"]]))


def test_newton_registers_the_pooled_ridge_on_the_raw_features(trained):
    trained["orgs"].at()
    federated = loopml.load_model(f"models:/newton/{trained['results']['newton'].version}")
    pooled = trained["pooled"]
    # a fitted scikit-learn Ridge, loaded without trusted=True: on the allow-list
    assert isinstance(federated.native, Ridge)
    scaler, ridge = pooled
    np.testing.assert_allclose(federated.native.coef_, ridge.coef_ / scaler.scale_, rtol=1e-5)
    test = trained["test"][trained["features"]]
    np.testing.assert_allclose(federated.predict(test), pooled.predict(test), atol=1e-4)
    assert _rmse(federated, trained) == pytest.approx(_rmse(pooled, trained), rel=0.01)


def test_every_local_only_model_does_worse_on_the_pooled_holdout(trained):
    trained["orgs"].at()
    federated = loopml.load_model(f"models:/newton/{trained['results']['newton'].version}")
    features = trained["features"]
    for frame in trained["data"].values():
        model = _ridge({"own": frame}, features)
        assert _rmse(model, trained) > _rmse(federated, trained)


def test_each_round_reports_every_participants_squared_error_and_holdout_metrics(trained):
    last = trained["results"]["newton"].rounds[-1]
    assert sorted(last.metrics) == PRACTICES
    for found in last.metrics.values():
        assert {"local_loss", "holdout_rmse", "holdout_mae", "holdout_r2"} <= set(found)
        # the local loss is a mean squared error in the target's units, the rmse its root's kin
        assert 1000 < found["local_loss"] < 10000 and 20 < found["holdout_rmse"] < 100


def test_sealed_fedavg_comes_near_the_pooled_ridge(trained):
    orgs = trained["orgs"]
    assert trained["results"]["sealed"].version is None  # the coordinator cannot read it
    exchange = orgs.coordinator.home_path / "federations" / "sealed"
    document = json.loads((exchange / "global.json").read_text())
    own = orgs.participants["practice-a"].home_path / "federations" / "sealed"
    vector = secure.decrypt(document["ckks"], own / secure.PARTICIPANT_KEY)
    model = linear.to_estimator(vector, None, trained["features"])
    # averaged local gradient steps, added up as ciphertexts: within 3% of the pooled error
    assert _rmse(model, trained) == pytest.approx(_rmse(trained["pooled"], trained), rel=0.03)


def test_a_private_ridge_sends_noised_changes_and_records_its_budget(trained):
    orgs, features = trained["orgs"], trained["features"]
    journal = orgs.coordinator.home_path / "federations" / "private" / "engine" / "journal.jsonl"
    replies = [json.loads(line) for line in journal.read_text().splitlines()]
    replies = [line for line in replies if line["kind"] == "reply" and line["round"] > 0]
    # the change of the whole vector (moments of the features and of the target included)
    assert {tuple(r["params"]["theta"]["shape"]) for r in replies} == {(3 * len(features) + 3,)}
    assert all(r["meta"].get(privacy.ACCOUNTANT) for r in replies)
    orgs.at()
    version = loopml.get_model_version("private", trained["results"]["private"].version)
    spent = json.loads(loopml.load_artifact(version.run_id, "federation/privacy.json"))
    per_round = PRIVATE["epsilon"] + PRIVATE["release_epsilon"]
    assert spent["epsilon"] == pytest.approx(FEDERATIONS["private"]["rounds"] * per_round)
    model = loopml.load_model(f"models:/private/{version.version}")
    assert isinstance(model.native, Ridge)
    # the noise costs accuracy, yet the model explains some of the target's spread
    test = trained["test"]
    assert metrics.r2(test["target"].to_numpy(), model.predict(test[features])) > 0.1


def test_the_gate_passes_and_a_participant_registers_the_ridge_it_approves(trained):
    orgs, test = trained["orgs"], trained["test"][trained["features"]]
    for member in PRACTICES:
        orgs.at(member)
        report = loopml.evaluate_federated_model("newton")
        assert report["champion"] is None and set(report["candidate"]) == {"mae", "rmse", "r2"}
    orgs.at()
    gate = loopml.decide_federation_gate("newton")
    assert gate["passed"] and gate["metric"] == "rmse"
    with pytest.raises(loopml.InvalidInput, match="did not measure 'accuracy'; they measured"):
        loopml.decide_federation_gate("newton", metric="accuracy")
    orgs.at("practice-a")
    loopml.approve_federated_model("newton")
    served = loopml.load_model("models:/newton@champion")
    np.testing.assert_allclose(served.predict(test), trained["pooled"].predict(test), atol=1e-4)


def test_a_champion_with_the_lower_rmse_fails_the_gate(trained):
    orgs, features = trained["orgs"], trained["features"]
    own = trained["data"]["practice-c"]
    orgs.at("practice-c")
    # A constant champion has the higher rmse: the federated model improves on it.
    weak = DummyRegressor().fit(own[features], own["target"])
    loopml.set_alias("newton", "champion", loopml.log_model(weak, "newton").version)
    loopml.evaluate_federated_model("newton")
    orgs.at()
    gate = loopml.decide_federation_gate("newton", margin=0.0)
    assert gate["passed"] and gate["members"]["practice-c"]["regression"] < 0
    # Its own ridge fitted on all its rows (its holdout too) has the lower rmse: a regression.
    orgs.at("practice-c")
    strong = linear.pooled_estimator(own[features], own["target"], linear.RIDGE)
    loopml.set_alias("newton", "champion", loopml.log_model(strong, "newton").version)
    report = loopml.evaluate_federated_model("newton")
    assert report["champion"]["rmse"] < report["candidate"]["rmse"] - 1
    orgs.at()
    gate = loopml.decide_federation_gate("newton", margin=1.0)
    assert not gate["passed"] and gate["reason"] == "rmse regressed beyond 1.0 at practice-c"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (lambda y: y.astype(str), "holds (object|str|string) values; a regression federation"),
        (lambda y: y.where(y > 100), "is missing or not finite in [0-9]+ row"),
    ],
)
def test_a_target_that_is_not_numbers_is_refused_at_join(tmp_path, target, message):
    train, _, features = diabetes()
    orgs = organisations(tmp_path, ["practice-d"])
    frame = train.assign(target=target(train["target"]))
    with pytest.raises(loopml.InvalidInput, match=message) as refused:
        federate(orgs, "refuses", {"practice-d": frame}, features, "target", **RIDGE)
    assert refused.value.hint
