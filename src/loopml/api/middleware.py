"""Plain ASGI middleware (no per-request task switching): request ids, access
logs as JSON lines, request counters and latency, and a cap on body size."""

from __future__ import annotations

import json
import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loopml.api.telemetry import Telemetry

access_log = logging.getLogger("loopml.access")


def _too_large_body(request_id: str) -> bytes:
    error = {
        "type": "payload_too_large",
        "message": "The request body is larger than this server accepts.",
        "hint": "Send fewer rows per request, or score large tables with `loopml predict`.",
        "request_id": request_id,
    }
    return json.dumps({"error": error}).encode()


class _BodyTooLarge(Exception):
    pass


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, telemetry: Telemetry, max_body_bytes: int) -> None:
        self.app = app
        self.telemetry = telemetry
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _reject_too_large(send, request_id)
            self._record(scope, 413, started, request_id)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                raise _BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            status = 413
            await _reject_too_large(send, request_id)
        finally:
            self._record(scope, status, started, request_id)

    def _record(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        seconds = time.perf_counter() - started
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        self.telemetry.observe_request(scope["method"], path, status, seconds)
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(
                json.dumps(
                    {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round(seconds * 1000, 3),
                    }
                )
            )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


async def _reject_too_large(send: Send, request_id: str) -> None:
    body = _too_large_body(request_id)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
