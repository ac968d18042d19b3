"""``POST /v1/models/{name}/predict`` and MLflow's ``/invocations``."""

from __future__ import annotations

from fastapi import APIRouter, Path, Request

from loopml.serving import payloads
from loopml.serving.engine import Answer
from loopml.serving.routes.deps import EngineDep, json_response
from loopml.serving.routes.schemas import (
    INVOCATIONS_BODY,
    PREDICT_BODY,
    InvocationsResponse,
    PredictResponse,
)

router = APIRouter(prefix="/v1", tags=["predictions"])

ModelName = Path(min_length=1, max_length=200, description="Registered model name.")


@router.post(
    "/models/{name}/predict",
    summary="Score rows with the model's champion (segments routed per row)",
    response_model=PredictResponse,
    openapi_extra=PREDICT_BODY,
)
async def predict(request: Request, engine: EngineDep, name: str = ModelName):
    rows = payloads.parse_loopml(payloads.read_json(await request.body()))
    answer = await engine.predict(name, rows)
    return json_response({"model": name, "predictions": _rows(answer)})


@router.post(
    "/models/{name}/invocations",
    summary="Score rows sent in MLflow's scoring-server formats",
    response_model=InvocationsResponse,
    openapi_extra=INVOCATIONS_BODY,
)
async def invocations(request: Request, engine: EngineDep, name: str = ModelName):
    document = payloads.read_json(await request.body())
    names = ()
    if _needs_feature_names(document):
        names = (await engine.areference(name)).checker.feature_names
    answer = await engine.predict(name, payloads.parse_mlflow(document, names))
    return json_response(
        {
            "predictions": answer.predictions,
            "prediction_ids": answer.prediction_ids,
            "versions": answer.versions,
        }
    )


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
        }
        for i in range(len(answer.predictions))
    ]
