"""One JSON error body for the whole server, produced here and nowhere else::

    {"error": {"type": "not_found", "message": "...", "hint": "...",
               "fields": [{"field": "body.records.0.price", "problem": "..."}],
               "request_id": "..."}}

A client's mistake is always a 4xx naming what is wrong; a 5xx means loopml
or its store failed, never the request.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from loopml.errors import LoopmlError

log = logging.getLogger("loopml.server")

_HTTP_TYPES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    500: "internal_error",
    501: "not_implemented",
    503: "unavailable",
}


def error_response(
    request: Request,
    status: int,
    message: str,
    *,
    hint: str | None = None,
    fields: list[dict[str, str]] | None = None,
    error_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": error_type or _HTTP_TYPES.get(status, "error"),
        "message": message,
        "request_id": getattr(request.state, "request_id", None),
    }
    if hint:
        body["hint"] = hint
    if fields:
        body["fields"] = fields
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


async def _loopml_error(request: Request, error: LoopmlError) -> JSONResponse:
    if error.status_code >= 500:
        log.error("request %s failed: %s", getattr(request.state, "request_id", "?"), error)
    return error_response(
        request,
        error.status_code,
        error.message,
        hint=error.hint,
        error_type=snake(type(error).__name__),
        fields=getattr(error, "fields", None),
    )


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    fields = [
        {
            "field": ".".join(str(part) for part in item.get("loc", ())),
            "problem": item.get("msg", ""),
        }
        for item in error.errors()
    ]
    malformed = any(item.get("type") == "json_invalid" for item in error.errors())
    if malformed:
        return error_response(
            request,
            400,
            "The request body is not valid JSON.",
            hint="Send a JSON document with Content-Type: application/json.",
            fields=fields,
            error_type="malformed_json",
        )
    first = fields[0] if fields else {"field": "request", "problem": "invalid"}
    return error_response(
        request,
        422,
        f"{first['field']}: {first['problem']}",
        hint="Fix the fields listed in 'fields' and send the request again.",
        fields=fields,
    )


async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    message = error.detail if isinstance(error.detail, str) else "Request failed."
    if error.status_code == 404 and message == "Not Found":
        message = f"No endpoint at {request.method} {request.url.path}."
        hint = "See /docs for the API's endpoints."
    elif error.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}."
        hint = "See /docs for the methods each endpoint takes."
    else:
        hint = getattr(error, "hint", None)  # the body limits of api.middleware carry one
    return error_response(
        request,
        error.status_code,
        message,
        hint=hint,
        headers=error.headers,
        error_type=getattr(error, "error_type", None),
    )


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("request %s failed", getattr(request.state, "request_id", "?"))
    return error_response(
        request,
        500,
        f"The server failed on this request ({type(error).__name__}).",
        hint="This is a loopml bug or an outage of its store; the server log has the details "
        "under this request_id.",
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(LoopmlError, _loopml_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
