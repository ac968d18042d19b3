"""Builds the one FastAPI app: REST API, serving, UI and /metrics.

``create_app(settings)`` is the only way to get an app; it keeps everything it
needs on ``app.state`` so two apps in one process (as in tests) never share
state. ``loopml serve`` runs it with uvicorn.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from loopml._context import Context
from loopml._version import __version__
from loopml.api import errors, health, runs
from loopml.api.middleware import RequestMiddleware
from loopml.api.telemetry import Telemetry
from loopml.config import Settings

MAX_BODY_BYTES = 32 * 1024 * 1024


def create_app(settings: Settings | None = None, *, context: Context | None = None) -> FastAPI:
    context = context or Context(settings or Settings())
    app = FastAPI(
        title="loopml",
        version=__version__,
        description="Experiments, datasets, models, predictions and monitoring of one loopml project.",
    )
    app.state.context = context
    app.state.telemetry = Telemetry()
    app.state.readiness: dict[str, Callable[[], bool]] = {}
    errors.install(app)
    app.add_middleware(
        RequestMiddleware, telemetry=app.state.telemetry, max_body_bytes=MAX_BODY_BYTES
    )
    for router in (health.router, runs.router):
        app.include_router(router)
    return app
