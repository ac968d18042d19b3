"""The operator's web application, served by ``loopml serve`` under ``/ui``.

Server-rendered pages (Jinja2) over the same service functions as the CLI and the
REST API; forms post and redirect back, so every page works without JavaScript
but for its charts (Plotly.js, served from the installed plotly package: no CDN).
"""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    from loopml.ui import alerts, approvals, assets, home, models, render, signin

    for module in (assets, signin, home, alerts, approvals, models):
        app.include_router(module.router)
    assets.mount(app)
    app.state.startup.append(render.compile_templates)
