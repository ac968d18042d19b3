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


@router.get("/readyz", summary="The server can answer: its store is reachable, its models loaded")
@requires(Permission.PUBLIC)
def readyz(request: Request, store: StoreDep):
    """``ready``; ``degraded`` (still 200) when the store is unreachable but loaded models
    keep answering, or when some model cannot be loaded (named with the reason); 503
    when nothing can be answered, so a load balancer pulls only a replica that is useless."""
    checks = {name: check() for name, check in request.app.state.readiness.items()}
    not_ready = [name for name, ok in checks.items() if not ok]
    if not_ready:
        return error_response(
            request, 503, f"Not ready yet: {', '.join(not_ready)}.", hint="Retry shortly."
        )
    engine = getattr(request.app.state, "serving", None)
    # Read before the count: once it says done, the count includes all it loaded.
    preloading = engine is not None and engine.preloading
    loaded = len(engine.pool.items()) if engine is not None else 0
    unavailable = engine.pool.unavailable() if engine is not None else {}
    store_error = _store_error(store)
    if store_error is not None and not loaded:
        return error_response(request, 503, store_error.message, hint=store_error.hint)
    answer: dict = {"status": "ready", "store": store.display_url, "models_loaded": loaded}
    if engine is not None:  # ready before the budget is loaded: the rest load in the background
        answer["models_preloading"] = preloading
    if store_error is not None:
        answer |= {"status": "degraded", "store_error": store_error.message}
    if unavailable:
        if not loaded:
            shown = "; ".join(f"{k}: {v}" for k, v in unavailable.items())
            return error_response(request, 503, f"No model can be served. {shown}", hint=_FIX)
        answer |= {"status": "degraded", "unavailable": unavailable}
    return answer


_FIX = "Fix the versions' artifacts or point their aliases at other versions (loopml.set_alias)."


def _store_error(store) -> LoopmlError | None:
    try:
        store.ensure_schema()
        with store.read() as session:
            session.connection().exec_driver_sql("SELECT 1")
    except LoopmlError as error:
        return error
    return None


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    telemetry = request.app.state.telemetry
    return Response(telemetry.render(), media_type=telemetry.content_type)
