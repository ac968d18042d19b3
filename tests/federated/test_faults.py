"""What goes wrong in a federation says so, and leaves nothing half-registered."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time

import pytest
from organisations import breast_cancer, federate, organisations, shares

import loopml
from loopml import audit
from loopml._context import get_context
from loopml.federated.coordinator import FederationFailed
from loopml.federated.engine import read_journal

CLINICS = ["clinic-a", "clinic-b", "clinic-c"]


def test_data_that_does_not_fit_the_signature_is_refused_at_join(tmp_path):
    train, _, features = breast_cancer()
    orgs = organisations(tmp_path, ["clinic-a"])
    orgs.at()
    loopml.create_federation("cancer", features, "target")
    invitation = loopml.invite_to_federation("cancer", "clinic-a")
    orgs.at("clinic-a")
    version = loopml.log_dataset(train.drop(columns=["mean_area"]), "records")
    with pytest.raises(loopml.InvalidInput, match="column 'mean_area' is missing"):
        loopml.join_federation(invitation, version.ref)
    labelled = loopml.log_dataset(
        train.assign(target=train["target"].map({0: "no", 1: "yes"})), "named"
    )
    with pytest.raises(loopml.InvalidInput, match="the federation's classes are \\[0, 1\\]"):
        loopml.join_federation(invitation, labelled.ref)
    assert loopml.list_federations() == []
    assert not list(invitation.parent.glob("*.acceptance.json"))


def test_too_few_fitting_members_fail_before_any_training(tmp_path):
    train, _, features = breast_cancer()
    orgs = organisations(tmp_path, CLINICS[:2])
    federate(orgs, "cancer", shares(train, CLINICS[:2]), features, "target", min_participants=2)
    acceptance = orgs.coordinator.home_path / "federations" / "cancer" / "clinic-b.acceptance.json"
    document = json.loads(acceptance.read_text())
    document["fingerprint"]["schema"] = [
        c for c in document["fingerprint"]["schema"] if c["name"] != "worst_area"
    ]
    acceptance.write_text(json.dumps(document))
    with pytest.raises(
        FederationFailed,
        match=r"1 member\(s\) can train, the federation needs 2; "
        r"not taking part: clinic-b \(refused: column 'worst_area' is missing\)",
    ):
        loopml.run_federation("cancer")
    federation = loopml.get_federation("cancer")
    assert federation.state == "failed" and federation.member("clinic-b").state == "refused"
    assert not (orgs.coordinator.home_path / "federations" / "cancer" / "engine").exists()
    with pytest.raises(loopml.NotFound):
        loopml.list_model_versions("cancer")
    refused = audit.list_events(
        get_context().store, entity_id="cancer", action="federation.refused"
    )
    assert refused[0].after["member"] == "clinic-b"


def test_a_dropped_participant_is_left_out_until_the_quorum_is_lost(tmp_path):
    train, _, features = breast_cancer()
    orgs = organisations(tmp_path, CLINICS)
    federate(
        orgs, "cancer", shares(train, CLINICS), features, "target", min_participants=2, rounds=40
    )
    coordinator, outcome = _run_in_background("cancer")
    dropped_c = _kill_at(orgs, "clinic-c", round_number=2)
    _kill_at(orgs, "clinic-b", round_number=dropped_c + 3)
    coordinator.join(timeout=300)

    message = str(outcome["error"])
    assert re.search(r"round \d+ received [01] update\(s\)", message), message
    assert "clinic-b" in message.split("did not answer")[0] and "the federation needs 2" in message
    journal = read_journal(
        orgs.coordinator.home_path / "federations" / "cancer" / "engine" / "journal.jsonl"
    )
    sites = {line["round"]: line["sites"] for line in journal if line["kind"] == "round"}
    assert sites[0] == CLINICS
    assert sites[dropped_c] == CLINICS
    assert sites[dropped_c + 1] == sites[dropped_c + 3] == ["clinic-a", "clinic-b"]
    assert loopml.get_federation("cancer").state == "failed"
    with pytest.raises(loopml.NotFound):
        loopml.list_model_versions("cancer")


def test_a_participant_dropping_out_of_shared_histograms_fails_the_run(tmp_path):
    """Every split of histogram-based trees needs every member: one gone fails the run, with
    who did not answer, and registers nothing."""
    train, _, features = breast_cancer()
    orgs = organisations(tmp_path, CLINICS)
    federate(
        orgs,
        "cancer",
        shares(train, CLINICS),
        features,
        "target",
        strategy="histogram",
        min_participants=2,
        rounds=5000,
    )
    coordinator, outcome = _run_in_background("cancer")
    _kill_at(orgs, "clinic-c", round_number=0, state="training")
    coordinator.join(timeout=400)

    message = str(outcome["error"])
    assert "clinic-c" in message.split("did not answer")[0], message
    assert "the federation needs 3" in message, message
    assert loopml.get_federation("cancer").state == "failed"
    with pytest.raises(loopml.NotFound):
        loopml.list_model_versions("cancer")


def _run_in_background(name: str) -> tuple[threading.Thread, dict]:
    """The coordinator's run in a thread; the failure it ends with lands in the dict."""
    outcome: dict = {}

    def run() -> None:
        try:
            loopml.run_federation(name)
        except FederationFailed as error:
            outcome["error"] = error

    coordinator = threading.Thread(target=run)
    coordinator.start()
    return coordinator, outcome


def _kill_at(orgs, member: str, *, round_number: int, state: str = "sent") -> int:
    """Kill ``member``'s training process (SIGKILL: no goodbye) once it is in ``state`` of
    ``round_number`` (by default: has sent its update, so it is gone when the next round asks
    for one)."""
    status = (
        orgs.participants[member].home_path / "federations" / "cancer" / f"{member}.status.json"
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if status.exists():
            found = json.loads(status.read_text() or "{}")
            if found.get("round", -1) >= round_number and found.get("state") == state:
                time.sleep(0.3)  # let the engine fetch the update, or the training begin
                os.kill(found["pid"], signal.SIGKILL)
                return found["round"]
        time.sleep(0.05)
    raise AssertionError(f"{member} never reached round {round_number}")
