"""Approval requests: opened by a promotion whose gate asks for a person, decided by
another person, against the registry as it is at the moment of decision.

Approving re-runs the gate against the champion of that moment (a request made
while v1 was champion is judged against v3 if v3 is champion now), the person
who asked cannot approve, a rejection needs a reason, and a request pending
longer than the configured age expires. Each outcome is an audit event.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from loopml import audit
from loopml.errors import Conflict, Forbidden, InvalidInput, NotFound
from loopml.registry import gates, service
from loopml.registry.entities import Approval, ModelVersion
from loopml.registry.segments import canonical_segment
from loopml.store import Store, utcnow
from loopml.store.tables import AliasRow, ApprovalRow, ModelRow, ModelVersionRow

DEFAULT_MAX_AGE = timedelta(days=7)
_ACTIONS = {"approved": "approve", "rejected": "reject", "refused": "refuse", "expired": "expire"}


class ApprovalRefused(Conflict):
    """The request no longer passes the gate; it is closed as ``refused``."""

    def __init__(self, approval: Approval, result: gates.GateResult, why: str) -> None:
        reasons = "; ".join(f"{c.name}: {c.detail}" for c in result.failures())
        super().__init__(
            f"Approval request {approval.id} is refused: {why}version {approval.version} of "
            f"{approval.name!r} does not pass the gate now: {reasons}.",
            hint="Nothing moved. Promote a version that passes the gate today.",
        )
        self.result = result


def open_request(
    session,
    candidate: ModelVersion,
    champion: ModelVersion | None,
    *,
    alias: str,
    actor: str,
    reason: str | None,
    report: dict[str, Any],
) -> Approval:
    """A pending request, in the promotion's transaction; ``report`` is its gate result
    (with the evaluation it used, so an unchanged champion is judged on the same data)."""
    row = ApprovalRow(
        model_id=session.scalar(select(ModelRow.id).where(ModelRow.name == candidate.name)),
        version_id=candidate.id,
        segment_key=canonical_segment(candidate.segment_key),
        alias=alias,
        state="pending",
        requested_at=utcnow(),
        requested_by=actor,
        request_reason=reason,
        gate_report=report,
        champion_version=champion.version if champion else None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="approval.request",
        entity_type="model",
        entity_id=candidate.name,
        reason=reason,
        after={
            "approval": row.id,
            "version": candidate.version,
            "alias": alias,
            "segment": candidate.segment_key,
        },
    )
    return _approval(row, candidate.name, candidate.version)


def list_approvals(
    store: Store, *, state: str | None = "pending", name: str | None = None
) -> list[Approval]:
    query = _query().order_by(ApprovalRow.requested_at.desc())
    if state is not None:
        query = query.where(ApprovalRow.state == state)
    if name is not None:
        query = query.where(ModelRow.name == name)
    with store.read() as session:
        return [_approval(row, model, number) for row, model, number in session.execute(query)]


def get_approval(store: Store, approval_id: int) -> Approval:
    with store.read() as session:
        found = session.execute(_query().where(ApprovalRow.id == approval_id)).first()
    if found is None:
        raise NotFound(f"No approval request {approval_id}.", hint="See `loopml approvals list`.")
    return _approval(*found)


def decide(
    store: Store,
    approval_id: int,
    *,
    approve: bool,
    actor: str,
    reason: str | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
    cohort: str | None = None,
) -> Approval:
    """Approve (the gate passes now: the alias moves) or reject (with a reason);
    ``cohort`` names the cohort decision this one belongs to (see ``decide_cohort``)."""
    request = get_approval(store, approval_id)
    _check_pending(request)
    if request.requested_at < utcnow() - max_age:
        expire(store, request, actor=actor, max_age=max_age)
        raise Conflict(
            f"Approval request {approval_id} expired: it was pending for more than {_age(max_age)}.",
            hint="Promote the version again if it is still wanted; the gate runs anew.",
        )
    if not approve:
        if not (reason or "").strip():
            raise InvalidInput("A rejection needs a reason.", hint="Say why, e.g. --reason '...'.")
        return _close(store, request, "rejected", actor, reason, cohort=cohort)
    if actor == request.requested_by:
        raise Forbidden(
            f"{actor} asked for approval request {approval_id} and cannot approve it too.",
            hint="Another operator approves it (four eyes); you may reject it to withdraw.",
        )
    champion, result, why = _recheck(store, request)
    # An override stands only against the champion it was forced past.
    forced = bool((request.gate_report or {}).get("force")) and not why
    if not result.passed and not forced:
        _close(store, request, "refused", actor, reason, gate=result.to_dict(), cohort=cohort)
        raise ApprovalRefused(request, result, why)
    return _close(store, request, "approved", actor, reason, champion=champion, cohort=cohort)


@dataclass(frozen=True)
class CohortDecision:
    cohort: str  # the entity id of the parent audit event
    decided: list[Approval]
    refused: dict[int, str]  # request id -> why it was not decided


def decide_cohort(
    store: Store, approval_ids: list[int], *, approve: bool, actor: str, reason: str | None = None
) -> CohortDecision:
    """Decide many segments' requests at once after one review: one parent audit event
    (``approval.cohort``) and each request's own event naming it. A request that cannot
    be decided (four eyes, a gate that fails now, already decided) is reported, not fatal."""
    ids = sorted(set(approval_ids))
    if not ids:
        raise InvalidInput("No approval requests were chosen.", hint="Tick at least one.")
    if not approve and not (reason or "").strip():
        raise InvalidInput("A rejection needs a reason.", hint="Say why, e.g. --reason '...'.")
    cohort = f"cohort-{uuid.uuid4().hex[:12]}"
    with store.write() as session:
        audit.record(
            session,
            actor=actor,
            action="approval.cohort",
            entity_type="cohort",
            entity_id=cohort,
            reason=reason,
            after={"approvals": ids, "decision": "approve" if approve else "reject"},
        )
    decided, refused = [], {}
    for approval_id in ids:
        try:
            decided.append(
                decide(
                    store, approval_id, approve=approve, actor=actor, reason=reason, cohort=cohort
                )
            )
        except (Conflict, Forbidden, NotFound, InvalidInput) as error:
            refused[approval_id] = error.message
    return CohortDecision(cohort, decided, refused)


def expire(store: Store, request: Approval, *, actor: str, max_age: timedelta) -> Approval:
    return _close(store, request, "expired", actor, f"pending for more than {_age(max_age)}")


def expire_stale(
    store: Store, *, actor: str, max_age: timedelta = DEFAULT_MAX_AGE
) -> list[Approval]:
    """Expire every pending request older than ``max_age`` (e.g. from a scheduler)."""
    cutoff = utcnow() - max_age
    stale = [a for a in list_approvals(store) if a.requested_at < cutoff]
    return [expire(store, a, actor=actor, max_age=max_age) for a in stale]


def _recheck(store: Store, request: Approval) -> tuple[ModelVersion | None, gates.GateResult, str]:
    """The gate against today's champion; the request's own evaluation numbers are
    reused only if the champion is the one they were measured against."""
    candidate = service.resolve(store, request.name, version=request.version)
    try:
        champion = service.resolve(
            store, request.name, alias=request.alias, segment=request.segment_key
        )
    except NotFound:
        champion = None
    now = champion.version if champion else None
    report: Mapping[str, Any] = request.gate_report or {}
    changed = now != request.champion_version
    why = (
        f"the {request.alias} changed from {_v(request.champion_version)} to {_v(now)} since "
        "it was requested, and "
        if changed
        else ""
    )
    result = gates.evaluate(
        service.get_gate(store, request.name),
        candidate,
        champion,
        evaluation=None if changed else report.get("evaluation"),
        allow_breaking_signature=bool(report.get("allow_breaking_signature")),
        store=store,
    )
    return champion, result, why


def _close(
    store,
    request: Approval,
    state: str,
    actor: str,
    reason: str | None,
    *,
    champion: ModelVersion | None = None,
    gate: dict | None = None,
    cohort: str | None = None,
) -> Approval:
    with store.write() as session:
        row = session.get(ApprovalRow, request.id, with_for_update=True)
        _check_pending(_approval(row, request.name, request.version))
        if state == "approved":
            _check_champion_still(session, row, champion)
        row.state, row.decided_at, row.decided_by, row.decision_reason = (
            state,
            utcnow(),
            actor,
            reason,
        )
        audit.record(
            session,
            actor=actor,
            action=f"approval.{_ACTIONS[state]}",
            entity_type="model",
            entity_id=request.name,
            reason=reason,
            after={
                "approval": request.id,
                "version": request.version,
                "alias": row.alias,
                "segment": row.segment_key,
                **({"gate": gate} if gate else {}),
                **({"cohort": cohort} if cohort else {}),
            },
        )
        if state == "approved":
            service.set_alias(
                store,
                request.name,
                row.alias,
                request.version,
                segment=row.segment_key,
                actor=actor,
                reason=reason,
                kind="approve",
                session=session,
            )
        return _approval(row, request.name, request.version)


def _check_champion_still(session, row: ApprovalRow, champion: ModelVersion | None) -> None:
    now = session.scalar(
        select(AliasRow.version_id).where(
            AliasRow.model_id == row.model_id,
            AliasRow.segment_key == row.segment_key,
            AliasRow.alias == row.alias,
        )
    )
    if now != (champion.id if champion else None):
        raise Conflict(
            f"The {row.alias} moved while approval request {row.id} was being checked.",
            hint="Approve again: the gate runs against the new one.",
        )


def _check_pending(request: Approval) -> None:
    if request.state != "pending":
        raise Conflict(
            f"Approval request {request.id} was already {request.state} by {request.decided_by}.",
            hint="Nothing to do; see `loopml audit` for its history.",
        )


def _query():
    return (
        select(ApprovalRow, ModelRow.name, ModelVersionRow.version)
        .join(ModelRow, ModelRow.id == ApprovalRow.model_id)
        .join(ModelVersionRow, ModelVersionRow.id == ApprovalRow.version_id)
    )


def _v(version: int | None) -> str:
    return f"v{version}" if version is not None else "none"


def _age(max_age: timedelta) -> str:
    hours = max_age.total_seconds() / 3600
    return f"{hours:g} hours"


def _approval(row: ApprovalRow, name: str, number: int) -> Approval:
    return Approval(
        row.id,
        name,
        number,
        row.segment_key,
        row.alias,
        row.state,
        row.requested_at,
        row.requested_by,
        row.request_reason,
        row.gate_report,
        row.decided_at,
        row.decided_by,
        row.decision_reason,
        row.champion_version,
    )
