"""Plain ASGI middleware (no per-request task switching): request ids, access
logs as JSON lines, request counters and latency, and the limits of a body.

A body is checked as it arrives, chunk by chunk: its size, its number of JSON
values (a bound counted on the bytes, so five million tiny rows are refused
after the first few megabytes instead of being parsed) and how long it takes.
A client that hangs up is counted as 499, not as a server error.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import time
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from loopml.api.telemetry import Telemetry

access_log = logging.getLogger("loopml.access")


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CLIENT_CLOSED = 499  # nginx's code for "the client went away before the answer"


class _RequestIds:
    """Ids of 32 hex digits, as a UUID's: a random prefix per process, then a count
    (unique without asking the system for random bytes on every request; a request
    id is no secret). A forked process draws a prefix of its own."""

    def __init__(self) -> None:
        self.renew()
        os.register_at_fork(after_in_child=self.renew)

    def renew(self) -> None:
        self.prefix, self.count = os.urandom(10).hex(), itertools.count()

    def new(self) -> str:
        return f"{self.prefix}{next(self.count):012x}"  # next() on a count is atomic


_request_ids = _RequestIds()


class _Refused(HTTPException):
    """The body breaks a limit: answer ``status`` and close (the rest is not read).

    An ``HTTPException``, so that FastAPI's body reading passes it on untouched
    and the app's one error handler writes the answer."""

    def __init__(self, status: int, error_type: str, message: str, hint: str) -> None:
        super().__init__(status, message, headers={"connection": "close"})
        self.status, self.error_type, self.message, self.hint = status, error_type, message, hint


@dataclass(frozen=True)
class BodyLimits:
    max_bytes: int
    max_values: int
    timeout: float


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, telemetry: Telemetry, limits: BodyLimits) -> None:
        self.app = app
        self.telemetry = telemetry
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or _request_ids.new()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.limits.max_bytes:
            await _refuse(send, request_id, self._too_large())
            self._record(scope, 413, started, request_id)
            return

        answered = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                answered = True
            await send(message)

        gone = asyncio.Event()
        try:
            await self.app(scope, self._guarded(receive, gone), send_with_id)
        except Exception:
            if not gone.is_set():
                raise
        finally:
            hung_up = gone.is_set() and not answered
            self._record(scope, CLIENT_CLOSED if hung_up else status, started, request_id)

    def _guarded(self, receive: Receive, gone: asyncio.Event) -> Receive:
        """``receive`` with the body's limits checked chunk by chunk, as it arrives;
        sets ``gone`` when the client hangs up (what the app raises then is no error)."""
        limits = self.limits
        received = values = 0
        deadline: float | None = None

        async def guarded() -> Message:
            nonlocal received, values, deadline
            deadline = deadline or asyncio.get_running_loop().time() + limits.timeout
            try:
                async with asyncio.timeout_at(deadline):  # a timer, not a task per chunk
                    message = await receive()
            except TimeoutError:
                raise self._too_slow() from None
            if message["type"] == "http.disconnect":
                gone.set()
                return message
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limits.max_bytes:
                raise self._too_large()
            # A JSON value is the first in its list or object or follows a comma:
            # an upper bound of the values, known before any parsing.
            values += chunk.count(b",") + chunk.count(b"[") + chunk.count(b"{")
            if values > limits.max_values:
                raise self._too_many_values()
            return message

        return guarded

    def _too_large(self) -> _Refused:
        return _Refused(
            413,
            "payload_too_large",
            f"The request body is larger than this server accepts ({self.limits.max_bytes} bytes).",
            "Send fewer rows per request, or score large tables with `loopml predict`.",
        )

    def _too_many_values(self) -> _Refused:
        return _Refused(
            413,
            "payload_too_large",
            f"The request body holds more than {self.limits.max_values} JSON values.",
            "Send fewer rows per request (or raise LOOPML_SERVING_MAX_VALUES), or score large "
            "tables with `loopml predict`.",
        )

    def _too_slow(self) -> _Refused:
        return _Refused(
            408,
            "request_timeout",
            f"The request body did not arrive within {self.limits.timeout:g} seconds.",
            "Send the body at once, or raise LOOPML_SERVER_BODY_TIMEOUT.",
        )

    def _record(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        seconds = time.perf_counter() - started
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        self.telemetry.observe_request(method, path, status, seconds)
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


async def _refuse(send: Send, request_id: str, refusal: _Refused) -> None:
    error = {
        "type": refusal.error_type,
        "message": refusal.message,
        "hint": refusal.hint,
        "request_id": request_id,
    }
    body = json.dumps({"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": refusal.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
                (b"connection", b"close"),  # the rest of the body is not read
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
