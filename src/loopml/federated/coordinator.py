"""The coordinator's side: admit the members, let the engine run the rounds, record the lineage.

Rounds are tracked runs (children of one federation run) with each
participant's metrics; the global model becomes a registry version whose run
names the federation, its rounds and every participant's data fingerprint.
Nothing is registered unless every round finished. An engine run that fails
before any round finished (a participant lost at the start) is started once more.
With secure aggregation the global model stays a ciphertext here: the federation
run and its lineage are recorded, and the participants decrypt and register it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from loopml._context import get_context
from loopml.errors import LoopmlError
from loopml.federated import (
    engine,
    journal,
    linear,
    local,
    participant,
    privacy,
    secure,
    segments,
    service,
)
from loopml.federated.entities import Federation
from loopml.registry.segments import parse_segment


class FederationFailed(LoopmlError):
    """The federation could not train: too few members fit, or a round lost its quorum."""

    status_code = 409


@dataclass(frozen=True)
class Result:
    federation: Federation
    model: str
    version: int | None  # the last registered (None with secure aggregation: none could be)
    run_id: str
    rounds: list[journal.Round]  # of the last segment trained (the only one without segments)
    versions: dict[str, int | None] = field(default_factory=dict)  # segment key -> version


@dataclass(frozen=True)
class Trained:
    """One engine run that finished: its rounds, and the privacy budget it spent."""

    segment: str
    rounds: list[journal.Round]
    spent: dict | None


def run(name: str) -> Result:
    context = get_context()
    actor = context.settings.actor
    federation = admit_all(name)
    members = federation.joined
    if len(members) < federation.min_participants:
        refused = [
            f"{m.name} ({m.state}{': ' + m.reason if m.reason else ''})"
            for m in federation.members
            if m.state != "joined"
        ]
        _fail(
            name,
            f"{len(members)} member(s) can train, the federation needs "
            f"{federation.min_participants}; not taking part: {', '.join(refused) or 'none'}",
        )
    keys = [segments.NONE]
    if federation.options.get("segment_by"):
        keys, differ = segments.agreed({m.name: m.fingerprint or {} for m in members})
        if differ:
            _fail(name, differ)
    # Every segment trains before anything is registered: nothing half-registered.
    trained = [_train(federation, key) for key in keys]
    model, versions, run_id = _record(federation, trained)
    service.finish(context.store, name, state="trained", reason=None, actor=actor)
    last = trained[-1]
    return Result(
        service.get(context.store, name),
        model,
        versions[last.segment],
        run_id,
        last.rounds,
        versions,
    )


def _train(federation: Federation, segment: str) -> Trained:
    forest = federation.strategy in service.TREES
    members = federation.joined
    # Linear models spend a first round on the pooled feature moments; bagged trees need
    # none; shared histograms grow every boosting round within one task of the engine.
    rounds = {"bagging": federation.rounds, "histogram": 1}.get(federation.strategy)
    # Over XGBoost's collective every participant takes part in every split: all or none.
    needed = len(members) if federation.strategy == "histogram" else federation.min_participants
    spec = {
        "federation": federation.name,
        "strategy": federation.strategy,
        "segment": segment,
        "num_rounds": rounds or 1 + federation.rounds,
        "members": [
            {
                "name": m.name,
                "home": m.home,
                "key": str(local.folder(m.home, federation.name) / secure.PARTICIPANT_KEY),
            }
            for m in members
        ],
        "initial": {} if forest else {"theta": _initial_vector(federation)},
        "min_participants": needed,
        "fedprox_mu": federation.options.get("mu") if federation.strategy == "fedprox" else None,
        "privacy": federation.options.get("privacy"),
        "secure_aggregation": bool(federation.options.get("secure_aggregation")),
        "round_timeout": federation.options.get("round_timeout") or service.ROUND_TIMEOUT,
    }
    workdir = _folder(federation.name) / "engine"
    outcome, reason = _run_engine(
        federation.name, spec, workdir / segments.folder_name(segment) if segment else workdir
    )
    if reason:
        where = f"segment {segment}: " if segment else ""
        _fail(federation.name, f"{where}{reason} (engine log: {outcome.log})")
    spent = privacy.budget(outcome.journal, spec["privacy"]) if spec["privacy"] else None
    return Trained(segment, journal.rounds(outcome.journal), spent)


def _initial_vector(federation: Federation) -> list[float]:
    return linear.initial_vector(len(federation.features), federation.model_family)


def _run_engine(name: str, spec: dict, workdir: Path) -> tuple[engine.EngineRun, str | None]:
    """The engine's run and why it failed (None if it did not), started a second time if the
    first lost participants before any round finished; never after one did, which would
    count those rounds' updates twice."""
    outcome = engine.run(spec, workdir)
    reason = _why_failed(outcome, spec)
    if reason is None or not journal.may_start_again(outcome.journal):
        return outcome, reason
    first = workdir.with_name(f"{workdir.name}.first-start")  # its journal and log, kept
    shutil.rmtree(first, ignore_errors=True)
    workdir.rename(first)
    context = get_context()
    service.record(
        context.store,
        name,
        "federation.engine_restarted",
        actor=context.settings.actor,
        reason=f"the engine's first start failed before any round finished: {reason}",
        after={"first_start": str(first)},
    )
    outcome = engine.run(spec, workdir)
    again = _why_failed(outcome, spec)
    if again:
        again = f"{again}; this was the engine's second start (the first failed: {reason})"
    return outcome, again


