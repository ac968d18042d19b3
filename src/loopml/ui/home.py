"""Home ("needs you") and the health table."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from loopml.api.deps import SettingsDep, StoreDep
from loopml.monitoring import service as monitoring
from loopml.ui import health
from loopml.ui.queue import needs_you
from loopml.ui.render import page as render_page

router = APIRouter(prefix="/ui", include_in_schema=False)
PAGE_SIZE = 50


@router.get("/")
def home(request: Request, store: StoreDep):
    return render_page(request, "home.html", items=needs_you(store))


@router.get("/health")
def health_table(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    q: Annotated[str, Query(max_length=200)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    sort: Annotated[str, Query(max_length=20)] = "status",
    desc: bool = False,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
):
    active = monitoring.list_alerts(store, state="active")
    rows = health.health_rows(store, settings.resolved_artifact_uri, active)
    counts = {s: sum(r.status == s for r in rows) for s in health.STATUSES}
    chosen = health.select_rows(rows, q=q, status=status, sort=sort, descending=desc)
    pages = max(1, -(-len(chosen) // PAGE_SIZE))
    start = (min(page, pages) - 1) * PAGE_SIZE
    return render_page(
        request,
        "health.html",
        rows=chosen[start : start + PAGE_SIZE],
        total=len(chosen),
        counts=counts,
        q=q,
        status=status,
        sort=sort,
        desc=desc,
        page=min(page, pages),
        pages=pages,
        incidents=[i for i in health.incidents(store, active) if len(i.alerts) > 1],
        statuses=health.STATUSES,
        sorts=health.SORTS,
    )
