"""``POST /v1/models/{name}/predict`` and MLflow's ``/invocations``.

Scoring routes are plain Starlette routes: FastAPI's per-route machinery
(routing layers, dependency solving) costs more than a small model's
prediction. ``schemas.document`` adds them to the OpenAPI description.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loopml.auth.permissions import Permission, requires
from loopml.serving import payloads
from loopml.serving.engine import Answer
from loopml.serving.routes.deps import engine_of, json_response, max_rows, parse


@requires(Permission.SCORE)
async def predict(request: Request) -> Response:
    engine, name = engine_of(request), request.path_params["name"]
    body = await request.body()
    rows = await parse(body, _loopml_rows, body, max_rows(request))
    answer = await engine.predict(name, rows)
    return json_response({"model": name, "predictions": _rows(answer)})


def _loopml_rows(body: bytes, limit: int):
    return payloads.parse_loopml(payloads.read_json(body), limit)


@requires(Permission.SCORE)
async def invocations(request: Request) -> Response:
    engine, name = engine_of(request), request.path_params["name"]
    body = await request.body()
    document = await parse(body, payloads.read_json, body)
    names = ()
    if _needs_feature_names(document):
        names = (await engine.areference(name)).checker.feature_names
    rows = await parse(body, payloads.parse_mlflow, document, names, max_rows(request))
    answer = await engine.predict(name, rows)
    return json_response(
        {
            "predictions": answer.predictions,
            "prediction_ids": answer.prediction_ids,
            "versions": answer.versions,
            "runtimes": answer.runtimes,
        }
    )


routes = [
    Route("/v1/models/{name}/predict", predict, methods=["POST"]),
    Route("/v1/models/{name}/invocations", invocations, methods=["POST"]),
]


def _needs_feature_names(document: dict) -> bool:
    """Unnamed tensors (lists of lists) take the signature's column order."""
    for key in ("inputs", "instances"):
        value = document.get(key)
        if isinstance(value, list) and value and isinstance(value[0], list):
            return True
    return False


def _rows(answer: Answer) -> list[dict]:
    proba = answer.proba or [None] * len(answer.predictions)
    return [
        {
            "prediction_id": answer.prediction_ids[i],
            "prediction": answer.predictions[i],
            "proba": proba[i],
            "version": answer.versions[i],
            "segment": answer.segments[i],
            "role": answer.roles[i],
            "flags": answer.flags[i],
            "runtime": answer.runtimes[i],
        }
        for i in range(len(answer.predictions))
    ]
