"""Pages from Jinja2 templates, with what every page needs: who is signed in, what they
may press, the CSRF token of their forms, times as <time> and ages in plain words."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from loopml.api.deps import get_principal
from loopml.auth.permissions import Permission
from loopml.store import utcnow
from loopml.ui import sessions

# Status words with an icon each, so no status is told by colour alone.
STATUS = {
    "healthy": ("✓", "Healthy"),
    "watch": ("◐", "Watch"),
    "action": ("▲", "Action needed"),
    "open": ("▲", "Open"),
    "acknowledged": ("◐", "Acknowledged"),
    "resolved": ("✓", "Resolved"),
    "pending": ("◐", "Pending"),
    "approved": ("✓", "Approved"),
    "rejected": ("✕", "Rejected"),
    "refused": ("✕", "Refused"),
    "expired": ("✕", "Expired"),
    "passed": ("✓", "Passed"),
    "failed": ("✕", "Failed"),
    "real_change": ("!", "Real change"),
    "false_alarm": ("✕", "False alarm"),
    "not_confirmed": ("✕", "Not confirmed"),
}


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("loopml.ui", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        time=time_tag, age=age, status=status_badge, number=number, gate=gate_words, cpu=cpu_seconds
    )
    return env


def compile_templates() -> None:
    """Compile every page's template once, as the server starts, so the first person to
    open a page after a start does not wait for its compilation (a tenth of a second or
    more for the larger ones)."""
    env = environment()
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    principal = get_principal(request)
    settings = request.app.state.context.settings

    def can(permission: str, model: str | None = None) -> bool:
        return principal.can(Permission(permission), model)

    html = (
        environment()
        .get_template(template)
        .render(
            request=request,
            principal=principal,
            can=can,
            csrf=sessions.csrf_token(request),
            signed_in=principal.token is not None,
            open_server=not settings.auth,
            url=lambda **changes: with_query(request, **changes),
            path=request.url.path,
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status_code)
    sessions.ensure_csrf_cookie(request, response)
    response.headers["Cache-Control"] = "no-store"
    return response


def with_query(request: Request, **changes: Any) -> str:
    """This page's URL with some query parameters changed (None drops one): shareable links."""
    query = {k: v for k, v in request.query_params.items() if k not in changes}
    query.update({k: v for k, v in changes.items() if v not in (None, "")})
    return request.url.path + (f"?{urlencode(query)}" if query else "")


def time_tag(moment: datetime | None) -> Markup:
    """UTC in the markup; a few lines of JavaScript show it in the viewer's time zone."""
    if moment is None:
        return Markup("—")
    iso = moment.isoformat(timespec="seconds").replace("+00:00", "Z")
    return Markup(f'<time datetime="{iso}">{escape(moment.strftime("%Y-%m-%d %H:%M UTC"))}</time>')


def age(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return "—"
    seconds = max(0.0, ((now or utcnow()) - moment).total_seconds())
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def status_badge(state: str) -> Markup:
    icon, word = STATUS.get(state, ("•", state.replace("_", " ").capitalize()))
    return Markup(
        f'<span class="status status-{escape(state)}"><span aria-hidden="true">{icon}</span> '
        f"{escape(word)}</span>"
    )


def number(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}g}"


def cpu_seconds(value: float | None) -> str:
    """CPU time to read at a glance: milliseconds are shown as such, seconds to three digits."""
    if value is None:
        return "—"
    return (
        f"{value * 1000:.3g} ms"
        if value < 1
        else f"{value:,.3g} s"
        if value < 1000
        else f"{value:,.0f} s"
    )


def gate_words(gate: dict[str, Any] | None) -> str:
    """A gate in plain words: what a version must do before it may be promoted."""
    if not gate:
        return "no gate: any version may be promoted"
    words = [f"{metric} {rule}" for metric, rule in (gate.get("thresholds") or {}).items()]
    if gate.get("beat_champion"):
        margin = gate.get("margin") or 0
        words.append(
            f"beat the champion on {gate['beat_champion']}"
            + (f" by {margin:.0%}" if margin else "")
        )
    if gate.get("require_validation"):
        words.append("pass data validation")
    words += [f"pass the {name} check" for name in gate.get("extra") or {}]
    then = "; then a person approves" if gate.get("require_approval") else ""
    return "gate: " + (", ".join(words) or "no checks") + then
