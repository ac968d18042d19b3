"""Histogram-based boosted trees: three clinics as separate processes, one forest grown together.

scikit-learn's breast cancer data, sorted by mean radius into three clinics that
differ in feature ranges and label balance. The engine runs one task in which
every clinic joins XGBoost's collective and grows the trees from the summed
gradient histograms: the forest must have the pooled model's number of trees and
its AUC within 0.01, and the coordinator must receive only that forest.
"""

from __future__ import annotations

import itertools
import json

import pytest
from organisations import breast_cancer_forest, holdout_auc, pooled_training_rows
from sklearn.metrics import roc_auc_score

import loopml
from loopml.federated import trees
from loopml.federated.local import split

CLINICS = ["clinic-a", "clinic-b", "clinic-c"]
ROUNDS = 10


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return breast_cancer_forest(
        tmp_path_factory.mktemp("histogram"),
        CLINICS,
        strategy="histogram",
        rounds=ROUNDS,
        min_participants=3,
    )


def test_the_shares_are_skewed_in_label_balance_and_feature_range(trained):
    balance = [frame["target"].mean() for frame in trained["data"].values()]
    assert max(balance) - min(balance) > 0.5
    radius = [frame["mean_radius"] for frame in trained["data"].values()]
    assert all(a.max() <= b.min() for a, b in itertools.pairwise(radius))  # disjoint ranges


def test_the_forest_has_the_pooled_number_of_trees_and_its_auc(trained):
    trained["orgs"].at()
    federated = loopml.load_model(f"models:/forest/{trained['result'].version}")
    assert (federated.flavor, type(federated.native).__name__) == ("xgboost", "XGBClassifier")
    features, test = trained["features"], trained["test"]
    pooled = trees.pooled_estimator(
        *pooled_training_rows(trained["data"], features, "target"), ROUNDS
    )
    booster = federated.native.get_booster()
    assert booster.num_boosted_rounds() == pooled.get_booster().num_boosted_rounds() == ROUNDS
    assert len(booster.get_dump()) == len(pooled.get_booster().get_dump())
    pooled_auc = roc_auc_score(
        test["target"], pooled.predict_proba(test[features].to_numpy())[:, 1]
    )
    assert abs(holdout_auc(federated, trained) - pooled_auc) <= 0.01


def test_every_clinics_own_trees_do_worse_on_the_pooled_holdout(trained):
    trained["orgs"].at()
    federated = holdout_auc(
        loopml.load_model(f"models:/forest/{trained['result'].version}"), trained
    )
    features, test = trained["features"], trained["test"]
    for member, frame in trained["data"].items():
        own = split(frame[features].to_numpy(float), frame["target"].to_numpy(float), 0.25)
        alone = trees.pooled_estimator(own.x_train, own.y_train, ROUNDS)
        alone_auc = roc_auc_score(
            test["target"], alone.predict_proba(test[features].to_numpy())[:, 1]
        )
        assert alone_auc < federated, member


def test_the_coordinator_receives_one_identical_forest_from_each_clinic_never_rows(trained):
    folder = trained["orgs"].coordinator.home_path / "federations" / "forest" / "engine"
    lines = [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]
    replies = [line for line in lines if line["kind"] == "reply"]
    assert sorted(r["site"] for r in replies) == CLINICS and all(r["accepted"] for r in replies)
    shapes = {json.dumps(r["params"], sort_keys=True) for r in replies}
    assert len(shapes) == 1  # the same forest from everyone
    (described,) = [r["params"]["model_data"]["trees"] for r in replies[:1]]
    assert len(described) == ROUNDS
    # A depth-3 tree has at most 15 nodes: its arrays are no longer, whatever the rows.
    assert all(v <= 15 for tree in described for k, v in tree.items() if k != "tree_param")
    for reply in replies:
        assert set(reply["metrics"]) <= {
            "holdout_auc",
            "holdout_log_loss",
            "holdout_accuracy",
            "train_rows",
            "holdout_rows",
        }
        assert reply["metrics"]["holdout_auc"] > 0.9
    forest = json.loads(trained["result"].rounds[-1].params["model_data"])
    for tree in forest["learner"]["gradient_booster"]["model"]["trees"]:
        assert set(tree["sum_hessian"]) == {1.0}  # masked before sending


def test_the_lineage_names_the_strategy_and_the_clinics_fingerprints(trained):
    trained["orgs"].at()
    version = loopml.get_model_version("forest", trained["result"].version)
    lineage = json.loads(loopml.load_artifact(version.run_id, "federation/lineage.json"))
    assert lineage["strategy"] == "histogram" and sorted(lineage["participants"]) == CLINICS
    assert all(f["num_rows"] for f in lineage["participants"].values())