def _why_failed(outcome: engine.EngineRun, spec: dict) -> str | None:
    return journal.failure(
        outcome.journal,
        outcome.returncode,
        members=[m["name"] for m in spec["members"]],
        num_rounds=spec["num_rounds"],
        min_participants=spec["min_participants"],
    )


def admit_all(name: str) -> Federation:
    """Take in every acceptance waiting in the federation's exchange folder."""
    context = get_context()
    for path in sorted(_folder(name).glob("*.acceptance.json")):
        acceptance = participant.read(path, "acceptance")
        service.admit(context.store, name, acceptance, actor=context.settings.actor)
    return service.get(context.store, name)


def exchange_folder(name: str) -> Path:
    return _folder(name)


def _record(federation: Federation, trained: list[Trained]) -> tuple[str, dict[str, int], str]:
    from loopml.tracking import fluent as tracking

    fingerprints = {m.name: m.fingerprint for m in federation.joined}
    with tracking.start_run(
        experiment=f"federation:{federation.name}", name="federation"
    ) as parent:
        parent.log_params(
            {
                "federation": federation.name,
                "strategy": federation.strategy,
                "rounds": federation.rounds,
                "participants": ",".join(fingerprints),
            }
        )
        encrypted = bool(federation.options.get("secure_aggregation"))
        parent.set_tags(
            {
                "loopml.federation": federation.name,
                "loopml.federation.rounds": len(trained[0].rounds),
                "loopml.federation.secure_aggregation": str(encrypted).lower(),
            }
        )
        registered = {done.segment: _register(parent, federation, done) for done in trained}
        shared = {key: entry.pop("global") for key, entry in registered.items()}
        lineage = {
            "federation": federation.name,
            "strategy": federation.strategy,
            "participants": fingerprints,
            "secure_aggregation": secure.SCHEME if encrypted else None,
        }
        if segments.NONE in registered:
            lineage.update(registered[segments.NONE])
        else:
            lineage["segments"] = registered
        parent.log_dict(lineage, "federation/lineage.json")
    versions = {key: entry["version"] for key, entry in registered.items()}
    # What goes back to the participants: coefficients or trees, never an artifact to unpickle.
    document = {
        "federation": federation.name,
        "model": _model_name(federation),
        "features": federation.feature_names,
    }
    if segments.NONE in shared:
        document.update(shared[segments.NONE], version=versions[segments.NONE])
    else:
        document["segments"] = {key: {**shared[key], "version": versions[key]} for key in shared}
    participant.write(_folder(federation.name) / participant.GLOBAL_FILE, document)
    return _model_name(federation), versions, parent.id


