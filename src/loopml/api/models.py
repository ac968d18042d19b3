"""Models, approvals and timelines over REST: what the CLI shows, for applications and a UI."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from loopml.api.deps import SettingsDep, StoreDep
from loopml.automation.timeline import timeline
from loopml.registry import promotion, service

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
    return [vars(v) | {"signature": v.signature.to_dict() if v.signature else None} for v in found]


@router.get("/models/{name}/timeline")
def model_timeline(
    name: str,
    store: StoreDep,
    segment: str | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    service.get_model(store, name)  # a 404 naming the known models
    return [entry.to_dict() for entry in timeline(store, name, segment=segment, limit=limit)]


@router.post("/models/{name}/promote")
def promote(name: str, body: Promotion, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    result = promotion.promote(
        store, name, body.version, alias=body.alias, actor=settings.actor, reason=body.reason
    )
    return vars(result)


@router.get("/approvals")
def approvals(store: StoreDep, state: str | None = "pending") -> list[dict[str, Any]]:
    return [vars(a) for a in promotion.list_approvals(store, state=state)]


@router.post("/approvals/{approval_id}")
def decide(
    approval_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: Decision,
    store: StoreDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    return vars(
        promotion.decide(
            store, approval_id, approve=body.approve, actor=settings.actor, reason=body.reason
        )
    )
