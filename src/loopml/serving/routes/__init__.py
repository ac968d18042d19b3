"""Serving over HTTP: the routes, and the engine's start and stop with the app."""

from __future__ import annotations

from fastapi import FastAPI

from loopml._context import Context
from loopml.serving.routes import explain, feedback, forecast, oip, predict, schemas
from loopml.serving.traffic import ServingConfig


def install(app: FastAPI, context: Context, config: ServingConfig | None = None) -> None:
    """Add the serving routes; the engine starts and stops with the app's lifespan."""
    from loopml.serving.metrics import ServingMetrics

    # First in line: every request is matched against the routes in order.
    app.router.routes[:0] = [*predict.routes, *explain.routes, *oip.routes]
    app.state.fast_routes = [*predict.routes, *oip.routes]  # see loopml.serving.routes.fast
    schemas.document(app)
    for router in (feedback.router, forecast.router, oip.router):
        app.include_router(router)
    app.state.serving = app.state.feedback = None
    app.state.serving_metrics = ServingMetrics(app.state.telemetry.registry)
    app.state.startup.append(lambda: start(app, context, config))
    app.state.shutdown.append(lambda: stop(app))
    app.state.readiness["models"] = lambda: _engine_ready(app)


def start(app: FastAPI, context: Context, config: ServingConfig | None) -> None:
    from loopml.serving.engine import ServingEngine
    from loopml.serving.explaining import AttributionSample
    from loopml.serving.feedback import FeedbackReceiver
    from loopml.serving.forecasting import Histories
    from loopml.serving.source import RegistrySource

    settings = context.settings
    config = config or ServingConfig.load(settings.serving_config)
    prediction_log, feedback_log = _open_logs(settings)
    app.state.feedback_log = feedback_log
    engine = app.state.serving = ServingEngine(
        RegistrySource(context.store, context.artifacts, context.settings.trusted_model_types),
        config,
        max_batch_rows=settings.serving_max_batch_rows,
        max_wait=settings.serving_max_wait_ms / 1000,
        poll_interval=settings.serving_poll_interval,
        max_models=settings.serving_max_models,
        prediction_log=prediction_log,
        metrics=app.state.serving_metrics,
        attributions=AttributionSample(
            context.store,
            rate=settings.serving_attribution_rate,
            rows=settings.serving_attribution_rows,
            top=settings.serving_attribution_top,
        ),
    ).start()
    app.state.histories = Histories(settings.project_file)
    app.state.feedback = FeedbackReceiver(
        engine, feedback_log, settings.resolved_artifact_uri, histories=app.state.histories
    )


async def stop(app: FastAPI) -> None:
    engine = getattr(app.state, "serving", None)
    if engine is not None:
        await engine.aclose()
        app.state.serving = None
    feedback_log = getattr(app.state, "feedback_log", None)
    if feedback_log is not None:
        feedback_log.close()
        app.state.feedback_log = app.state.feedback = None


def _open_logs(settings):
    from loopml.predictions.writer import FeedbackLog, PredictionLog

    root, every = settings.resolved_artifact_uri, settings.serving_log_flush_interval
    # The sink hands answers to the log every quarter of its interval: together, `every`.
    predictions = (
        PredictionLog(root, flush_interval=every * 0.8)
        if settings.serving_log_predictions
        else None
    )
    return predictions, FeedbackLog(root, flush_interval=every)


def _engine_ready(app: FastAPI) -> bool:
    engine = getattr(app.state, "serving", None)
    return engine is not None and engine.ready