def _register(parent, federation: Federation, done: Trained) -> dict:
    """One segment's rounds as runs and its global model as a (segment) version."""
    from loopml.models.signature import Column, Signature
    from loopml.registry import fluent as registry

    round_runs = [_record_round(federation, step, done.segment) for step in done.rounds]
    if done.spent:  # the privacy budget spent, with the version it bought
        name = segments.folder_name(done.segment) if done.segment else "privacy"
        parent.log_dict(done.spent, f"federation/{name}.json")
        prefix = f"loopml.privacy.{done.segment}." if done.segment else "loopml.privacy."
        parent.set_tags(
            {prefix + "epsilon": done.spent["epsilon"], prefix + "delta": done.spent["delta"]}
        )
    classes = federation.options.get("classes", [0, 1])
    shared = {**global_model(federation, done.rounds), "classes": classes}
    if "ckks" in shared:  # only the participants can read it: they register it, not we
        return {"rounds": round_runs, "privacy": None, "version": None, "global": shared}
    estimator = participant.estimator_of(shared, federation.feature_names)
    signature = Signature(tuple(Column(f["name"], f["type"]) for f in federation.features))
    members = ", ".join(m.name for m in federation.joined)
    version = registry.log_model(
        estimator,
        _model_name(federation),
        signature=signature,
        segment=parse_segment(done.segment) if done.segment else None,
        description=f"federation {federation.name}: {len(round_runs)} rounds of "
        f"{federation.strategy} over {members}",
    )
    return {
        "rounds": round_runs,
        "privacy": done.spent,
        "version": version.version,
        "global": shared,
    }


def _model_name(federation: Federation) -> str:
    return federation.options.get("model") or federation.name


def global_model(federation: Federation, rounds: list[journal.Round]) -> dict:
    """The global model as plain data: a forest's XGBoost JSON, or a linear model's vector."""
    params = rounds[-1].params
    if federation.strategy in service.TREES:
        return {"trees": params["model_data"]}
    if federation.options.get("secure_aggregation"):  # the last round's sum, still encrypted
        return {"ckks": params["theta"]["ckks"]}
    vector = np.asarray(params["theta"], dtype=float)
    if federation.options.get("privacy"):  # the first pooled moments, as every participant kept
        vector = linear.with_moments_of(vector, rounds[0].params["theta"])
    return {"theta": vector.tolist()}


def _record_round(federation: Federation, done: journal.Round, segment: str) -> str:
    from loopml.tracking import fluent as tracking

    title = f"{segment} round {done.number}" if segment else f"round {done.number}"
    with tracking.start_run(name=title) as child:
        child.log_params({"round": done.number, "participants": ",".join(done.sites)})
        child.set_tags(
            {
                "loopml.federation": federation.name,
                **({"loopml.segment": segment} if segment else {}),
            }
        )
        for member, metrics in done.metrics.items():
            child.log_metrics({f"{member}.{key}": float(value) for key, value in metrics.items()})
        return child.id


def _fail(name: str, reason: str):
    context = get_context()
    service.finish(context.store, name, state="failed", reason=reason, actor=context.settings.actor)
    raise FederationFailed(
        f"Federation {name!r} failed: {reason}.",
        hint="See `loopml federation status` for its members.",
    )


def _folder(name: str) -> Path:
    return local.folder(get_context().settings.home_path, name)


def record_decisions(name: str) -> list[dict]:
    """The participants' decisions in the exchange folder, each audited here once."""
    from loopml import audit

    context = get_context()
    events = audit.list_events(
        context.store, entity_type="federation", entity_id=name, action="federation.approved"
    )
    seen = {(e.after or {}).get("member"): (e.after or {}).get("local_version") for e in events}
    decisions = [
        participant.read(p, "decision") for p in sorted(_folder(name).glob("*.decision.json"))
    ]
    for decision in decisions:
        if seen.get(decision["member"]) != decision["local_version"]:
            service.record(
                context.store,
                name,
                "federation.approved",
                actor=decision["actor"],
                reason=f"{decision['member']} moved its {decision['alias']}",
                after=decision,
            )
    return decisions
