"""The UI's own CSS and JavaScript, and Plotly.js from the installed plotly package."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from loopml.auth.permissions import Permission, declare, requires

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"


@lru_cache(maxsize=1)
def plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@router.get("/ui/vendor/plotly.min.js")
@requires(Permission.PUBLIC)
def plotly():
    return FileResponse(
        plotly_js(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/")
def root():
    """The server's address opens the UI."""
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui")
def ui_root():
    return RedirectResponse("/ui/", status_code=307)


def mount(app: FastAPI) -> None:
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    declare(app.routes[-1], Permission.PUBLIC)
