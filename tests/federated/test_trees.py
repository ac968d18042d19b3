"""Bagged boosted trees: three clinics as separate processes on the engine, on real data.

scikit-learn's breast cancer data, split by mean radius into three clinics that
differ in feature ranges and label balance; one federation of XGBoost trees is
trained once for the module and the tests read what it left behind.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from organisations import breast_cancer_forest, holdout_auc
from sklearn.metrics import roc_auc_score

import loopml
from loopml.federated import trees
from loopml.federated.controller import TreeBagging
from loopml.federated.local import split
from loopml.federated.site import reply_trees

CLINICS = ["clinic-a", "clinic-b", "clinic-c"]
ROUNDS = 8
TREE_FIELDS = {
    "base_weights",
    "categories",
    "categories_nodes",
    "categories_segments",
    "categories_sizes",
    "default_left",
    "id",
    "left_children",
    "loss_changes",
    "parents",
    "right_children",
    "split_conditions",
    "split_indices",
    "split_type",
    "sum_hessian",
    "tree_param",
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return breast_cancer_forest(
        tmp_path_factory.mktemp("forest"),
        CLINICS,
        strategy="bagging",
        rounds=ROUNDS,
        min_participants=2,
    )


def test_federated_trees_reach_the_pooled_auc_with_as_many_boosting_rounds(trained):
    trained["orgs"].at()
    federated = loopml.load_model(f"models:/forest/{trained['result'].version}")
    assert (federated.flavor, type(federated.native).__name__) == ("xgboost", "XGBClassifier")
    booster = federated.native.get_booster()
    assert booster.num_boosted_rounds() == ROUNDS * len(CLINICS)  # one tree per clinic and round
    train, features = trained["train"], trained["features"]
    pooled = trees.pooled_estimator(train[features], train["target"], ROUNDS)
    assert holdout_auc(federated, trained) >= holdout_auc(pooled, trained) - 0.01


def test_every_clinics_own_trees_do_worse_on_the_pooled_holdout(trained):
    trained["orgs"].at()
    federated = holdout_auc(
        loopml.load_model(f"models:/forest/{trained['result'].version}"), trained
    )
    features = trained["features"]
    for member, frame in trained["data"].items():
        own = split(frame[features].to_numpy(float), frame["target"].to_numpy(float), 0.25)
        alone = trees.pooled_estimator(own.x_train, own.y_train, ROUNDS)
        test = trained["test"]
        assert (
            roc_auc_score(test["target"], alone.predict_proba(test[features].to_numpy())[:, 1])
            < federated
        ), member


def test_the_model_file_is_xgboosts_own_format_and_loads_without_trust(trained):
    trained["orgs"].at()
    version = loopml.get_model_version("forest", trained["result"].version)
    assert version.flavor == "xgboost"
    lineage = json.loads(loopml.load_artifact(version.run_id, "federation/lineage.json"))
    assert lineage["strategy"] == "bagging" and len(lineage["rounds"]) == ROUNDS


def test_replies_are_trees_of_arrays_with_masked_hessians_never_rows(trained):
    folder = trained["orgs"].coordinator.home_path / "federations" / "forest" / "engine"
    lines = [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]
    replies = [line for line in lines if line["kind"] == "reply"]
    assert len(replies) == ROUNDS * len(CLINICS)
    for reply in replies:
        (tree,) = reply["params"]["model_data"]["trees"]  # one new tree per round
        assert set(tree) <= TREE_FIELDS
        # A depth-3 tree has at most 15 nodes: its arrays are no longer, whatever the rows.
        assert all(isinstance(v, int) and v <= 15 for k, v in tree.items() if k != "tree_param")
        assert set(reply["metrics"]) <= {
            "holdout_auc",
            "holdout_log_loss",
            "holdout_accuracy",
            "train_rows",
            "holdout_rows",
        }
    forest = json.loads(trained["result"].rounds[-1].params["model_data"])
    for tree in forest["learner"]["gradient_booster"]["model"]["trees"]:
        assert set(tree["sum_hessian"]) == {1.0}  # masked by the engine before sending


def test_bagging_by_hand_is_what_the_engine_computes(trained):
    """The participants' replies folded by TreeBagging without the engine give the same forest."""
    features = trained["features"]
    data = {
        m: split(f[features].to_numpy(float), f["target"].to_numpy(float), 0.25)
        for m, f in trained["data"].items()
    }
    bagging, forest = TreeBagging(), None
    from nvflare.app_common.abstract.fl_model import FLModel

    for _ in range(ROUNDS):
        for member in CLINICS:
            params, _, _ = reply_trees(forest, data[member], len(CLINICS), {})
            bagging.accept_model(FLModel(params=params))
        forest = bagging.aggregate_model().params["model_data"]
    x = trained["test"][features].to_numpy(float)
    engine = trained["result"].rounds[-1].params["model_data"].encode()
    np.testing.assert_allclose(
        trees.predict_proba(forest, x), trees.predict_proba(engine, x), atol=1e-6
    )


def test_each_clinic_evaluates_the_forest_and_approves_it_into_its_own_registry(trained):
    orgs = trained["orgs"]
    for member in CLINICS:
        orgs.at(member)
        report = loopml.evaluate_federated_model("forest")
        assert report["candidate"]["roc_auc"] > 0.9, member
    orgs.at()
    assert loopml.decide_federation_gate("forest", metric="roc_auc", margin=0.01)["passed"]
    orgs.at("clinic-b")
    loopml.approve_federated_model("forest", alias="champion", reason="our holdout agrees")
    local = loopml.get_model_version("forest", alias="champion")
    assert local.flavor == "xgboost" and "federation forest" in local.description
    here = loopml.load_model("models:/forest@champion")
    test = trained["test"]
    assert roc_auc_score(test["target"], here.predict_proba(test[trained["features"]])[:, 1]) > 0.95
