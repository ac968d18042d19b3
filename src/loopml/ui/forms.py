"""What every form of the UI does: read the fields, check the CSRF token, act as the
signed-in person within their model families, and answer with a redirect (so a
reload never sends a form twice) or the page again with the error in words."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from loopml.api.deps import get_principal
from loopml.auth.principal import Principal
from loopml.errors import Forbidden, LoopmlError
from loopml.ui import sessions
from loopml.ui.render import page

MAX_FIELD = 2000


async def fields(request: Request) -> dict[str, list[str]]:
    """The form's fields (each a list: check boxes repeat), after its CSRF check."""
    form = await request.form()
    values = {key: [str(v)[:MAX_FIELD] for v in form.getlist(key)] for key in form}
    store = request.app.state.context.store
    sessions.check_csrf(
        request, (values.get(sessions.CSRF_FIELD) or [None])[0], store, get_principal(request)
    )
    return values


def one(values: dict[str, list[str]], key: str) -> str | None:
    found = (values.get(key) or [""])[0].strip()
    return found or None


def may_touch(principal: Principal, model: str) -> None:
    if not principal.may_touch(model):
        raise Forbidden(
            f"{principal.name} may not act on model {model!r}.",
            hint="Ask an operator of that model family.",
        )


def act(request: Request, change: Callable[[], str], back: str) -> Response:
    """Run ``change``; go ``back`` with its message, or show what went wrong."""
    try:
        message = change()
    except LoopmlError as error:
        return page(request, "error.html", status_code=error.status_code, error=error, back=back)
    return done(back, message)


def done(back: str, message: str) -> RedirectResponse:
    joiner = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{joiner}{urlencode({'done': message})}", status_code=303)
