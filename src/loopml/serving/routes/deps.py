"""The serving engine of an app, for route functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from loopml.errors import LoopmlError
from loopml.serving.engine import ServingEngine


class ServingNotStarted(LoopmlError):
    status_code = 503


def engine_of(request: Request) -> ServingEngine:
    engine = getattr(request.app.state, "serving", None)
    if engine is None:
        raise ServingNotStarted(
            "Model serving is not running in this server.",
            hint="Start the app with its lifespan (loopml serve, or `with TestClient(app)`).",
        )
    return engine


async def get_engine(request: Request) -> ServingEngine:
    # async: a plain def dependency would run in a thread pool, a hop per request
    return engine_of(request)


EngineDep = Annotated[ServingEngine, Depends(get_engine)]

T = TypeVar("T")

# Parsing a body of this size takes about a millisecond; a larger one is parsed
# on a worker thread so the event loop keeps answering other requests.
OFF_LOOP_BYTES = 256 * 1024


async def parse(body: bytes, work: Callable[..., T], *args: Any) -> T:
    """``work(*args)``, on a worker thread when ``body`` is large."""
    if len(body) < OFF_LOOP_BYTES:
        return work(*args)
    return await run_in_threadpool(work, *args)


def max_rows(request: Request) -> int:
    return request.app.state.context.settings.serving_max_rows


def json_response(content, status_code: int = 200) -> Response:
    """orjson is several times faster than the stdlib for answers of many rows."""
    return Response(
        orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status_code,
        media_type="application/json",
    )
