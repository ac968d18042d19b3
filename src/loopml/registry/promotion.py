"""Promotion: a gate-checked alias move, an approval request, or a rollback.

The CLI, the REST API, the pipelines and the closed loop all promote through
``promote``; none of them moves a gated alias on its own.
"""

from __future__ import annotations

from collections.abc import Mapping

from loopml import audit
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.registry import approvals, gates, service
from loopml.registry.entities import AliasMove, Approval
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
    result = gates.evaluate(service.get_gate(store, name), candidate, champion, evaluation=evaluation,
                            allow_breaking_signature=allow_breaking_signature, store=store)  # fmt: skip
    report = result.to_dict()
    after = {"version": version, "alias": alias, "segment": candidate.segment_key, "gate": report}
    with store.write() as session:
        if result.passed or force:
            if result.require_approval or require_approval:
                report |= {
                    "evaluation": _plain(evaluation),
                    "allow_breaking_signature": allow_breaking_signature,
                    "force": force,
                }
                return approvals.open_request(session, candidate, champion, alias=alias, actor=actor,
                                              reason=reason, report=report)  # fmt: skip
            action = "gate.pass" if result.passed else "gate.override"
            audit.record(session, actor=actor, action=action, entity_type="model", entity_id=name,
                         reason=reason, after=after)  # fmt: skip
            kind = "promote" if result.passed else "force"
            return service.set_alias(store, name, alias, version, segment=candidate.segment_key,
                                     actor=actor, reason=reason, kind=kind, session=session)  # fmt: skip
        audit.record(session, actor=actor, action="gate.fail", entity_type="model", entity_id=name,
                     reason=reason, after=after)  # fmt: skip
    raise gates.GateFailed(name, version, result)


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
    return service.set_alias(store, name, alias, previous, segment=segment, actor=actor,
                             reason=reason, kind="rollback")  # fmt: skip


def _plain(evaluation: Mapping[str, Mapping[str, float]] | None) -> dict | None:
    """The evaluation as JSON numbers, kept with an approval request."""
    if not evaluation:
        return None
    return {side: {k: float(v) for k, v in metrics.items()} for side, metrics in evaluation.items()}
