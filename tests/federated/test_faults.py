"""What goes wrong in a federation says so, and leaves nothing half-registered."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import threading
import time

import psutil
import pytest
from organisations import breast_cancer, federate, organisations, shares

import loopml
from loopml import audit
from loopml._context import get_context
from loopml.federated.coordinator import FederationFailed
from loopml.federated.engine import MARKER, read_journal

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


def test_a_participant_whose_task_failed_is_named_as_such_not_as_silent():
    """A round that lost its quorum because a participant's training process failed (the
    engine's error return code in the journal) says which one failed and which stayed silent."""
    from loopml.federated import journal

    lines = [
        {"kind": "reply", "round": 0, "site": "clinic-b", "accepted": True, "metrics": {}},
        {"kind": "rejected", "round": 0, "site": "clinic-a", "code": "EXECUTION_EXCEPTION"},
    ]
    reason = journal.failure(lines, 1, members=CLINICS, num_rounds=3, min_participants=3)
    assert reason == (
        "round 0 received 1 update(s) (clinic-b); clinic-a answered with an error "
        "(EXECUTION_EXCEPTION): its training process failed, see the engine log; clinic-c did "
        "not answer; the federation needs 3"
    )
    assert journal.may_start_again(lines)  # no round finished: one new start is allowed


def test_a_dropped_participant_is_left_out_until_the_quorum_is_lost(tmp_path):
    train, _, features = breast_cancer()
    orgs = organisations(tmp_path, CLINICS)
    federate(
        orgs, "cancer", shares(train, CLINICS), features, "target", min_participants=2, rounds=40
    )
    coordinator, outcome = _run_in_background("cancer")
    dropped_c = _kill_at(orgs, "clinic-c", round_number=2)["round"]
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


@pytest.mark.timeout(600)  # two starts of the engine on a machine that may be busy
def test_a_participant_dropping_out_of_shared_histograms_fails_the_run(tmp_path):
    """Every split of histogram-based trees needs every member: one gone fails the engine's
    run; no round had finished (the forest is one task), so the engine starts once more, and
    the member gone again fails the federation, with who did not answer, registering nothing."""
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
        round_timeout=120,
    )
    coordinator, outcome = _run_in_background("cancer")
    first = _kill_at(orgs, "clinic-c", round_number=0, state="training")
    _kill_at(orgs, "clinic-c", round_number=0, state="training", other_than=first["pid"])
    coordinator.join(timeout=600)

    message = str(outcome["error"])
    assert "clinic-c" in message.split("did not answer")[0], message
    assert "the federation needs 3" in message, message
    assert "this was the engine's second start (the first failed: " in message, message
    assert loopml.get_federation("cancer").state == "failed"
    with pytest.raises(loopml.NotFound):
        loopml.list_model_versions("cancer")


DEADLINE = 20  # seconds: short, so that a participant that never answers fails the test fast


def test_a_participant_that_stops_answering_fails_the_round_at_its_deadline(tmp_path):
    """After its first update, clinic-b's disk stops answering (the next write of its progress
    file blocks for ever): that round ends at its deadline, and the federation fails naming
    clinic-b and what to do, without a second start (rounds had finished) and with no process
    of the engine left behind."""
    train, _, features = breast_cancer()
    orgs = organisations(tmp_path, CLINICS[:2])
    federate(
        orgs,
        "cancer",
        shares(train, CLINICS[:2]),
        features,
        "target",
        min_participants=2,
        rounds=3,
        round_timeout=DEADLINE,
    )
    coordinator, outcome = _run_in_background("cancer")
    stalled = _stall_progress_after(orgs, "clinic-b", round_number=0)
    coordinator.join(timeout=300)

    message = str(outcome["error"])
    found = re.search(
        rf"round (\d+) passed its deadline of {DEADLINE} s with 1 update\(s\) \(clinic-a\); "
        "clinic-b did not answer in time; the federation needs 2",
        message,
    )
    assert found and int(found[1]) in (stalled, stalled + 1), message
    assert (
        "Check that clinic-b is running" in message
        and "raise the federation's round_timeout" in message
    )
    engine = orgs.coordinator.home_path / "federations" / "cancer" / "engine"
    journal = read_journal(engine / "journal.jsonl")
    failure = next(line for line in journal if line["kind"] == "round_failed")
    assert failure["deadline"] and failure["missing"] == ["clinic-b"]
    answered = [
        line for line in journal if line["kind"] == "reply" and line["round"] == failure["round"]
    ]
    assert [line["site"] for line in answered] == ["clinic-a"]
    assert failure["time"] - answered[0]["time"] <= DEADLINE  # no longer than the deadline
    finished = [line["round"] for line in journal if line["kind"] == "round"]
    assert finished == list(range(failure["round"]))  # the rounds before it, kept
    assert not engine.with_name("engine.first-start").exists()
    federation = loopml.get_federation("cancer")
    assert federation.state == "failed" and "clinic-b did not answer in time" in federation.reason
    [event] = audit.list_events(get_context().store, entity_id="cancer", action="federation.failed")
    assert "round_timeout" in event.reason
    assert _engine_processes(engine) == []
    with pytest.raises(loopml.NotFound):
        loopml.list_model_versions("cancer")


