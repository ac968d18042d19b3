"""The coordinator's side: admit the members, let the engine run the rounds, record the lineage.

Rounds are tracked runs (children of one federation run) with each
participant's metrics; the global model becomes a registry version whose run
names the federation, its rounds and every participant's data fingerprint.
Nothing is registered unless every round finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from loopml._context import get_context
from loopml.errors import LoopmlError
from loopml.federated import engine, journal, linear, local, participant, privacy, service
from loopml.federated.entities import Federation


class FederationFailed(LoopmlError):
    """The federation could not train: too few members fit, or a round lost its quorum."""

    status_code = 409


@dataclass(frozen=True)
class Result:
    federation: Federation
    model: str
    version: int
    run_id: str
    rounds: list[journal.Round]


def run(name: str) -> Result:
    context = get_context()
    actor = context.settings.actor
    federation = admit_all(name)
    members = federation.joined
    if len(members) < federation.min_participants:
        refused = [f"{m.name} ({m.state}{': ' + m.reason if m.reason else ''})"
                   for m in federation.members if m.state != "joined"]  # fmt: skip
        _fail(name, f"{len(members)} member(s) can train, the federation needs "
                    f"{federation.min_participants}; not taking part: {', '.join(refused) or 'none'}")  # fmt: skip
    bagging = federation.strategy == "bagging"
    spec = {
        "federation": name, "strategy": federation.strategy,
        # Linear models spend a first round on the pooled feature moments; trees need none.
        "num_rounds": federation.rounds if bagging else 1 + federation.rounds,
        "members": [{"name": m.name, "home": m.home} for m in members],
        "initial": {} if bagging else {"theta": linear.initial_vector(len(federation.features))},
        "min_participants": federation.min_participants,
        "fedprox_mu": federation.options.get("mu") if federation.strategy == "fedprox" else None,
        "privacy": federation.options.get("privacy"),
    }  # fmt: skip
    outcome = engine.run(spec, _folder(name) / "engine")
    reason = journal.failure(
        outcome.journal, outcome.returncode, members=[m.name for m in members],
        num_rounds=spec["num_rounds"], min_participants=federation.min_participants,
    )  # fmt: skip
    if reason:
        _fail(name, f"{reason} (engine log: {outcome.log})")
    rounds = journal.rounds(outcome.journal)
    spent = privacy.budget(outcome.journal, spec["privacy"]) if spec["privacy"] else None
    model, version, run_id = _record(federation, rounds, spent)
    service.finish(context.store, name, state="trained", reason=None, actor=actor)
    return Result(service.get(context.store, name), model, version, run_id, rounds)


def admit_all(name: str) -> Federation:
    """Take in every acceptance waiting in the federation's exchange folder."""
    context = get_context()
    for path in sorted(_folder(name).glob("*.acceptance.json")):
        acceptance = participant.read(path, "acceptance")
        service.admit(context.store, name, acceptance, actor=context.settings.actor)
    return service.get(context.store, name)


def exchange_folder(name: str) -> Path:
    return _folder(name)


def _record(
    federation: Federation, rounds: list[journal.Round], spent: dict | None
) -> tuple[str, int, str]:
    from loopml.models.signature import Column, Signature
    from loopml.registry import fluent as registry
    from loopml.tracking import fluent as tracking

    fingerprints = {m.name: m.fingerprint for m in federation.joined}
    model_name = federation.options.get("model") or federation.name
    with tracking.start_run(
        experiment=f"federation:{federation.name}", name="federation"
    ) as parent:
        parent.log_params({"federation": federation.name, "strategy": federation.strategy,
                           "rounds": federation.rounds, "participants": ",".join(fingerprints)})  # fmt: skip
        round_runs = [_record_round(federation, done) for done in rounds]
        lineage = {"federation": federation.name, "strategy": federation.strategy,
                   "rounds": round_runs, "participants": fingerprints, "privacy": spent}  # fmt: skip
        parent.log_dict(lineage, "federation/lineage.json")
        parent.set_tags(
            {"loopml.federation": federation.name, "loopml.federation.rounds": len(round_runs)}
        )
        if spent:  # the privacy budget spent, with the version it bought
            parent.log_dict(spent, "federation/privacy.json")
            parent.set_tags({"loopml.privacy.epsilon": spent["epsilon"],
                             "loopml.privacy.delta": spent["delta"]})  # fmt: skip
        classes = federation.options.get("classes", [0, 1])
        shared = {**global_model(federation, rounds), "classes": classes}
        estimator = participant.estimator_of(shared, federation.feature_names)
        signature = Signature(tuple(Column(f["name"], f["type"]) for f in federation.features))
        version = registry.log_model(estimator, model_name, signature=signature,
                                     description=f"federation {federation.name}: "
                                     f"{len(round_runs)} rounds of {federation.strategy} over "
                                     f"{', '.join(fingerprints)}")  # fmt: skip
    # What goes back to the participants: coefficients, never an artifact to unpickle.
    participant.write(_folder(federation.name) / participant.GLOBAL_FILE, {
        "federation": federation.name, "model": model_name, "version": version.version,
        **shared, "features": federation.feature_names,
    })  # fmt: skip
    return model_name, version.version, parent.id


def global_model(federation: Federation, rounds: list[journal.Round]) -> dict:
    """The global model as plain data: a forest's XGBoost JSON, or a linear model's vector."""
    params = rounds[-1].params
    if federation.strategy == "bagging":
        return {"trees": params["model_data"]}
    vector = np.asarray(params["theta"], dtype=float)
    if federation.options.get("privacy"):  # the first pooled moments, as every participant kept
        vector = linear.with_moments_of(vector, rounds[0].params["theta"])
    return {"theta": vector.tolist()}


def _record_round(federation: Federation, done: journal.Round) -> str:
    from loopml.tracking import fluent as tracking

    with tracking.start_run(name=f"round {done.number}") as child:
        child.log_params({"round": done.number, "participants": ",".join(done.sites)})
        child.set_tags({"loopml.federation": federation.name})
        for member, metrics in done.metrics.items():
            child.log_metrics({f"{member}.{key}": float(value) for key, value in metrics.items()})
        return child.id


def _fail(name: str, reason: str):
    context = get_context()
    service.finish(context.store, name, state="failed", reason=reason, actor=context.settings.actor)
    raise FederationFailed(f"Federation {name!r} failed: {reason}.",
                           hint="See `loopml federation status` for its members.")  # fmt: skip


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
            service.record(context.store, name, "federation.approved", actor=decision["actor"],
                           reason=f"{decision['member']} moved its {decision['alias']}", after=decision)  # fmt: skip
    return decisions
