"""Gates over REST (read): the checks a model's versions must pass to be promoted."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from loopml.api.deps import StoreDep
from loopml.registry import service

router = APIRouter(prefix="/api/v1/gates", tags=["gates"])


class GateRead(BaseModel):
    model: str
    gate: dict[str, Any] | None = Field(
        description="The gate as set (loopml.set_gate / the project file); null: no gate."
    )


@router.get("", summary="The gate of every model", response_model=list[GateRead])
def list_gates(store: StoreDep):
    return [{"model": m.name, "gate": m.gate} for m in service.list_models(store)]


@router.get("/{model}", summary="The gate of one model", response_model=GateRead)
def get_gate(model: str, store: StoreDep):
    service.get_model(store, model)  # a 404 naming the models
    return {"model": model, "gate": service.get_gate(store, model)}