def test_a_participant_lost_before_its_first_update_gets_one_new_start(tmp_path):
    """clinic-b's training process dies before it sent anything (the engine's client for it
    stops, and the round would wait for it for ever): round 0 fails at its deadline, no round
    had finished, so the engine is ended (no process of it left) and started once more, and
    the federation trains; the first start's journal is kept."""
    train, _, features = breast_cancer()
    orgs = organisations(tmp_path, CLINICS[:2])
    federate(
        orgs,
        "cancer",
        shares(train, CLINICS[:2]),
        features,
        "target",
        min_participants=2,
        rounds=2,
        round_timeout=DEADLINE,
    )
    restore = _stall_data(orgs, "clinic-b")
    coordinator, outcome = _run_in_background("cancer")
    engine = orgs.coordinator.home_path / "federations" / "cancer" / "engine"
    trainer = _trainer_of(engine, "clinic-b")
    restore()  # the next start reads the data; this process waits on the stalled file for ever
    trainer.kill()
    coordinator.join(timeout=400)

    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert [r.number for r in result.rounds] == [0, 1, 2]
    assert all(r.sites == ("clinic-a", "clinic-b") for r in result.rounds)
    first = read_journal(engine.with_name("engine.first-start") / "journal.jsonl")
    assert not [line for line in first if line["kind"] == "round"]
    assert {line["site"] for line in first if line["kind"] == "reply"} <= {"clinic-a"}
    [restarted] = audit.list_events(
        get_context().store, entity_id="cancer", action="federation.engine_restarted"
    )
    assert "clinic-b did not answer" in restarted.reason, restarted.reason
    assert loopml.get_federation("cancer").state == "trained"
    assert _engine_processes(engine) == []  # both starts': they share the folder's marker


def _stall_data(orgs, member: str):
    """Put ``member``'s dataset on storage that never answers: its file becomes a named pipe
    nobody writes, so reading it blocks. Returns what puts the real file back."""
    orgs.at(member)
    digest = loopml.get_dataset(f"{member}-records").digest
    orgs.at()
    [path] = orgs.participants[member].home_path.rglob(digest[2:])
    kept = path.with_name(path.name + ".kept")
    path.replace(kept)
    os.mkfifo(path)
    return lambda: kept.replace(path)


def _stall_progress_after(orgs, member: str, *, round_number: int) -> int:
    """Once ``member`` sent its update of ``round_number``, make its next progress write block
    for ever (the file it writes first becomes a named pipe nobody reads); returns the round."""
    home = orgs.participants[member].home_path / "federations" / "cancer"
    status = home / f"{member}.status.json"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if status.exists():
            found = json.loads(status.read_text() or "{}")
            if found.get("round", -1) >= round_number and found.get("state") == "sent":
                os.mkfifo(status.with_suffix(".tmp"))
                return found["round"]
        time.sleep(0.02)
    raise AssertionError(f"{member} never sent its update of round {round_number}")


def _trainer_of(engine, member: str) -> psutil.Process:
    """``member``'s training process of the engine run in ``engine``, once it started."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        for process in _engine_processes(engine, alive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                if "--member" in process.cmdline() and member in process.cmdline():
                    return process
        time.sleep(0.2)
    raise AssertionError(f"{member}'s training process never started")


def _engine_processes(engine, alive: bool = False) -> list:
    """The processes still carrying the marker of the engine run in ``engine``."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(MARKER) == str(engine.resolve()):
                found.append(process if alive else process.pid)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return found


def _run_in_background(name: str) -> tuple[threading.Thread, dict]:
    """The coordinator's run in a thread; its result, or the failure it ends with, lands in
    the dict."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = loopml.run_federation(name)
        except FederationFailed as error:
            outcome["error"] = error

    coordinator = threading.Thread(target=run)
    coordinator.start()
    return coordinator, outcome


def _kill_at(
    orgs, member: str, *, round_number: int, state: str = "sent", other_than: int = 0
) -> dict:
    """Kill ``member``'s training process (SIGKILL: no goodbye) once it is in ``state`` of
    ``round_number`` (by default: has sent its update, so it is gone when the next round asks
    for one), if it is not process ``other_than``. Returns the status it was killed at:
    its round and its pid."""
    status = (
        orgs.participants[member].home_path / "federations" / "cancer" / f"{member}.status.json"
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if status.exists():
            found = json.loads(status.read_text() or "{}")
            if (
                found.get("round", -1) >= round_number
                and found.get("state") == state
                and found.get("pid") != other_than
            ):
                time.sleep(0.3)  # let the engine fetch the update, or the training begin
                os.kill(found["pid"], signal.SIGKILL)
                return found
        time.sleep(0.05)
    raise AssertionError(f"{member} never reached round {round_number}")
