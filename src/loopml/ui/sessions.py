"""Sign-in for the web UI: a session is a short-lived personal token in a cookie.

Signing in checks the password (Argon2id, ``loopml.auth.users``) and creates a
personal token of the user that expires after ``SESSION_HOURS``; the cookie
holds its secret (HttpOnly, SameSite=Lax, Secure behind TLS) and the server's
one authentication middleware reads it as it reads a Bearer token, so a
disabled user or a revoked session stops working at once for every replica.
Signing out revokes the token. Forms carry a CSRF token signed (itsdangerous)
with the session's secret, or for a visitor not signed in with a random cookie
of their own: a page of another site can neither read it nor forge it.
"""

from __future__ import annotations

import hmac
import secrets

from itsdangerous import Signer
from starlette.requests import Request
from starlette.responses import Response

from loopml import audit
from loopml.api.auth import SESSION_COOKIE, UI_PREFIX
from loopml.auth import tokens, users
from loopml.auth.principal import Principal
from loopml.auth.throttle import SignInThrottle
from loopml.errors import Forbidden, TooManyRequests, Unauthorized
from loopml.store import Store

SESSION_HOURS = 12
CSRF_COOKIE = "loopml_csrf"
CSRF_FIELD = "csrf"


def sign_in(
    store: Store, name: str, password: str, *, throttle: SignInThrottle, address: str
) -> tuple[Principal, str]:
    """The user's principal and the secret of their new session; Unauthorized, or
    TooManyRequests while ``throttle`` holds the name or the address back."""
    held = throttle.check(name, address)
    if held is not None:  # refused before the password is even hashed
        _refused(store, name, "user.sign_in_throttled", f"{held.reason}, from {address}")
        raise TooManyRequests(
            f"Too many failed sign-ins: try again in {_minutes(held.retry_after)}.",
            retry_after=held.retry_after,
            hint="If you forgot your password, ask an admin to reset it.",
        )
    principal = users.check_password(store, name, password) if name and password else None
    if principal is None:
        throttle.failed(name, address)
        _refused(store, name, "user.sign_in_refused", f"wrong name or password, from {address}")
        raise Unauthorized(
            "That name and password were not accepted.",
            hint="Check both (passwords are case-sensitive), or ask an admin to reset yours.",
        )
    throttle.succeeded(name)
    made = tokens.create_token(
        store,
        f"ui-session-{secrets.token_hex(8)}",
        user=principal.name,
        days=SESSION_HOURS / 24,
        actor=principal.name,
    )
    with store.write() as session:
        audit.record(
            session,
            actor=principal.name,
            action="user.sign_in",
            entity_type="user",
            entity_id=principal.name,
            after={"session": made.token.name},
        )
    return principal, made.secret


def _refused(store: Store, name: str, action: str, reason: str) -> None:
    """A failed or held-back sign-in, audited against the user when the name is one;
    against an unknown name without it: what was typed there may be a password."""
    known = bool(name) and users.user_exists(store, name)
    with store.write() as session:
        audit.record(
            session,
            actor=name if known else "anonymous",
            action=action,
            entity_type="user",
            entity_id=name if known else "unknown user",
            reason=reason,
        )


def _minutes(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}" if seconds >= 60 else f"{seconds} s"


def sign_out(store: Store, principal: Principal) -> None:
    """Revoke the session's token (the cookie is cleared by the caller)."""
    if principal.token and principal.token.startswith("ui-session-"):
        tokens.revoke_token(store, principal.token, actor=principal.name, reason="signed out")
    with store.write() as session:
        audit.record(
            session,
            actor=principal.name,
            action="user.sign_out",
            entity_type="user",
            entity_id=principal.name,
        )


def set_session(response: Response, request: Request, secret: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=SESSION_HOURS * 3600,
        path=UI_PREFIX,
        httponly=True,
        samesite="lax",
        secure=_tls(request),
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=UI_PREFIX)


def csrf_token(request: Request) -> str:
    """The token this visitor's forms carry; ``ensure_csrf_cookie`` sets its key if needed."""
    key = _csrf_key(request) or request.state.__dict__.setdefault(
        "new_csrf", secrets.token_urlsafe(32)
    )
    return Signer(key, salt="loopml-ui-form").get_signature(b"form").decode()


def ensure_csrf_cookie(request: Request, response: Response) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(
            CSRF_COOKIE, new, path=UI_PREFIX, httponly=True, samesite="strict", secure=_tls(request)
        )


def check_csrf(request: Request, given: str | None, store: Store, principal: Principal) -> None:
    """Refuse (403, audited) a form whose token is missing or is not this visitor's.
    A request with a Bearer token comes from a script, which no other site can make a
    browser send: it needs none (a browser does resend cookies and HTTP Basic)."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    key = _csrf_key(request)
    wanted = Signer(key, salt="loopml-ui-form").get_signature(b"form").decode() if key else None
    if wanted and given and hmac.compare_digest(wanted, given):
        return
    with store.write() as session:
        audit.record(
            session,
            actor=principal.name,
            action="access.refuse",
            entity_type="route",
            entity_id=f"{request.method} {request.url.path}",
            reason="the form's CSRF token is missing or wrong",
        )
    raise Forbidden(
        "This form was not sent from a page of this server (its CSRF token is missing or wrong).",
        hint="Reload the page and send the form again.",
    )


def _csrf_key(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(CSRF_COOKIE)


def _tls(request: Request) -> bool:
    return request.url.scheme == "https"
