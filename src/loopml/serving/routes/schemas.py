"""OpenAPI descriptions of the serving payloads.

The scoring routes read their bodies themselves (one orjson parse, no per-row
model objects: this is the hot path) and are plain Starlette routes, which
FastAPI does not describe; ``document`` adds them to the app's OpenAPI schema
from the JSON Schemas and response models declared here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import AliasChoices, BaseModel, Field

if TYPE_CHECKING:
    from fastapi import FastAPI

_VALUE: dict[str, Any] = {"type": ["string", "number", "integer", "boolean", "null"]}
_RECORD = {"type": "object", "additionalProperties": _VALUE}
_RECORDS = {"type": "array", "items": _RECORD, "minItems": 1}
_COLUMNS = {"type": "array", "items": {"type": "string"}}
_DATA = {"type": "array", "items": {"type": "array", "items": _VALUE}, "minItems": 1}


def _body(schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": schema, "example": example}},
    }


PREDICT_BODY = _body(
    {
        "oneOf": [
            {
                "type": "object",
                "properties": {"records": _RECORDS},
                "required": ["records"],
            },
            {
                "type": "object",
                "properties": {"columns": _COLUMNS, "data": _DATA},
                "required": ["columns", "data"],
            },
        ]
    },
    {"records": [{"store": 12, "price": 9.5, "promo": True}]},
)

INVOCATIONS_BODY = _body(
    {
        "type": "object",
        "properties": {
            "dataframe_split": {
                "type": "object",
                "properties": {"columns": _COLUMNS, "data": _DATA},
                "required": ["columns", "data"],
            },
            "dataframe_records": _RECORDS,
            "inputs": {"oneOf": [_RECORDS, _DATA, {"type": "object"}]},
            "instances": {"oneOf": [_RECORDS, _DATA]},
        },
    },
    {"dataframe_split": {"columns": ["store", "price"], "data": [[12, 9.5]]}},
)

V2_INFER_BODY = _body(
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "inputs": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                        "datatype": {"type": "string"},
                        "data": {"type": "array"},
                    },
                    "required": ["name", "shape", "datatype", "data"],
                },
            },
            "parameters": {"type": "object"},
        },
        "required": ["inputs"],
    },
    {"inputs": [{"name": "price", "shape": [1], "datatype": "FP64", "data": [9.5]}]},
)


class RowPrediction(BaseModel):
    prediction_id: str = Field(description="Quote it in POST /v1/feedback to attach the label.")
    prediction: Any
    proba: float | None = Field(
        None, description="Positive-class probability (binary classifiers)."
    )
    version: int = Field(description="Model version that answered this row.")
    segment: str = Field(description='Segment key that answered, "" for an unsegmented model.')
    role: str = Field(description="champion, challenger (canary) or fallback.")
    flags: list[str] = Field(description="Rules of the training data this row breaks.")


class PredictResponse(BaseModel):
    model: str
    predictions: list[RowPrediction]


class RowExplanation(BaseModel):
    version: int = Field(description="Model version whose output is explained.")
    segment: str = Field(description='Segment key of that version, "" for an unsegmented model.')
    base_value: float = Field(description="The output with no feature known (the average).")
    contributions: dict[str, float] = Field(description="Each input's share of the output.")
    output: float = Field(description="base_value plus the contributions: the model's output.")
    explains: str = Field(description="Which output: prediction, log-odds of a class, ...")
    method: str = Field(description="How it was computed, with sample sizes when sampled.")
    class_: Any = Field(None, alias="class", description="The class explained (multiclass).")


class ExplainResponse(BaseModel):
    model: str
    explanations: list[RowExplanation]


class InvocationsResponse(BaseModel):
    predictions: list[Any]
    prediction_ids: list[str]
    versions: list[int]


class FeedbackItem(BaseModel):
    prediction_id: str = Field(min_length=1, max_length=200)
    label: float | bool | str = Field(
        description="The ground truth: a number for a regression, one of the model's classes "
        'for a classifier, as the model names it ("Yes").'
    )
    event_time: str | None = Field(
        None,
        validation_alias=AliasChoices("event_time", "time"),
        description="When the truth was known (ISO 8601 with a time zone; `time` is its older "
        "name); default the server's clock. Windows and monitors go by it.",
    )
    attributes: dict[str, str | float | bool | None] | None = Field(
        None,
        max_length=50,
        description="Attributes known only with the label (a sensitive attribute such as "
        '{"sex": "f"}), for fairness monitors.',
    )


class FeedbackRequest(BaseModel):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100_000)


class FeedbackReceipt(BaseModel):
    accepted: int = Field(description="Labels matched to a logged prediction and kept.")
    unknown: int = Field(
        description="Prediction ids in no prediction log; their labels are not kept."
    )
    unknown_ids: list[str] = Field(description="Up to ten of the unknown ids.")


FEEDBACK_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"$ref": "#/components/schemas/FeedbackRequest"},
            "example": {
                "feedback": [{"prediction_id": "0192f3a7c1d24e0b9a7f5c3e8d6b4a21", "label": 1}]
            },
        }
    },
}


class Tensor(BaseModel):
    name: str
    datatype: str = Field(description="BOOL, INT64, FP64 or BYTES.")
    shape: list[int]
    data: list[Any]


class InferResponse(BaseModel):
    model_name: str
    model_version: str = Field(description="The versions that answered, comma-separated.")
    id: str | None = Field(None, description="The request's id, when it sent one.")
    outputs: list[Tensor] = Field(description="predict, prediction_id, version and proba.")


_MODEL_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": "Registered model name.",
}
_ERROR = {
    "description": "The request is wrong (4xx) or the model is not served (404); see error.hint.",
    "content": {"application/json": {"schema": {"type": "object", "required": ["error"]}}},
}

SCORING = {
    # path: (tag, operation id, summary, request body, response model)
    "/v1/models/{name}/predict": (
        "predictions",
        "predict",
        "Score rows with the model's champion (segments routed per row)",
        PREDICT_BODY,
        PredictResponse,
    ),
    "/v1/models/{name}/explain": (
        "predictions",
        "explain",
        "Explain rows: base value and each input's contribution",
        PREDICT_BODY,
        ExplainResponse,
    ),
    "/v1/models/{name}/invocations": (
        "predictions",
        "invocations",
        "Score rows sent in MLflow's scoring-server formats",
        INVOCATIONS_BODY,
        InvocationsResponse,
    ),
    "/v2/models/{name}/infer": (
        "open inference protocol v2",
        "infer",
        "Score input tensors",
        V2_INFER_BODY,
        InferResponse,
    ),
}


def document(app: FastAPI) -> None:
    """Describe the scoring routes in ``app``'s OpenAPI schema (built once, on first use)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for path, operation in SCORING.items():
                schema["paths"][path] = {"post": _operation(*operation, components)}
            _add_component(FeedbackRequest, components)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_component(model: type[BaseModel], components: dict) -> None:
    answer = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(answer.pop("$defs", {}))
    components[model.__name__] = answer


def _operation(tag, operation_id, summary, body, response: type[BaseModel], components) -> dict:
    _add_component(response, components)
    return {
        "tags": [tag],
        "summary": summary,
        "operationId": operation_id,
        "parameters": [_MODEL_NAME],
        "requestBody": body,
        "responses": {
            "200": {
                "description": "One answer per row.",
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{response.__name__}"}
                    }
                },
            },
            "4XX": _ERROR,
        },
    }
