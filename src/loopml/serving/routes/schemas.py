"""OpenAPI descriptions of the serving payloads.

The predict routes read their bodies themselves (one orjson parse, no per-row
model objects: this is the hot path), so their request schemas are declared
here as JSON Schema rather than inferred from a pydantic parameter.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

_VALUE: dict[str, Any] = {"type": ["string", "number", "integer", "boolean", "null"]}
_RECORD = {"type": "object", "additionalProperties": _VALUE}
_RECORDS = {"type": "array", "items": _RECORD, "minItems": 1}
_COLUMNS = {"type": "array", "items": {"type": "string"}}
_DATA = {"type": "array", "items": {"type": "array", "items": _VALUE}, "minItems": 1}


def _body(schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema, "example": example}},
        }
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


class InvocationsResponse(BaseModel):
    predictions: list[Any]
    prediction_ids: list[str]
    versions: list[int]


class FeedbackItem(BaseModel):
    prediction_id: str = Field(min_length=1, max_length=200)
    label: float | bool = Field(description="The ground truth, as a number (classes as 0/1).")
    time: str | None = Field(None, description="When the truth was known (ISO 8601); default now.")


class FeedbackRequest(BaseModel):
    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100_000)


class FeedbackAccepted(BaseModel):
    accepted: int
