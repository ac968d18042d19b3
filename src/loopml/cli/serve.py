"""``loopml serve``: the REST API, model serving and the UI in one server."""

from __future__ import annotations

import gc
import logging

import typer

from loopml.cli.output import console
from loopml.config import Settings


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 for all)."),
    port: int = typer.Option(8000, help="Port to listen on."),
    auth: bool = typer.Option(
        None,
        "--auth/--no-auth",
        help="Require sign-in (default: LOOPML_AUTH; always on off loopback).",
        show_default=False,
    ),
    log_level: str = typer.Option("info", help="debug, info, warning or error."),
) -> None:
    """Serve the REST API, every model with a champion, and the UI."""
    import uvicorn

    from loopml.api.auth import auth_required
    from loopml.api.listener import server_config
    from loopml.server import create_app

    settings = Settings()
    asked = settings.auth if auth is None else auth
    settings = settings.model_copy(update={"auth": auth_required(host, asked)})
    logging.basicConfig(level=log_level.upper(), format="%(message)s")
    app = create_app(settings)  # refuses to build without an admin when sign-in is required
    console.print(
        f"loopml serving on http://{host}:{port}  (UI: /ui/, API docs: /docs, metrics: /metrics)"
    )
    if settings.auth:
        console.print("Sign-in required on every route (see docs/security.md).")
    else:
        console.print(
            f"[yellow]Authentication is off[/]: anyone who can reach {host}:{port} can read and "
            "change everything. Fine for one person on this machine; use --auth otherwise."
        )
    config = server_config(
        app, settings, host=host, port=port, log_level=log_level, access_log=False
    )
    # What the process keeps for its lifetime (the app, its routes, the libraries imported
    # to build them) leaves the collector's generations, so the collections a big answer
    # triggers (a page of 10,000 runs makes many objects) walk only the request's objects.
    gc.freeze()
    uvicorn.Server(config).run()
