"""Authentication for every route, in one place: an ASGI middleware.

For each request it finds the route the app will run, reads the permission the
route declares (``loopml.auth.permissions``), identifies the caller from
``Authorization: Bearer <token>`` or HTTP Basic (``user:password``, or any
user name with a token as the password, as MLflow's client sends), and answers
401 or 403 before the route runs. The caller's principal is left on
``request.state.principal`` for the audit log. Without ``required`` (a loopback
server started without ``--auth``) nothing is refused, but credentials that are
given are still checked and name the actor.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from urllib.parse import urlencode

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.requests import Request, cookie_parser
from starlette.responses import RedirectResponse, Response
from starlette.routing import Router
from starlette.types import ASGIApp, Receive, Scope, Send

from loopml import audit
from loopml.api.errors import error_response, snake
from loopml.api.routes import Endpoint, endpoints
from loopml.auth import tokens, users
from loopml.auth.hashing import TOKEN_PREFIX
from loopml.auth.permissions import SAFE_METHODS, Permission
from loopml.auth.principal import ANONYMOUS, Principal
from loopml.auth.throttle import SignInThrottle
from loopml.errors import Forbidden, LoopmlError, TooManyRequests, Unauthorized
from loopml.store import Store

log = logging.getLogger("loopml.server")
CHALLENGE = 'Bearer realm="loopml", Basic realm="loopml"'
# The web UI's sign-in: the cookie holds a short-lived personal token (loopml.ui.sessions),
# honoured only under UI_PREFIX, whose forms all carry a CSRF token.
SESSION_COOKIE = "loopml_session"
UI_PREFIX = "/ui"


class Authenticator:
    """Credentials -> principal, with a short cache so a client sending the same header
    on every request costs one store lookup (and one Argon2 check) per ``ttl`` seconds;
    a revoked token or disabled user stops working within ``ttl``.

    A user's name and password sent with HTTP Basic count against ``throttle``, the one
    the UI's sign-in uses: failures per name and per address, and while either is held
    back the password is not even checked (TooManyRequests, with when to try again). A
    live token sent as the password (MLflow's client does) is never held back: it cannot
    be guessed, and someone else's failures must not lock its client out."""

    def __init__(
        self,
        store: Store,
        *,
        ttl: float = 5.0,
        size: int = 1024,
        throttle: SignInThrottle | None = None,
    ) -> None:
        self.store, self.ttl, self.size = store, ttl, size
        self.throttle = SignInThrottle() if throttle is None else throttle  # empty is falsy
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._pending: dict[str, asyncio.Future] = {}

    async def principal(self, authorization: str, address: str = "unknown") -> Principal:
        basic = _basic_credentials(authorization)
        if basic is None:
            found = await self._lookup(authorization)
        else:
            found = await self._basic(*basic, authorization, address)
        if found is None:
            raise Unauthorized(
                "The credentials were not accepted (unknown, expired or revoked).",
                hint="Send a live token (loopml tokens create) as a Bearer token or as the "
                "password of HTTP Basic, or a user's name and password.",
            )
        return found

    async def _basic(
        self, name: str, password: str, authorization: str, address: str
    ) -> Principal | None:
        if password.startswith(TOKEN_PREFIX):
            found = await self._lookup(f"Bearer {password}")
            if found is not None:
                return found
        # Held back before the cache too: a cached answer must not tell a guesser who is
        # held back that a guess was right.
        held = self.throttle.check(name, address)
        if held is not None:
            raise TooManyRequests(
                f"Too many failed sign-ins ({held.reason}): try again in {held.retry_after} s.",
                retry_after=held.retry_after,
                hint="Check the user name and password (or send a token), and wait; "
                "an admin can reset a forgotten password.",
            )
        found = await self._lookup(authorization)
        if found is None:
            self.throttle.failed(name, address)
        else:
            self.throttle.succeeded(name)
        return found

    async def _lookup(self, authorization: str) -> Principal | None:
        key = hashlib.sha256(authorization.encode()).hexdigest()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        found = await self._checked_once(key, authorization)
        if found is not None:
            self._remember(key, found)
        return found

    async def _checked_once(self, key: str, authorization: str) -> Principal | None:
        """One check per credential at a time: when its cache entry expires, the clients
        sending it wait for one store lookup (or Argon2 check) instead of starting one each."""
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(anyio.to_thread.run_sync(self._check, authorization))
            self._pending[key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(key, None))
        return await asyncio.shield(pending)

    def _check(self, authorization: str) -> Principal | None:
        scheme, _, value = authorization.strip().partition(" ")
        scheme, value = scheme.lower(), value.strip()
        if scheme == "bearer":
            return tokens.check_token(self.store, value)
        if scheme == "basic":  # a token as the password was tried as a Bearer token
            name, password = _basic(value)
            return users.check_password(self.store, name, password)
        return None

    def forget(self, authorization: str) -> None:
        """Drop a credential from the cache at once (a session signed out)."""
        self._cache.pop(hashlib.sha256(authorization.encode()).hexdigest(), None)

    def _remember(self, key: str, principal: Principal) -> None:
        self._cache[key] = (time.monotonic() + self.ttl, principal)
        self._cache.move_to_end(key)
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)


