"""Approvals: pending requests with their evidence side by side, decided one at a time
or as a cohort of segments (``loopml.registry.approvals`` enforces four eyes and re-runs
the gate at the moment of decision)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from loopml.api.deps import PrincipalDep, StoreDep
from loopml.auth.permissions import Permission, requires
from loopml.errors import InvalidInput, NotFound
from loopml.registry import approvals
from loopml.registry import service as registry
from loopml.ui.forms import act, fields, may_touch, one
from loopml.ui.render import page

router = APIRouter(prefix="/ui/approvals", include_in_schema=False)
ApprovalId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("")
def approval_list(request: Request, store: StoreDep):
    pending = approvals.list_approvals(store)
    by_model: dict[str, list] = {}
    for request_ in pending:
        by_model.setdefault(request_.name, []).append(request_)
    decided = approvals.list_approvals(store, state=None)
    return page(
        request,
        "approvals.html",
        by_model=by_model,
        decided=[a for a in decided if a.state != "pending"][:30],
    )


@router.get("/{approval_id}")
def approval_page(request: Request, approval_id: ApprovalId, store: StoreDep):
    approval = approvals.get_approval(store, approval_id)
    challenger = registry.resolve(store, approval.name, version=approval.version)
    champion = _champion(store, approval)
    evaluation = (approval.gate_report or {}).get("evaluation") or {}
    names = sorted(set(challenger.metrics) | set(champion.metrics if champion else {}))
    return page(
        request,
        "approval.html",
        approval=approval,
        challenger=challenger,
        champion=champion,
        metrics=names,
        evaluation=evaluation,
        checks=(approval.gate_report or {}).get("checks", []),
    )


@router.post("/{approval_id}/decide")
@requires(Permission.OPERATE)
async def decide(
    request: Request, approval_id: ApprovalId, store: StoreDep, principal: PrincipalDep
):
    values = await fields(request)

    def change() -> str:
        approval = approvals.get_approval(store, approval_id)
        may_touch(principal, approval.name)
        approve = _verdict(values)
        approvals.decide(
            store, approval_id, approve=approve, actor=principal.name, reason=one(values, "reason")
        )
        where = approval.segment_key or "all segments"
        return (
            f"v{approval.version} of {approval.name} ({where}) is now {approval.alias}."
            if approve
            else f"v{approval.version} of {approval.name} ({where}) rejected."
        )

    return act(request, change, f"/ui/approvals/{approval_id}")


@router.post("/cohort")
@requires(Permission.OPERATE)
async def cohort(request: Request, store: StoreDep, principal: PrincipalDep):
    values = await fields(request)

    def change() -> str:
        try:
            ids = [int(v) for v in values.get("approval", [])]
        except ValueError:
            raise InvalidInput(
                "The chosen requests are not request numbers.",
                hint="Reload the page and tick them again.",
            ) from None
        for approval_id in ids:
            may_touch(principal, approvals.get_approval(store, approval_id).name)
        approve = _verdict(values)
        outcome = approvals.decide_cohort(
            store, ids, approve=approve, actor=principal.name, reason=one(values, "reason")
        )
        verb = "approved" if approve else "rejected"
        message = (
            f"{len(outcome.decided)} of {len(ids)} segments {verb} together ({outcome.cohort})."
        )
        if outcome.refused:
            message += " Not decided: " + "; ".join(
                f"#{i}: {why}" for i, why in sorted(outcome.refused.items())
            )
        return message

    return act(request, change, "/ui/approvals")


def _verdict(values) -> bool:
    verdict = one(values, "decision")
    if verdict not in ("approve", "reject"):
        raise InvalidInput("Choose approve or reject.", hint="Press one of the two buttons.")
    return verdict == "approve"


def _champion(store, approval):
    try:
        return registry.resolve(
            store, approval.name, alias=approval.alias, segment=approval.segment_key
        )
    except NotFound:
        return None
