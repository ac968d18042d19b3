"""``loopml serve``: the REST API, model serving and the UI in one server."""

from __future__ import annotations

import logging

import typer

from loopml.cli.output import console
from loopml.config import Settings


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 for all)."),
    port: int = typer.Option(8000, help="Port to listen on."),
    log_level: str = typer.Option("info", help="debug, info, warning or error."),
) -> None:
    """Serve the REST API, every model with a champion, and the UI."""
    import uvicorn

    from loopml.api.listener import server_config
    from loopml.server import create_app

    logging.basicConfig(level=log_level.upper(), format="%(message)s")
    settings = Settings()
    app = create_app(settings)
    console.print(f"loopml serving on http://{host}:{port}  (API docs: /docs, metrics: /metrics)")
    config = server_config(
        app, settings, host=host, port=port, log_level=log_level, access_log=False
    )
    uvicorn.Server(config).run()