class AuthMiddleware:
    """``refusals``: path prefix -> the answer to a refused request under it, for the routes
    that speak another API's error format (MLflow's); loopml's own body elsewhere."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        router: Router,
        authenticator: Authenticator,
        required: bool,
        refusals: Mapping[str, Callable[[LoopmlError], Response]] | None = None,
    ) -> None:
        self.app, self.router = app, router
        self.authenticator, self.required = authenticator, required
        self.refusals = dict(refusals or {})
        self._table: tuple[tuple[int, ...], list[Endpoint]] = ((), [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        permission, model = self._permission(scope)
        try:
            principal = await self._identify(scope, permission)
            if self.required and not principal.can(permission, model):
                await self._audit_refusal(scope, principal, permission)
                raise _forbidden(principal, permission, model)
        except LoopmlError as error:  # 401, 403, 429 (throttled), or 503 when the store is down
            if isinstance(error, Unauthorized) and _in_ui(scope) and _wants_html(scope):
                await _to_sign_in(scope, receive, send)
                return
            await self._refuse(scope, receive, send, error)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    def _permission(self, scope: Scope) -> tuple[Permission, str | None]:
        """What the matched route needs; a path no route matches needs READ (so an
        anonymous caller learns nothing), an undeclared write needs ADMIN."""
        path, method = _route_path(scope), scope.get("method", "GET")
        for endpoint in self._endpoints():
            params = endpoint.match(path, method)
            if params is not None:
                model = params.get("name") if "/models/{name}" in endpoint.path else None
                return endpoint.needs(method) or Permission.ADMIN, model
        return Permission.READ, None

    def _endpoints(self) -> list[Endpoint]:
        """The flat route table, rebuilt when the app's routes change (routers included
        after the app was built count too)."""
        key = tuple(map(id, self.router.routes))
        if key != self._table[0]:
            self._table = (key, endpoints(self.router.routes))
            for endpoint in self._table[1]:
                for method in sorted(endpoint.methods or ()):
                    if endpoint.needs(method) is None:
                        log.warning(
                            "%s %s declares no permission: admins only", method, endpoint.path
                        )
        return self._table[1]

    async def _audit_refusal(self, scope: Scope, principal: Principal, permission) -> None:
        """A refused write is kept in the audit log with who tried it (reads are not)."""
        method = scope.get("method", "GET")
        if method in SAFE_METHODS:
            return

        def record() -> None:
            with self.authenticator.store.write() as session:
                audit.record(
                    session,
                    actor=principal.name,
                    action="access.refuse",
                    entity_type="route",
                    entity_id=f"{method} {_route_path(scope)}",
                    reason=f"{principal.role.value} lacks the {permission.value!r} permission",
                )

        await anyio.to_thread.run_sync(record)

    async def _identify(self, scope: Scope, permission: Permission) -> Principal:
        headers = Headers(scope=scope)
        authorization = headers.get("authorization")
        if authorization:
            return await self.authenticator.principal(authorization, _address(scope))
        session = _session(scope, headers)
        if session:
            try:
                return await self.authenticator.principal(session)
            except Unauthorized:  # an ended session counts as none: sign in again
                pass
        if self.required and permission is not Permission.PUBLIC:
            raise Unauthorized(
                "This server requires authentication.",
                hint="Send Authorization: Bearer <token> (create one with `loopml tokens "
                "create`), or HTTP Basic with a user's name and password.",
            )
        return ANONYMOUS

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, error: LoopmlError) -> None:
        if scope["type"] == "websocket":  # closing before accepting refuses the handshake
            await send({"type": "websocket.close", "code": 1008, "reason": error.message})
            return
        path = _route_path(scope)
        shape = next((f for p, f in self.refusals.items() if path.startswith(p)), None)
        if shape is not None:
            response = shape(error)
        else:
            response = error_response(
                Request(scope, receive),
                error.status_code,
                error.message,
                hint=error.hint,
                error_type=snake(type(error).__name__),
            )
        if isinstance(error, Unauthorized):
            response.headers["WWW-Authenticate"] = CHALLENGE
        if isinstance(error, TooManyRequests):
            response.headers["Retry-After"] = str(error.retry_after)
        await response(scope, receive, send)


def auth_required(host: str, asked: bool) -> bool:
    """Authentication is on when asked for, and always off loopback (fail closed:
    a host name other than localhost counts as off loopback)."""
    return asked or not is_loopback(host)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _forbidden(principal: Principal, permission: Permission, model: str | None) -> Forbidden:
    if model is not None and not principal.may_touch(model):
        return Forbidden(
            f"{principal.name} may not act on model {model!r}.",
            hint=f"Its models: {', '.join(principal.models or ())}. Ask an admin to widen them.",
        )
    return Forbidden(
        f"{principal.name} ({principal.role.value}) may not do this: it needs the "
        f"{permission.value!r} permission.",
        hint="Ask an admin for a role that has it (see docs/security.md).",
    )


def _in_ui(scope: Scope) -> bool:
    path = _route_path(scope)
    return scope["type"] == "http" and (
        path in ("/", UI_PREFIX) or path.startswith(UI_PREFIX + "/")
    )


def _wants_html(scope: Scope) -> bool:
    """A browser, which gets the sign-in page instead of a 401 (scripts get the 401)."""
    return "text/html" in Headers(scope=scope).get("accept", "")


def _session(scope: Scope, headers: Headers) -> str | None:
    """The UI's session cookie as a Bearer credential, on UI paths only."""
    if not _in_ui(scope):
        return None
    secret = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)
    return f"Bearer {secret}" if secret else None


async def _to_sign_in(scope: Scope, receive: Receive, send: Send) -> None:
    """A person without a (live) session is sent to the sign-in page, then back."""
    request = Request(scope, receive)
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method not in SAFE_METHODS:
        back = UI_PREFIX + "/"
    target = f"{request.scope.get('root_path', '')}{UI_PREFIX}/login?{urlencode({'next': back})}"
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=UI_PREFIX)
    await response(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path routes are matched against: without the app's root path, if any."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def _basic_credentials(authorization: str) -> tuple[str, str] | None:
    """The name and password of an HTTP Basic header, or None for another scheme."""
    scheme, _, value = authorization.strip().partition(" ")
    return _basic(value.strip()) if scheme.lower() == "basic" else None


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    name, _, password = decoded.partition(":")
    return name, password
