"""Promotion: a gate-checked alias move, an approval request, or a rollback.

The CLI, the REST API, the pipelines and the closed loop all promote through
``promote``; none of them moves a gated alias on its own.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from loopml import audit
from loopml.errors import Conflict, NotFound
from loopml.registry import gates, service
from loopml.registry.entities import AliasMove, Approval
from loopml.registry.segments import canonical_segment
from loopml.store import Store, utcnow
from loopml.store.tables import ApprovalRow, ModelRow, ModelVersionRow


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
) -> AliasMove | Approval:
    """Move ``alias`` of the version's segment to it if the gate passes; if the gate
    (or the caller, with ``require_approval``) asks for a person, open an approval
    request instead. A failed gate raises
    ``GateFailed`` naming each failed check with its numbers (and is audited)."""
    candidate = service.resolve(store, name, version=version)
    try:
        champion = service.resolve(store, name, alias=alias, segment=candidate.segment_key)
    except NotFound:
        champion = None
    spec = service.get_gate(store, name)
    result = gates.evaluate(
        spec,
        candidate,
        champion,
        evaluation=evaluation,
        allow_breaking_signature=allow_breaking_signature,
        store=store,
    )
    report = result.to_dict()
    with store.write() as session:
        if not result.passed:
            audit.record(session, actor=actor, action="gate.fail", entity_type="model", entity_id=name,
                         reason=reason, after={"version": version, "alias": alias, "segment": candidate.segment_key, "gate": report})  # fmt: skip
        elif result.require_approval or require_approval:
            return _request(session, name, candidate, alias, actor, reason, report)
        else:
            audit.record(session, actor=actor, action="gate.pass", entity_type="model", entity_id=name,
                         reason=reason, after={"version": version, "alias": alias, "segment": candidate.segment_key, "gate": report})  # fmt: skip
            return service.set_alias(store, name, alias, version, segment=candidate.segment_key,
                                     actor=actor, reason=reason, kind="promote", session=session)  # fmt: skip
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


def list_approvals(
    store: Store, *, state: str | None = "pending", name: str | None = None
) -> list[Approval]:
    query = (
        select(ApprovalRow, ModelRow.name, ModelVersionRow.version)
        .join(ModelRow, ModelRow.id == ApprovalRow.model_id)
        .join(ModelVersionRow, ModelVersionRow.id == ApprovalRow.version_id)
        .order_by(ApprovalRow.requested_at.desc())
    )
    if state is not None:
        query = query.where(ApprovalRow.state == state)
    if name is not None:
        query = query.where(ModelRow.name == name)
    with store.read() as session:
        return [_approval(row, model, number) for row, model, number in session.execute(query)]


def decide(
    store: Store, approval_id: int, *, approve: bool, actor: str, reason: str | None = None
) -> Approval:
    """Approve (the alias moves now) or reject a pending request, with a reason."""
    with store.write() as session:
        row = session.get(ApprovalRow, approval_id, with_for_update=True)
        if row is None:
            raise NotFound(
                f"No approval request {approval_id}.", hint="See `loopml approvals list`."
            )
        if row.state != "pending":
            raise Conflict(
                f"Approval request {approval_id} was already {row.state} by {row.decided_by}.",
                hint="Nothing to do; see `loopml audit` for its history.",
            )
        name = session.get(ModelRow, row.model_id).name
        number = session.get(ModelVersionRow, row.version_id).version
        row.state = "approved" if approve else "rejected"
        row.decided_at, row.decided_by, row.decision_reason = utcnow(), actor, reason
        audit.record(session, actor=actor, action=f"approval.{'approve' if approve else 'reject'}",
                     entity_type="model", entity_id=name, reason=reason,
                     after={"approval": approval_id, "version": number, "alias": row.alias, "segment": row.segment_key})  # fmt: skip
        if approve:
            service.set_alias(store, name, row.alias, number, segment=row.segment_key, actor=actor,
                              reason=reason, kind="approve", session=session)  # fmt: skip
        return _approval(row, name, number)


def _request(session, name, candidate, alias, actor, reason, report) -> Approval:
    row = ApprovalRow(
        model_id=session.scalar(select(ModelRow.id).where(ModelRow.name == name)),
        version_id=candidate.id, segment_key=canonical_segment(candidate.segment_key), alias=alias,
        state="pending", requested_at=utcnow(), requested_by=actor, request_reason=reason, gate_report=report,
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="approval.request", entity_type="model", entity_id=name,
                 reason=reason, after={"approval": row.id, "version": candidate.version, "alias": alias, "segment": candidate.segment_key})  # fmt: skip
    return _approval(row, name, candidate.version)


def _approval(row: ApprovalRow, name: str, number: int) -> Approval:
    return Approval(row.id, name, number, row.segment_key, row.alias, row.state, row.requested_at,
                    row.requested_by, row.request_reason, row.gate_report, row.decided_at,
                    row.decided_by, row.decision_reason)  # fmt: skip
