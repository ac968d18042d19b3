"""The scoring routes' short way through the app.

Every request normally crosses FastAPI's whole stack before its route runs:
the error middlewares, the request and sign-in middlewares, the exception
middleware, the router's match. For a small model that costs more than the
prediction. ``FastScoring``, in front of it all (``loopml.server``), sends ``POST`` to a scoring
route (``/v1/models/{name}/predict``, ``…/invocations``, ``/v2/models/{name}/infer``)
straight to that route's own endpoint function, through the same
``RequestMiddleware`` (request id, body limits, access log, request metrics)
and the app's own error handlers. The endpoint, the engine, its checks and its
prediction log are those of the normal way: only the hops in between are left out.

It applies only when sign-in is off and the request carries no credentials (the
sign-in middleware would let such a request through as anonymous, unchecked).
A server that requires sign-in (always the case off loopback) never takes it:
everything there goes the normal way, through the sign-in check.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from loopml.auth.principal import ANONYMOUS

Handler = Callable[[Request, Exception], Any]
UNANSWERED = "loopml.unanswered"  # in the scope: the endpoint failed with no handler of its own


class FastScoring:
    """``routes``: the scoring routes to take the short way to; ``wrap`` puts the
    request middleware around an ASGI app; ``handlers``: the app's exception
    handlers (exception class -> handler)."""

    def __init__(
        self,
        *,
        routes: Sequence[Route],
        wrap: Callable[[ASGIApp], ASGIApp],
        handlers: Mapping[Any, Handler],
    ) -> None:
        self.routes = {_key(route.path): route for route in routes if "POST" in route.methods}
        # Split as Starlette splits them: the catch-all answers outside the request
        # middleware (so that a client's hang-up is no server error), the others inside.
        self.handlers = {k: h for k, h in handlers.items() if k not in (500, Exception)}
        self.catch_all = handlers.get(Exception) or handlers.get(500)
        self.scoring = wrap(self._score)

    def match(self, scope: Scope) -> tuple[Route, str] | None:
        """The scoring route of a request the short way may serve and the model's
        name, else None (the request goes the normal way)."""
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
            return None
        parts = scope["path"].split("/")
        if len(parts) != 5 or parts[0] or parts[2] != "models" or not parts[3]:
            return None
        route = self.routes.get((parts[1], parts[4]))
        if route is None:
            return None
        for name, _ in scope["headers"]:
            if name == b"authorization":  # credentials are checked the normal way
                return None
        return route, parts[3]

    async def serve(
        self, matched: tuple[Route, str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        route, name = matched
        scope["route"], scope["endpoint"], scope["path_params"] = (
            route,
            route.endpoint,
            {"name": name},
        )
        scope.setdefault("state", {})["principal"] = ANONYMOUS
        try:
            await self.scoring(scope, receive, send)
        except Exception as error:  # as Starlette's ServerErrorMiddleware does
            if scope.get(UNANSWERED) and self.catch_all is not None:
                response = await _answer(self.catch_all, Request(scope, receive, send), error)
                await response(scope, receive, send)
            raise

    async def _score(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        try:
            response = await scope["endpoint"](request)
        except Exception as error:
            handler = next(filter(None, map(self.handlers.get, type(error).__mro__)), None)
            if handler is None:
                scope[UNANSWERED] = True
                raise
            response = await _answer(handler, request, error)
        await response(scope, receive, send)


async def _answer(handler: Handler, request: Request, error: Exception):
    response = handler(request, error)
    return await response if inspect.isawaitable(response) else response


def _key(path: str) -> tuple[str, str]:
    """``/v1/models/{name}/predict`` -> ("v1", "predict")."""
    parts = path.split("/")
    if len(parts) != 5 or parts[2:4] != ["models", "{name}"]:
        raise ValueError(f"{path} is not a scoring route of the form /vN/models/{{name}}/verb")
    return parts[1], parts[4]
