"""Secure aggregation: the coordinator adds CKKS ciphertexts it cannot read, the clinics decrypt."""

from __future__ import annotations

import base64
import json
import stat

import numpy as np
import pytest
import tenseal as ts
from organisations import breast_cancer, federate, organisations, pooled_gap, shares, training_rows
from sklearn.metrics import accuracy_score

import loopml
from loopml.federated import secure

CLINICS = ["clinic-a", "clinic-b", "clinic-c"]
ROUNDS = 4
NEWTON_ROUNDS = 10


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The same clinics train the same fedavg federation twice, in the clear and sealed, and a
    sealed newton federation."""
    train, test, features = breast_cancer()
    orgs = organisations(tmp_path_factory.mktemp("secure"), CLINICS)
    data = shares(train, CLINICS)
    results = {}
    for name, strategy, sealed in (
        ("plain", "fedavg", False),
        ("sealed", "fedavg", True),
        ("sealed-newton", "newton", True),
    ):
        federate(
            orgs,
            name,
            data,
            features,
            "target",
            strategy=strategy,
            rounds=ROUNDS if strategy == "fedavg" else NEWTON_ROUNDS,
            min_participants=3,
            secure_aggregation=sealed,
        )
        results[name] = loopml.run_federation(name)
    return {"orgs": orgs, "results": results, "test": test, "data": data, "features": features}


def _journal(orgs, name: str) -> list[dict]:
    path = orgs.coordinator.home_path / "federations" / name / "engine" / "journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _folder(settings, name: str):
    return settings.home_path / "federations" / name


def test_the_sealed_model_is_the_plain_one_within_ckks_precision(trained):
    orgs, test, features = trained["orgs"], trained["test"], trained["features"]
    plain = np.asarray(
        [r for r in _journal(orgs, "plain") if r["kind"] == "round"][-1]["params"]["theta"]
    )
    orgs.at()
    reference = loopml.load_model(f"models:/plain/{trained['results']['plain'].version}")
    expected = accuracy_score(test["target"], reference.predict(test[features]))
    for member in CLINICS:
        orgs.at(member)
        report = loopml.evaluate_federated_model("sealed")
        key = _folder(orgs.participants[member], "sealed") / secure.PARTICIPANT_KEY
        document = json.loads((_folder(orgs.coordinator, "sealed") / "global.json").read_text())
        decrypted = secure.decrypt(document["ckks"], key)
        # CKKS at a scale of 2**40 is exact to about 1e-7 of these values; rounds of training
        # carry the error on but do not grow it.
        np.testing.assert_allclose(decrypted, plain, rtol=1e-6, atol=1e-6)
        assert report["candidate"]["accuracy"] > 0.9
    orgs.at()
    assert loopml.decide_federation_gate("sealed", margin=0.01)["passed"]
    orgs.at("clinic-a")
    loopml.approve_federated_model("sealed", reason="decrypted here")
    approved = loopml.load_model("models:/sealed@champion")
    assert accuracy_score(test["target"], approved.predict(test[features])) == pytest.approx(
        expected, abs=1e-9
    )
    version = loopml.get_model_version("sealed", alias="champion")
    assert loopml.get_run(version.run_id).tags["loopml.federation.secure_aggregation"] == "true"


def test_the_coordinator_holds_only_ciphertexts_and_no_key_to_read_them(trained):
    orgs = trained["orgs"]
    lines = _journal(orgs, "sealed")
    replies = [line for line in lines if line["kind"] == "reply"]
    rounds = [line for line in lines if line["kind"] == "round"]
    assert len(replies) == len(CLINICS) * (1 + ROUNDS) and len(rounds) == 1 + ROUNDS
    _only_ciphertexts(replies, rounds, {"theta": 3 * len(trained["features"]) + 2})
    plain_rounds = [line for line in _journal(orgs, "plain") if line["kind"] == "round"]
    assert isinstance(plain_rounds[-1]["params"]["theta"], list)  # what it would have seen

    public = ts.context_from(
        (_folder(orgs.coordinator, "sealed") / secure.COORDINATOR_KEY).read_bytes()
    )
    assert public.is_public() and not public.has_secret_key()
    sealed = ts.ckks_vector_from(public, base64.b64decode(rounds[-1]["params"]["theta"]["ckks"]))
    with pytest.raises(ValueError, match="secret_key"):
        sealed.decrypt()
    document = json.loads((_folder(orgs.coordinator, "sealed") / "global.json").read_text())
    assert "theta" not in document and document["ckks"] == rounds[-1]["params"]["theta"]["ckks"]
    orgs.at()  # the coordinator's store cannot read the model, and registered none
    result = trained["results"]["sealed"]
    assert result.version is None
    with pytest.raises(loopml.NotFound, match="No model named 'sealed'"):
        loopml.list_model_versions("sealed")
    with pytest.raises(loopml.InvalidInput, match="holds no key"):
        from loopml.federated import participant

        participant.theta_of(document)
    tags = loopml.get_run(result.run_id).tags
    assert tags["loopml.federation.secure_aggregation"] == "true"
    lineage = json.loads(loopml.load_artifact(result.run_id, "federation/lineage.json"))
    assert lineage["secure_aggregation"]["scheme"].startswith("CKKS")


def _only_ciphertexts(replies, rounds, sizes: dict[str, int]) -> None:
    """Every update arrived encrypted (each array a ciphertext's size and the context that
    came with it, without a secret key; in round 0 the moments' vector alone), and so did
    every global model the coordinator kept."""

    def sent(line) -> dict[str, int]:
        return sizes if line["round"] > 0 else {"theta": sizes["theta"]}

    for reply in replies:
        assert reply["params"] == {
            key: {"type": "ckks", "size": size, "secret_key": False}
            for key, size in sent(reply).items()
        }
    for line in rounds:
        assert set(line["params"]) == set(sent(line))
        assert all(set(value) == {"ckks"} for value in line["params"].values())


def test_a_sealed_newton_federation_encrypts_all_three_arrays_and_reaches_the_pooled_model(
    trained,
):
    orgs, features = trained["orgs"], trained["features"]
    lines = _journal(orgs, "sealed-newton")
    replies = [line for line in lines if line["kind"] == "reply"]
    rounds = [line for line in lines if line["kind"] == "round"]
    assert len(replies) == len(CLINICS) * (1 + NEWTON_ROUNDS)
    d = len(features)
    # each array and its weight: the vector, the gradient and the Hessian of the objective
    _only_ciphertexts(
        replies, rounds, {"theta": 3 * d + 2, "gradient": d + 2, "hessian": (d + 1) ** 2 + 1}
    )
    assert trained["results"]["sealed-newton"].version is None  # the coordinator cannot read it
    key = _folder(orgs.participants["clinic-b"], "sealed-newton") / secure.PARTICIPANT_KEY
    document = json.loads((_folder(orgs.coordinator, "sealed-newton") / "global.json").read_text())
    rows = training_rows(trained["data"], features)
    gap = pooled_gap(secure.decrypt(document["ckks"], key), rows)
    assert gap < 1e-4, gap  # the pooled optimum, through CKKS


def test_the_participants_key_is_kept_owner_only(trained):
    orgs = trained["orgs"]
    for member in CLINICS:
        key = _folder(orgs.participants[member], "sealed") / secure.PARTICIPANT_KEY
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert ts.context_from(key.read_bytes()).has_secret_key()
        invitation = _folder(orgs.coordinator, "sealed") / f"{member}.invitation.json"
        assert stat.S_IMODE(invitation.stat().st_mode) == 0o600
        assert secure.INVITATION_FIELD in json.loads(invitation.read_text())
        # and the participant's store keeps the federation's options, not the key
        orgs.at(member)
        assert secure.INVITATION_FIELD not in json.dumps(loopml.get_federation("sealed").options)


def test_no_key_appears_in_the_engines_logs_or_the_journal(trained):
    """The participants' secret context travels only in the invitations: neither the engine's
    logs (the coordinator's and every participant's process), nor its journal or the global
    model's document hold any stretch of it, nor of the coordinator's context."""
    orgs = trained["orgs"]
    keys = [_folder(orgs.participants[m], "sealed") / secure.PARTICIPANT_KEY for m in CLINICS]
    keys.append(_folder(orgs.coordinator, "sealed") / secure.COORDINATOR_KEY)
    stretches = set()
    for key in keys:
        text = base64.b64encode(key.read_bytes()).decode("ascii")
        stretches |= {text[i : i + 40] for i in range(0, len(text) - 40, len(text) // 16)}
    folder = _folder(orgs.coordinator, "sealed")
    written = [p for p in (folder / "engine").rglob("*") if p.is_file() and p.suffix != ".tenseal"]
    written.append(folder / "global.json")
    assert any(p.name == "engine.log" for p in written)
    for path in written:
        text = path.read_bytes().decode("latin-1")
        assert not [s for s in stretches if s in text], path


def test_secure_aggregation_is_refused_where_it_cannot_hold(tmp_path):
    orgs = organisations(tmp_path, ["a"])
    orgs.at()
    with pytest.raises(loopml.InvalidInput, match="linear models"):
        loopml.create_federation("t", ["x"], "y", strategy="bagging", secure_aggregation=True)
    with pytest.raises(loopml.InvalidInput, match="not combined"):
        loopml.create_federation("p", ["x"], "y", privacy={"epsilon": 1.0}, secure_aggregation=True)
    with pytest.raises(loopml.InvalidInput, match="True or False"):
        loopml.create_federation("q", ["x"], "y", secure_aggregation="yes")


def test_an_invitation_after_the_key_was_deleted_is_refused_in_words(tmp_path):
    orgs = organisations(tmp_path, ["a"])
    orgs.at()
    loopml.create_federation("s", ["x"], "y", secure_aggregation=True)
    (_folder(orgs.coordinator, "s") / secure.PROVISIONED).unlink()
    with pytest.raises(loopml.InvalidInput, match="no longer at"):
        loopml.invite_to_federation("s", "a")
