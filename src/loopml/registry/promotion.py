"""Promotion: a gate-checked alias move, an approval request, or a rollback.

The CLI, the REST API, the pipelines and the closed loop all promote through
``promote``; none of them moves a gated alias on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from loopml import audit
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.registry import approvals, gates, service
from loopml.registry.entities import AliasMove, Approval, ModelVersion
from loopml.store import Store


def promote(
    store: Store,
    name: str,
    version: int,
    *,
    alias: str = "champion",
    actor: str,
    reason: str | None = None,
    evaluation: Mapping[str, Mapping[str, float]] | None = None,
    allow_breaking_signature: bool = False,
    require_approval: bool = False,
    force: bool = False,
) -> AliasMove | Approval:
    """Move ``alias`` of the version's segment to it if the gate passes; if the gate
    (or the caller, with ``require_approval``) asks for a person, open an approval
    request instead. A failed gate raises
    ``GateFailed`` naming each failed check with its numbers (and is audited).

    ``force`` moves the alias although checks failed (an operator's override, for
    one when the champion is itself wrong); it needs a ``reason`` and is audited as
    ``gate.override`` with the failed checks. It does not skip a required approval."""
    if force and not (reason and reason.strip()):
        raise InvalidInput(
            "Forcing a promotion past its gate needs a reason.",
            hint="Say why the failed checks do not apply, e.g. --reason 'champion used a leaky column'.",
        )
    candidate = service.resolve(store, name, version=version)
    if candidate.archived:
        raise Conflict(
            f"Version {version} of {name!r} is archived: it may never serve again.",
            hint="Promote another version; `loopml models versions NAME` lists them.",
        )
    try:
        champion = service.resolve(store, name, alias=alias, segment=candidate.segment_key)
    except NotFound:
        champion = None
    result = gates.evaluate(
        service.get_gate(store, name),
        candidate,
        champion,
        evaluation=evaluation,
        allow_breaking_signature=allow_breaking_signature,
        store=store,
    )
    extra = {
        "evaluation": _plain(evaluation),
        "allow_breaking_signature": allow_breaking_signature,
        "force": force,
    }
    with store.write() as session:
        decided = _decide(
            session,
            candidate,
            champion,
            result,
            alias=alias,
            actor=actor,
            reason=reason,
            extra=extra,
            require_approval=require_approval,
            force=force,
        )
        if decided is _MOVE:
            kind = "promote" if result.passed else "force"
            return service.set_alias(
                store,
                name,
                alias,
                version,
                segment=candidate.segment_key,
                actor=actor,
                reason=reason,
                kind=kind,
                session=session,
            )
    if isinstance(decided, gates.GateFailed):
        raise decided
    return decided


def promote_many(
    store: Store,
    name: str,
    versions: Sequence[ModelVersion],
    *,
    alias: str = "champion",
    actor: str,
    reason: str | None = None,
    require_approval: bool = False,
) -> list[AliasMove | Approval | gates.GateFailed]:
    """``promote`` for new versions of distinct segments in one transaction, with the
    model's gate read once and the champions read in one query. A failed gate is
    returned in its version's place (and audited), not raised."""
    gate = service.get_gate(store, name)
    champions = service.resolve_aliases(store, name, alias, [v.segment_key for v in versions])
    extra = {"evaluation": None, "allow_breaking_signature": False, "force": False}
    events: list[dict] = []
    with store.write() as session:
        decided = [
            _decide(
                session,
                version,
                champions.get(version.segment_key),
                gates.evaluate(gate, version, champions.get(version.segment_key), store=store),
                alias=alias,
                actor=actor,
                reason=reason,
                extra=extra,
                require_approval=require_approval,
                force=False,
                events=events,
            )
            for version in versions
        ]
        audit.record_many(session, events)  # the verdicts before the moves they allow
        targets = [
            (v.version, v.segment_key) for v, d in zip(versions, decided, strict=True) if d is _MOVE
        ]
        moves = iter(
            service.set_aliases(
                session, name, alias, targets, actor=actor, reason=reason, kind="promote"
            )
        )
        return [next(moves) if d is _MOVE else d for d in decided]


_MOVE = object()  # the gate let the version through: its alias is to move


def _decide(
    session,
    candidate: ModelVersion,
    champion: ModelVersion | None,
    result,
    *,
    alias: str,
    actor: str,
    reason: str | None,
    extra: dict,
    require_approval: bool,
    force: bool,
    events: list[dict] | None = None,
):
    """Audit the gate's verdict (into ``events``, when given, for the caller to insert
    with its neighbours'); open an approval request when one is needed. Returns the
    request, the failure, or ``_MOVE``."""
    audited = audit.record if events is None else lambda _session, **event: events.append(event)
    name, report = candidate.name, result.to_dict()
    after = {
        "version": candidate.version,
        "alias": alias,
        "segment": candidate.segment_key,
        "gate": report,
    }
    if not (result.passed or force):
        audited(
            session,
            actor=actor,
            action="gate.fail",
            entity_type="model",
            entity_id=name,
            reason=reason,
            after=after,
        )
        return gates.GateFailed(name, candidate.version, result)
    if result.require_approval or require_approval:
        return approvals.open_request(
            session,
            candidate,
            champion,
            alias=alias,
            actor=actor,
            reason=reason,
            report=report | extra,
        )
    action = "gate.pass" if result.passed else "gate.override"
    audited(
        session,
        actor=actor,
        action=action,
        entity_type="model",
        entity_id=name,
        reason=reason,
        after=after,
    )
    return _MOVE


def rollback(
    store: Store,
    name: str,
    *,
    alias: str = "champion",
    segment=None,
    actor: str,
    reason: str | None = None,
) -> AliasMove:
    """Point ``alias`` back at the version it held before its last move."""
    history = service.alias_history(store, name, alias=alias, segment=segment or "")
    previous = next((m.from_version for m in history if m.from_version is not None), None)
    if not history or previous is None:
        raise NotFound(
            f"Alias {alias!r} of {name!r} has no earlier version to go back to.",
            hint="Set it explicitly with loopml.set_alias.",
        )
    return service.set_alias(
        store, name, alias, previous, segment=segment, actor=actor, reason=reason, kind="rollback"
    )


def _plain(evaluation: Mapping[str, Mapping[str, float]] | None) -> dict | None:
    """The evaluation as JSON numbers, kept with an approval request."""
    if not evaluation:
        return None
    return {side: {k: float(v) for k, v in metrics.items()} for side, metrics in evaluation.items()}
