"""Builds the one FastAPI app: REST API, serving, UI and /metrics.

``create_app(settings)`` is the only way to get an app; it keeps everything it
needs on ``app.state`` so two apps in one process (as in tests) never share
state. ``loopml serve`` runs it with uvicorn.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from loopml import ui
from loopml._context import Context
from loopml._version import __version__
from loopml.api import (
    alerts,
    audit,
    datasets,
    errors,
    gates,
    health,
    mlflow,
    models,
    monitors,
    runs,
)
from loopml.api.auth import Authenticator, AuthMiddleware
from loopml.api.middleware import BodyLimits, RequestMiddleware
from loopml.api.telemetry import Telemetry
from loopml.auth.throttle import SignInThrottle
from loopml.config import Settings
from loopml.redaction import redact_logs
from loopml.serving.routes.fast import FastScoring
from loopml.serving.traffic import ServingConfig


@asynccontextmanager
async def _lifespan(app: FastAPI):
    """Run the parts' start hooks, serve, then their stop hooks in reverse order
    (uvicorn has finished the requests in flight by then: a graceful shutdown)."""
    for hook in app.state.startup:
        await _call(hook)
    try:
        yield
    finally:
        for hook in reversed(app.state.shutdown):
            await _call(hook)


async def _call(hook: Callable) -> None:
    result = hook()
    if inspect.isawaitable(result):
        await result


class _App(FastAPI):
    """FastAPI, with the scoring routes' short way in front when sign-in is off
    (``loopml.serving.routes.fast``): it shares the app's request middleware, with
    the same settings, and the app's error handlers. Built on the first request,
    and only when FastAPI's own OpenTelemetry spans are off (with them on, every
    request goes the normal way to get its span)."""

    _fast: FastScoring | bool | None = False  # False: not built yet; None: not taken

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = self._fast
        if fast is False:
            fast = self._fast = self.state.fast_scoring = self._fast_scoring()
        if fast is not None and (matched := fast.match(scope)) is not None:
            scope["app"] = self
            await fast.serve(matched, scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def _fast_scoring(self) -> FastScoring | None:
        routes = getattr(self.state, "fast_routes", ())
        if not routes or self.state.context.settings.auth or self.root_path:
            return None
        if self._native_telemetry.enabled():
            return None
        requests = next(m for m in self.user_middleware if m.cls is RequestMiddleware)
        return FastScoring(
            routes=routes,
            wrap=lambda app: requests.cls(app, *requests.args, **requests.kwargs),
            handlers=self.exception_handlers,
        )


def create_app(
    settings: Settings | None = None,
    *,
    context: Context | None = None,
    serving: ServingConfig | None = None,
) -> FastAPI:
    """The app; ``serving`` overrides the deployments of ``LOOPML_SERVING_CONFIG``."""
    from loopml.serving import routes as serving_routes

    context = context or Context(settings or Settings())
    app = _App(
        title="loopml",
        version=__version__,
        description="Experiments, datasets, models, predictions and monitoring of one loopml project.",
        lifespan=_lifespan,
    )
    app.state.context = context
    app.state.fast_scoring = None  # the short way, once built (see _App)
    app.state.telemetry = Telemetry()
    app.state.readiness: dict[str, Callable[[], bool]] = {}
    app.state.startup: list[Callable] = []
    app.state.shutdown: list[Callable] = []
    errors.install(app)
    _install_auth(app, context)
    app.add_middleware(  # added last, so it runs first: request ids and logs for every answer
        RequestMiddleware, telemetry=app.state.telemetry, limits=_body_limits(context.settings)
    )
    operator_routers = (datasets, monitors, alerts, audit, gates)
    for router in (
        health.router,
        runs.router,
        models.router,
        *(m.router for m in operator_routers),
        mlflow.router,  # last: its catch-all answers every /api/2.0/mlflow path the others do not
    ):
        app.include_router(router)
    serving_routes.install(app, context, serving)
    ui.install(app)
    _export_monitor_results(app, context)
    if context.settings.scheduler:
        _install_scheduler(app, context)
    _declare_docs_public(app)
    app.state.startup.append(lambda: redact_logs("uvicorn", "uvicorn.access"))
    return app


def _install_auth(app: FastAPI, context: Context) -> None:
    """One check for every route, present and future (see loopml.api.auth)."""
    required = context.settings.auth
    if required:
        from loopml.auth.users import require_an_admin

        require_an_admin(context.store)
    # One count of failed passwords for the UI's sign-in and HTTP Basic alike.
    app.state.sign_in_throttle = SignInThrottle()
    app.state.authenticator = Authenticator(context.store, throttle=app.state.sign_in_throttle)
    app.add_middleware(
        AuthMiddleware,
        router=app.router,
        authenticator=app.state.authenticator,
        required=required,
        refusals={"/api/2.0/mlflow": mlflow.refusal},  # MLflow's client reads its own shape
    )


def _declare_docs_public(app: FastAPI) -> None:
    from loopml.auth.permissions import Permission, declare

    docs = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    for route in app.routes:
        if getattr(route, "path", None) in docs:
            declare(route, Permission.PUBLIC)


def _body_limits(settings: Settings) -> BodyLimits:
    return BodyLimits(
        max_bytes=settings.server_max_body_bytes,
        max_values=settings.serving_max_values,
        timeout=settings.server_body_timeout,
    )


def _export_monitor_results(app: FastAPI, context: Context) -> None:
    """Monitor values and active alerts on /metrics, read from the store at scrape time."""
    from loopml.monitoring.prometheus import MonitorCollector

    app.state.telemetry.registry.register(MonitorCollector(context.store))


def _install_scheduler(app: FastAPI, context: Context) -> None:
    from loopml.automation.scheduler import Scheduler

    def start() -> None:
        app.state.scheduler = Scheduler(context).start()

    def stop() -> None:
        app.state.scheduler.stop()

    app.state.startup.append(start)
    app.state.shutdown.append(stop)
