"""Models: the families, one family's segments with their versions and aliases, the
timeline of its closed loop, a version's card (gates, metrics, lineage), and rollback."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from loopml.api.deps import PrincipalDep, SettingsDep, StoreDep
from loopml.auth.permissions import Permission, requires
from loopml.automation.timeline import timeline
from loopml.errors import InvalidInput
from loopml.predictions.reader import log_folder
from loopml.redaction import redact_text
from loopml.registry import card, promotion
from loopml.registry import service as registry
from loopml.ui.forms import act, fields, one
from loopml.ui.lineage import lineage
from loopml.ui.render import page as render_page

router = APIRouter(prefix="/ui/models", include_in_schema=False)
Name = Annotated[str, Path(max_length=200)]
SEGMENTS_PER_PAGE = 100


@router.get("")
def model_list(request: Request, store: StoreDep):
    return render_page(request, "models.html", models=registry.list_models(store))


@router.get("/{name}")
def model_page(
    request: Request,
    name: Name,
    store: StoreDep,
    settings: SettingsDep,
    segment: Annotated[str | None, Query(max_length=500)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
):
    model = registry.get_model(store, name)
    segments = registry.list_segments(store, name)
    pages = max(1, -(-len(segments) // SEGMENTS_PER_PAGE))
    start = (min(page, pages) - 1) * SEGMENTS_PER_PAGE
    focus = (
        segment if segment is not None else (segments[0]["segment"] if len(segments) == 1 else None)
    )
    versions = (
        registry.list_versions(store, name, segment=focus, limit=50) if focus is not None else []
    )
    moves = registry.alias_history(store, name, segment=focus) if focus is not None else []
    chain = lineage(store, settings.resolved_artifact_uri, name, versions) if versions else []
    return render_page(
        request,
        "model.html",
        model=model,
        segments=segments[start : start + SEGMENTS_PER_PAGE],
        segment_total=len(segments),
        page=min(page, pages),
        pages=pages,
        focus=focus,
        versions=versions,
        moves=moves[:30],
        lineage=chain,
        log_folder=redact_text(log_folder(settings.resolved_artifact_uri, name)),
        events=list(reversed(timeline(store, name, segment=focus, limit=100))),
    )


@router.get("/{name}/versions/{version}")
def version_page(
    request: Request, name: Name, version: Annotated[int, Path(ge=1, le=2**31 - 1)], store: StoreDep
):
    title, sections = card.card_sections(store, name, version)
    registered = registry.resolve(store, name, version=version)
    return render_page(request, "version.html", title=title, sections=sections, version=registered)


@router.post("/{name}/rollback")
@requires(Permission.OPERATE)
async def rollback(request: Request, name: Name, store: StoreDep, principal: PrincipalDep):
    values = await fields(request)
    segment = one(values, "segment") or ""
    back = f"/ui/models/{name}" + (f"?segment={segment}" if segment else "")

    def change() -> str:
        reason = one(values, "reason")
        if not reason:
            raise InvalidInput(
                "A rollback needs a reason.", hint="Say why, e.g. 'worse than v3 live'."
            )
        move = promotion.rollback(store, name, segment=segment, actor=principal.name, reason=reason)
        where = segment or "all segments"
        return f"Rolled back {name} ({where}): champion v{move.from_version} → v{move.to_version}."

    return act(request, change, back)
