"""Differential privacy from the engine: noised updates, and the budget recorded with the version."""

from __future__ import annotations

import json

import numpy as np
import pytest
from organisations import PRIVATE, breast_cancer, federate, organisations, shares
from sklearn.metrics import accuracy_score

import loopml
from loopml.federated import privacy

CLINICS = ["clinic-a", "clinic-b", "clinic-c"]
ROUNDS = 4


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    train, test, features = breast_cancer()
    orgs = organisations(tmp_path_factory.mktemp("private"), CLINICS)
    federate(
        orgs,
        "cancer",
        shares(train, CLINICS),
        features,
        "target",
        rounds=ROUNDS,
        min_participants=3,
        privacy=PRIVATE,
    )
    result = loopml.run_federation("cancer")
    return {"orgs": orgs, "result": result, "test": test, "features": features}


def test_the_budget_each_participant_spent_is_recorded_with_the_version(trained):
    trained["orgs"].at()
    version = loopml.get_model_version("cancer", trained["result"].version)
    spent = json.loads(loopml.load_artifact(version.run_id, "federation/privacy.json"))
    # Pure differential privacy composes by addition: each training round spends both parts.
    per_round = PRIVATE["epsilon"] + PRIVATE["release_epsilon"]
    assert spent["per_participant"] == {m: pytest.approx(ROUNDS * per_round) for m in CLINICS}
    assert spent["epsilon"] == pytest.approx(ROUNDS * per_round) and spent["delta"] == 0.0
    assert spent["options"] == PRIVATE and "feature moments" in spent["covers"]
    tags = loopml.get_run(version.run_id).tags
    assert float(tags["loopml.privacy.epsilon"]) == pytest.approx(ROUNDS * per_round)
    lineage = json.loads(loopml.load_artifact(version.run_id, "federation/lineage.json"))
    assert lineage["privacy"] == spent


def test_training_rounds_send_noised_changes_of_the_coefficients_only(trained):
    folder = trained["orgs"].coordinator.home_path / "federations" / "cancer" / "engine"
    lines = [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]
    replies = [line for line in lines if line["kind"] == "reply"]
    dimension = 3 * len(trained["features"]) + 1
    for reply in replies:
        assert reply["params"] == {
            "theta": {"type": "ndarray", "dtype": "float64", "shape": [dimension]}
        }
        accountant = reply["meta"].get(privacy.ACCOUNTANT)
        # The first round's moments are whole values, which the filter leaves alone.
        assert (accountant is None) == (reply["round"] == 0)


def test_the_engines_filter_clips_and_noises_a_share_of_each_change():
    from nvflare.apis.dxo import DXO, DataKind
    from nvflare.apis.fl_context import FLContext
    from nvflare.apis.shareable import Shareable

    rows, change = 200, np.linspace(-0.5, 0.5, 91)
    dxo = DXO(
        DataKind.WEIGHT_DIFF, data={"theta": change.copy()}, meta={"NUM_STEPS_CURRENT_ROUND": rows}
    )
    sent = privacy.engine_filter(PRIVATE).process_dxo(dxo, Shareable(), FLContext())
    noised = sent.data["theta"]
    kept = np.flatnonzero(noised)
    assert 0 < len(kept) <= int(np.ceil(91 * PRIVATE["fraction"]))  # the rest is not sent
    clipped = np.clip(change[kept] / rows, -PRIVATE["clip"], PRIVATE["clip"]) * rows
    assert not np.allclose(noised[kept], clipped)  # Laplace noise on what is sent
    assert sent.get_meta_prop(privacy.ACCOUNTANT)["epsilon_total"] == pytest.approx(
        PRIVATE["epsilon"] + PRIVATE["release_epsilon"]
    )


def test_the_private_model_still_predicts(trained):
    trained["orgs"].at()
    model = loopml.load_model(f"models:/cancer/{trained['result'].version}")
    test = trained["test"]
    assert accuracy_score(test["target"], model.predict(test[trained["features"]])) > 0.75


@pytest.mark.parametrize(
    ("strategy", "options", "message"),
    [
        ("bagging", {}, "Differential privacy is for federations of linear models"),
        ("histogram", {}, "NVFLARE has no differential privacy for XGBoost trees"),
        (
            "newton",
            {},
            "Differential privacy supports the strategies fedavg, fedprox, not 'newton': a "
            "newton participant also sends the gradient and the Hessian",
        ),
        ("fedavg", {"sigma": 1.0}, "Unknown privacy option\\(s\\): sigma"),
        ("fedavg", {"epsilon": 0}, "epsilon must be a positive number"),
        ("fedavg", {"fraction": 2.0}, "fraction is a share of 0 to 1"),
    ],
)
def test_bad_privacy_options_are_refused(ctx, strategy, options, message):
    with pytest.raises(loopml.InvalidInput, match=message):
        loopml.create_federation("cancer", ["a"], "y", strategy=strategy, privacy=options)
