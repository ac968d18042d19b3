"""The serving engine of an app, for route functions."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import Depends, Request, Response

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


def json_response(content, status_code: int = 200) -> Response:
    """orjson is several times faster than the stdlib for answers of many rows."""
    return Response(
        orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status_code,
        media_type="application/json",
    )
