"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from loopml.api.deps import StoreDep
from loopml.api.errors import error_response
from loopml.auth.permissions import Permission, requires
from loopml.errors import LoopmlError

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
@requires(Permission.PUBLIC)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The server can answer: its store is reachable")
@requires(Permission.PUBLIC)
def readyz(request: Request, store: StoreDep):
    try:
        store.ensure_schema()
        with store.read() as session:
            session.connection().exec_driver_sql("SELECT 1")
    except LoopmlError as error:
        return error_response(request, 503, error.message, hint=error.hint)
    checks = {name: check() for name, check in request.app.state.readiness.items()}
    not_ready = [name for name, ok in checks.items() if not ok]
    if not_ready:
        return error_response(
            request, 503, f"Not ready yet: {', '.join(not_ready)}.", hint="Retry shortly."
        )
    return {"status": "ready", "store": store.display_url}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    telemetry = request.app.state.telemetry
    return Response(telemetry.render(), media_type=telemetry.content_type)
