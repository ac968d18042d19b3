"""Sign in and sign out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from loopml.api.auth import SESSION_COOKIE
from loopml.api.deps import PrincipalDep, StoreDep
from loopml.auth.permissions import Permission, requires
from loopml.errors import Forbidden, TooManyRequests, Unauthorized
from loopml.ui import sessions
from loopml.ui.forms import fields, one
from loopml.ui.render import page

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("/login")
@requires(Permission.PUBLIC)
def login_page(request: Request, next: str = "/ui/"):
    return page(request, "login.html", next=_local(next))


@router.post("/login")
@requires(Permission.PUBLIC)
async def login(request: Request, store: StoreDep):
    try:
        values = await fields(request)
    except Forbidden as error:  # no CSRF token: a sign-in forged by another site
        return page(request, "login.html", status_code=400, next="/ui/", error=error)
    name, target = one(values, "name") or "", _local(one(values, "next") or "/ui/")
    address = request.client.host if request.client else "unknown"
    try:
        _, secret = sessions.sign_in(
            store,
            name,
            (values.get("password") or [""])[0],
            throttle=request.app.state.sign_in_throttle,
            address=address,
        )
    except TooManyRequests as error:
        answer = page(request, "login.html", status_code=429, next=target, name=name, error=error)
        answer.headers["Retry-After"] = str(error.retry_after)
        return answer
    except Unauthorized as error:
        return page(request, "login.html", next=target, name=name, error=error)
    response = RedirectResponse(target, status_code=303)
    sessions.set_session(response, request, secret)
    return response


@router.post("/logout")
@requires(Permission.READ)
async def logout(request: Request, store: StoreDep, principal: PrincipalDep):
    await fields(request)
    sessions.sign_out(store, principal)
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:  # this replica stops accepting it now; others when their cache expires
        request.app.state.authenticator.forget(f"Bearer {secret}")
    response = RedirectResponse("/ui/login", status_code=303)
    sessions.clear_session(response)
    return response


def _local(target: str) -> str:
    """Only a page of this UI: a sign-in link must not send anyone to another site."""
    return target if target.startswith("/ui/") and not target.startswith("//") else "/ui/"
