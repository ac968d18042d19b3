"""Federations in one store: create, invite, join, admit, finish — each change audited.

An invitation and an acceptance are the only documents that pass between
organisations outside the engine; both are plain dicts (the fluent API keeps
them as JSON files) and neither carries a row of data.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from loopml import audit
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.federated import linear
from loopml.federated.entities import Federation, Member
from loopml.federated.fingerprint import signature_problems
from loopml.store import Store, utcnow
from loopml.store.tables import FederationMemberRow, FederationRow

# The model families each strategy trains, its default first: averaging coefficients or
# Newton steps from pooled gradients and Hessians for linear models (logistic or ridge
# regression), bagging or shared histograms for trees.
FAMILIES_OF = {
    "fedavg": linear.FAMILIES,
    "fedprox": linear.FAMILIES,
    "newton": linear.FAMILIES,
    "bagging": ("boosted_trees",),
    "histogram": ("boosted_trees",),
}
# What a family predicts: a regression's target is any number, the others' one of two classes.
TASK_OF = {linear.LOGISTIC: "classification", linear.RIDGE: "regression"}
TREES = ("bagging", "histogram")
NEWTON = "newton"
# Seconds each round waits for the participants' updates before the federation fails: long
# enough for a participant to load its data and train one round, short of waiting for ever.
ROUND_TIMEOUT = 600
FAMILIES = tuple(dict.fromkeys(f for families in FAMILIES_OF.values() for f in families))
STRATEGIES = tuple(FAMILIES_OF)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def create(
    store: Store,
    name: str,
    *,
    features: list[dict[str, str]],
    target: str,
    model_family: str | None = None,
    strategy: str = "fedavg",
    min_participants: int = 2,
    rounds: int = 10,
    options: dict[str, Any] | None = None,
    actor: str,
) -> Federation:
    _check(name, "federation")
    _check_choice(strategy, STRATEGIES, "strategy")
    model_family = model_family or FAMILIES_OF[strategy][0]
    _check_choice(model_family, FAMILIES_OF[strategy], f"model family for {strategy}")
    if not features:
        raise InvalidInput(
            "A federation needs at least one feature column.", hint="Pass features=[...]."
        )
    if not isinstance(min_participants, int) or min_participants < 1:
        raise InvalidInput(
            f"min_participants must be a positive integer, not {min_participants!r}."
        )
    if not isinstance(rounds, int) or rounds < 1:
        raise InvalidInput(f"rounds must be a positive integer, not {rounds!r}.")
    if rounds < 2 and strategy == NEWTON:
        raise InvalidInput(
            f"A newton federation needs at least 2 rounds, not {rounds}: the first "
            "measures the pooled gradient and Hessian at the start, each later one takes a "
            "Newton step with them.",
            hint="Pass rounds=2 or more (10 by default).",
        )
    with store.write() as session:
        row = _add(
            session,
            name,
            role="coordinator",
            model_family=model_family,
            strategy=strategy,
            features=features,
            target=target,
            min_participants=min_participants,
            rounds=rounds,
            options=options,
            actor=actor,
        )
        return _federation(session, row)


def _add(
    session: Session, name: str, *, role: str, features, options, actor: str, **spec: Any
) -> FederationRow:
    if session.scalar(select(FederationRow.id).where(FederationRow.name == name)) is not None:
        raise Conflict(
            f"Federation {name!r} already exists in this store.", hint="Choose another name."
        )
    row = FederationRow(
        name=name,
        role=role,
        features=[{"name": f["name"], "type": f["type"]} for f in features],
        options=dict(options or {}),
        state="open",
        created_at=utcnow(),
        created_by=actor,
        **spec,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"federation.{'create' if role == 'coordinator' else 'join'}",
        entity_type="federation",
        entity_id=name,
        after=_spec(row),
    )
    return row


def invite(store: Store, name: str, member: str, *, actor: str) -> dict[str, Any]:
    """Record ``member`` as invited; returns the invitation it receives."""
    _check(member, "participant")
    with store.write() as session:
        row = _coordinated(session, name)
        if _member_row(session, row, member) is None:
            session.add(
                FederationMemberRow(
                    federation_id=row.id, name=member, state="invited", updated_at=utcnow()
                )
            )
            audit.record(
                session,
                actor=actor,
                action="federation.invite",
                entity_type="federation",
                entity_id=name,
                after={"member": member},
            )
        return {"federation": name, "member": member, **_spec(row)}


def admit(store: Store, name: str, acceptance: dict[str, Any], *, actor: str) -> Member:
    """The coordinator takes in an acceptance: joined if its data fits, refused (with why) if not."""
    with store.write() as session:
        row = _coordinated(session, name)
        member = _member_row(session, row, acceptance.get("member"))
        if member is None:
            raise NotFound(
                f"{acceptance.get('member')!r} was not invited to federation {name!r}.",
                hint="Invite it first: loopml federation invite.",
            )
        fingerprint = acceptance.get("fingerprint") or {}
        problems = signature_problems(fingerprint.get("schema") or [], row.features, row.target)
        state, reason = ("refused", "; ".join(problems)) if problems else ("joined", None)
        if (member.state, member.fingerprint, member.reason) != (state, fingerprint, reason):
            member.state, member.fingerprint, member.reason = state, fingerprint, reason
            member.home, member.updated_at = acceptance.get("home"), utcnow()
            audit.record(
                session,
                actor=actor,
                action=f"federation.{state}",
                entity_type="federation",
                entity_id=name,
                reason=reason,
                after={"member": member.name, "fingerprint": fingerprint},
            )
        return _member(member)


def join(
    store: Store,
    invitation: dict[str, Any],
    *,
    dataset: str,
    fingerprint: dict,
    home: str,
    exchange: str,
    actor: str,
) -> Federation:
    """At a participant, in one transaction: the federation it joined, and itself as its one
    member with the dataset it trains on."""
    spec = {
        key: invitation[key]
        for key in ("model_family", "strategy", "features", "target", "min_participants", "rounds")
    }
    options = {**invitation.get("options", {}), "exchange": exchange}
    name, member = invitation["federation"], invitation["member"]
    with store.write() as session:
        row = _add(session, name, role="participant", options=options, actor=actor, **spec)
        session.add(
            FederationMemberRow(
                federation_id=row.id,
                name=member,
                state="joined",
                home=home,
                dataset=dataset,
                fingerprint=fingerprint,
                updated_at=utcnow(),
            )
        )
        session.flush()
        return _federation(session, row)


def finish(store: Store, name: str, *, state: str, reason: str | None, actor: str) -> None:
    with store.write() as session:
        row = _federation_row(session, name)
        row.state, row.reason = state, reason
        audit.record(
            session,
            actor=actor,
            action=f"federation.{state}",
            entity_type="federation",
            entity_id=name,
            reason=reason,
        )


def get(store: Store, name: str) -> Federation:
    with store.read() as session:
        return _federation(session, _federation_row(session, name))


def list_all(store: Store) -> list[Federation]:
    with store.read() as session:
        rows = session.scalars(select(FederationRow).order_by(FederationRow.name))
        return [_federation(session, row) for row in rows]


def _spec(row: FederationRow) -> dict[str, Any]:
    return {
        "model_family": row.model_family,
        "strategy": row.strategy,
        "features": row.features,
        "target": row.target,
        "min_participants": row.min_participants,
        "rounds": row.rounds,
        "options": row.options,
    }


def _federation_row(session: Session, name: str) -> FederationRow:
    row = session.scalar(select(FederationRow).where(FederationRow.name == name))
    if row is None:
        known = ", ".join(session.scalars(select(FederationRow.name))) or "none"
        raise NotFound(
            f"No federation {name!r}. Federations: {known}.",
            hint="Create one with loopml federation create.",
        )
    return row


def _coordinated(session: Session, name: str) -> FederationRow:
    row = _federation_row(session, name)
    if row.role != "coordinator":
        raise InvalidInput(
            f"This store joined federation {name!r}; only its coordinator can do that."
        )
    return row


def _member_row(session: Session, row: FederationRow, name: Any) -> FederationMemberRow | None:
    return session.scalar(
        select(FederationMemberRow).where(
            FederationMemberRow.federation_id == row.id, FederationMemberRow.name == name
        )
    )


def _federation(session: Session, row: FederationRow) -> Federation:
    members = session.scalars(
        select(FederationMemberRow)
        .where(FederationMemberRow.federation_id == row.id)
        .order_by(FederationMemberRow.name)
    )
    return Federation(
        name=row.name,
        role=row.role,
        model_family=row.model_family,
        strategy=row.strategy,
        features=list(row.features),
        target=row.target,
        min_participants=row.min_participants,
        rounds=row.rounds,
        options=dict(row.options),
        state=row.state,
        reason=row.reason,
        created_at=row.created_at,
        created_by=row.created_by,
        members=tuple(_member(m) for m in members),
    )


def _member(row: FederationMemberRow) -> Member:
    return Member(
        name=row.name,
        state=row.state,
        home=row.home,
        dataset=row.dataset,
        fingerprint=row.fingerprint,
        reason=row.reason,
        updated_at=row.updated_at,
    )


def _check(name: Any, what: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"{name!r} is not a {what} name.",
            hint="Use up to 100 letters, digits, '.', '_' or '-'.",
        )


def task(model_family: str) -> str:
    """``"regression"`` or ``"classification"``: what a model family predicts."""
    return TASK_OF.get(model_family, "classification")


def _check_choice(value: Any, options: tuple[str, ...], what: str) -> None:
    if value not in options:
        raise InvalidInput(f"{value!r} is not a {what}. Choose one of: {', '.join(options)}.")


def record(
    store: Store,
    name: str,
    action: str,
    *,
    actor: str,
    reason: str | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Audit an event of federation ``name`` that changes no row here (a gate, a member's decision)."""
    with store.write() as session:
        _federation_row(session, name)
        audit.record(
            session,
            actor=actor,
            action=action,
            entity_type="federation",
            entity_id=name,
            reason=reason,
            after=after,
        )
