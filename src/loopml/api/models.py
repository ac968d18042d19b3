"""Models, approvals and timelines over REST: what the CLI shows, for applications and a UI."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from loopml.api.deps import ActorDep, PrincipalDep, SettingsDep, StoreDep
from loopml.auth.permissions import Permission, requires
from loopml.automation.timeline import timeline
from loopml.errors import Forbidden
from loopml.redaction import redact_text
from loopml.registry import approvals, promotion, service

router = APIRouter(prefix="/api/v1", tags=["models"])


class Decision(BaseModel):
    approve: bool
    reason: str | None = None


# Ids and version numbers fit the store's 32-bit integer columns.
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Promotion(BaseModel):
    version: Id
    alias: str = "champion"
    reason: str | None = None


@router.get("/models")
def list_models(store: StoreDep) -> list[dict[str, Any]]:
    return [vars(m) for m in service.list_models(store)]


@router.get("/models/{name}/segments")
def segments(name: str, store: StoreDep) -> list[dict[str, Any]]:
    return service.list_segments(store, name)


@router.get("/models/{name}/versions")
def versions(
    name: str,
    store: StoreDep,
    segment: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[dict[str, Any]]:
    found = service.list_versions(store, name, segment=segment, limit=limit)
    return [
        vars(v)
        | {"signature": v.signature.to_dict() if v.signature else None, "runtime": v.runtime}
        for v in found
    ]


@router.get("/models/{name}/timeline")
def model_timeline(
    name: str,
    store: StoreDep,
    segment: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    service.get_model(store, name)  # a 404 naming the known models
    return [entry.to_dict() for entry in timeline(store, name, segment=segment, limit=limit)]


@router.get("/models/{name}/predictions")
def prediction_log(name: str, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    """Where the model's prediction log is, and per segment and version how many
    predictions it holds, their first and last event time and their serving CPU."""
    from loopml.predictions.reader import log_folder, summarize

    service.get_model(store, name)  # a 404 naming the known models
    root = settings.resolved_artifact_uri
    return {
        "model": name,
        "folder": redact_text(log_folder(root, name)),
        "parts": [
            vars(part) | {"first": _iso(part.first), "last": _iso(part.last)}
            for part in summarize(root, name)
        ],
    }


def _iso(moment) -> str | None:
    return None if moment is None else moment.isoformat()


@router.post("/models/{name}/promote")
@requires(Permission.OPERATE)
def promote(name: str, body: Promotion, store: StoreDep, actor: ActorDep) -> dict[str, Any]:
    result = promotion.promote(
        store, name, body.version, alias=body.alias, actor=actor, reason=body.reason
    )
    return vars(result)


@router.get("/approvals")
def list_approvals(store: StoreDep, state: str | None = "pending") -> list[dict[str, Any]]:
    return [vars(a) for a in approvals.list_approvals(store, state=state)]


@router.post("/approvals/{approval_id}")
@requires(Permission.OPERATE)
def decide(
    approval_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: Decision,
    store: StoreDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    request = approvals.get_approval(store, approval_id)
    if not principal.may_touch(request.name):
        raise Forbidden(
            f"{principal.name} may not decide for model {request.name!r}.",
            hint="Ask an operator of that model family.",
        )
    decided = approvals.decide(
        store,
        approval_id,
        approve=body.approve,
        actor=principal.name,
        reason=body.reason,
        max_age=settings.approval_max_age,
    )
    return vars(decided)
