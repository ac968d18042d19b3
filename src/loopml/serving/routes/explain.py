"""``POST /v1/models/{name}/explain``: why the model answers each row as it does.

The rows are routed to their segment's champion, as ``/predict`` routes them, and
explained on a scoring thread (an explanation costs about a prediction for boosted
trees, more for sampled explainers; the event loop stays free).
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loopml.auth.permissions import Permission, requires
from loopml.serving import payloads
from loopml.serving.explaining import explain_routed
from loopml.serving.routes.deps import engine_of, json_response


@requires(Permission.SCORE)  # an explanation is a kind of answer to a scoring client
async def explain(request: Request) -> Response:
    engine, name = engine_of(request), request.path_params["name"]
    rows = payloads.parse_loopml(payloads.read_json(await request.body()))
    deployment = engine.config.for_model(name)
    loop = asyncio.get_running_loop()
    answers = await loop.run_in_executor(
        engine.executor, explain_routed, engine.pool, name, deployment, rows
    )
    return json_response({"model": name, "explanations": answers})


routes = [Route("/v1/models/{name}/explain", explain, methods=["POST"])]
