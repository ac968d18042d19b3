"""MLflow's wire conventions: its error body, its status codes, its time unit.

MLflow's client decides what to do from ``error_code`` (``get_experiment_by_name``
treats ``RESOURCE_DOES_NOT_EXIST`` as "create it", ``create_registered_model``
treats ``RESOURCE_ALREADY_EXISTS`` as "already there"), so every route under
``/api/2.0/mlflow`` answers errors as MLflow does, never with loopml's own body.
The route class below does the translation for a whole router.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from loopml.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    LoopmlError,
    NotFound,
    TooManyRequests,
    Unauthorized,
)

# The HTTP status MLflow's server gives each error code (mlflow.exceptions).
STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "BAD_REQUEST": 400,
    "INVALID_STATE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "NOT_IMPLEMENTED": 501,
    "TEMPORARILY_UNAVAILABLE": 503,
    "INTERNAL_ERROR": 500,
}


class MlflowError(LoopmlError):
    """An error with MLflow's code, for the cases loopml's own errors do not name."""

    def __init__(self, code: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.status_code = STATUS[code]


class AlreadyExists(MlflowError):
    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__("RESOURCE_ALREADY_EXISTS", message, hint=hint)


def not_implemented(what: str, instead: str) -> MlflowError:
    return MlflowError(
        "NOT_IMPLEMENTED", f"loopml does not implement MLflow's {what}.", hint=f"Use {instead}."
    )


def error_code(error: LoopmlError) -> str:
    if isinstance(error, MlflowError):
        return error.code
    if isinstance(error, NotFound):
        return "RESOURCE_DOES_NOT_EXIST"
    if isinstance(error, Unauthorized):
        return "UNAUTHENTICATED"
    if isinstance(error, Forbidden):
        return "PERMISSION_DENIED"
    if isinstance(error, (InvalidInput, Conflict)):  # MLflow: a changed param is a bad value
        return "INVALID_PARAMETER_VALUE"
    if isinstance(error, TooManyRequests):
        return "REQUEST_LIMIT_EXCEEDED"
    return "TEMPORARILY_UNAVAILABLE" if error.status_code == 503 else "INTERNAL_ERROR"


def fast_json(content: Any) -> Response:
    """JSON by orjson, without FastAPI's per-value encoder pass: a page of 10,000 runs is
    mostly that pass otherwise. Content is plain dicts, lists, strings and numbers."""
    return Response(orjson.dumps(content), media_type="application/json")


def error_response(code: str, message: str) -> JSONResponse:
    return JSONResponse({"error_code": code, "message": message}, status_code=STATUS[code])


def refusal(error: LoopmlError) -> JSONResponse:
    """A request the server's sign-in check refused, in MLflow's shape: its client reads
    any other body as an INTERNAL_ERROR."""
    return error_response(error_code(error), str(error))


class MlflowRoute(APIRoute):
    """A route whose errors leave in MLflow's shape: ``{"error_code", "message"}``."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except LoopmlError as error:
                return error_response(error_code(error), str(error))
            except RequestValidationError as error:
                return error_response("INVALID_PARAMETER_VALUE", _validation_message(error))

        return route


def _validation_message(error: RequestValidationError) -> str:
    problems = [
        f"{'.'.join(str(p) for p in item.get('loc', ())[1:]) or 'body'}: {item.get('msg', '')}"
        for item in error.errors()
    ]
    return "Invalid request: " + "; ".join(problems[:5])


# times: MLflow counts milliseconds since the epoch


def millis(moment: datetime | None) -> int | None:
    return None if moment is None else round(moment.timestamp() * 1000)


def from_millis(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, tz=timezone.utc)


def key_values(mapping: dict[str, Any]) -> list[dict[str, Any]]:
    """MLflow sends params and tags as lists of ``{"key", "value"}``."""
    return [{"key": key, "value": value} for key, value in mapping.items()]
