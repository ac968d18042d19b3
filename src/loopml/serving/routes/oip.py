"""The Open Inference Protocol v2 (KServe, Triton, Seldon MLServer clients)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from loopml._version import __version__
from loopml.auth.permissions import Permission, requires
from loopml.serving import payloads
from loopml.serving.routes.deps import EngineDep, engine_of, json_response, max_rows, parse

router = APIRouter(prefix="/v2", tags=["open inference protocol v2"])

ModelName = Path(min_length=1, max_length=200, description="Registered model name.")


@router.get("", summary="Server metadata")
@requires(Permission.SCORE)
def server_metadata() -> dict[str, Any]:
    return {"name": "loopml", "version": __version__, "extensions": []}


@router.get("/health/live", summary="The server is alive")
@requires(Permission.PUBLIC)
def live() -> dict[str, bool]:
    return {"live": True}


@router.get("/health/ready", summary="The server has loaded its models")
@requires(Permission.PUBLIC)
def ready(engine: EngineDep) -> dict[str, bool]:
    return {"ready": engine.ready}


@router.get("/models/{name}", summary="Model metadata: versions, inputs and outputs")
@requires(Permission.SCORE)
async def model_metadata(engine: EngineDep, name: str = ModelName) -> dict[str, Any]:
    served = await engine.areference(name)
    signature = served.version.signature
    types = {c.name: c.type for c in signature.inputs} if signature else {}
    return {
        "name": name,
        "versions": sorted({str(s.number) for k, s in engine.pool.items() if k[0] == name}),
        "platform": "onnxruntime_onnx"
        if served.runtime == "onnx"
        else f"loopml-{getattr(served.version, 'flavor', 'model')}",
        "inputs": [
            {"name": column, "datatype": _datatype(types.get(column, "")), "shape": [-1]}
            for column in served.checker.feature_names
        ],
        "outputs": [
            {"name": "predict", "datatype": "FP64", "shape": [-1]},
            {"name": "prediction_id", "datatype": "BYTES", "shape": [-1]},
            {"name": "version", "datatype": "INT64", "shape": [-1]},
        ],
    }


@router.get("/models/{name}/ready", summary="The model has a loaded champion")
@requires(Permission.SCORE)
async def model_ready(engine: EngineDep, name: str = ModelName) -> dict[str, Any]:
    await engine.areference(name)
    return {"name": name, "ready": True}


@requires(Permission.SCORE)
async def infer(request: Request) -> Response:
    """Score input tensors (a plain Starlette route, as the other scoring routes)."""
    engine, name = engine_of(request), request.path_params["name"]
    body = await request.body()
    document = await parse(body, payloads.read_json, body)
    names = ()
    inputs = document.get("inputs")
    if isinstance(inputs, list) and len(inputs) == 1 and isinstance(inputs[0], dict):
        shape = inputs[0].get("shape")
        if isinstance(shape, list) and len(shape) == 2 and shape[1] != 1:
            names = (await engine.areference(name)).checker.feature_names
    rows = await parse(body, payloads.parse_v2, document, names, max_rows(request))
    answer = await engine.predict(name, rows)
    n = len(answer.predictions)
    outputs = [
        _tensor("predict", answer.predictions),
        {"name": "prediction_id", "datatype": "BYTES", "shape": [n], "data": answer.prediction_ids},
        {"name": "version", "datatype": "INT64", "shape": [n], "data": answer.versions},
    ]
    if answer.proba is not None:
        outputs.append({"name": "proba", "datatype": "FP64", "shape": [n], "data": answer.proba})
    body = {
        "model_name": name,
        "model_version": ",".join(str(v) for v in sorted(set(answer.versions))),
        "outputs": outputs,
    }
    if isinstance(document.get("id"), str):
        body["id"] = document["id"]
    return json_response(body)


routes = [Route("/v2/models/{name}/infer", infer, methods=["POST"])]


def _tensor(name: str, values: list[Any]) -> dict[str, Any]:
    if all(isinstance(v, bool) for v in values):
        datatype = "BOOL"
    elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        datatype = "INT64"
    elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        datatype = "FP64"
    else:
        datatype, values = "BYTES", [str(v) for v in values]
    return {"name": name, "datatype": datatype, "shape": [len(values)], "data": values}


_DATATYPES = {"boolean": "BOOL", "integer": "INT64", "float": "FP64"}  # the signature's kinds


def _datatype(kind: str) -> str:
    return _DATATYPES.get(kind, "BYTES")
