"""Dependencies every router shares, named once as type aliases.

The app keeps its ``Context`` on ``app.state``; tests build an app around a
context of their own (a fresh SQLite or PostgreSQL store), so no router ever
reaches for a module global.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from loopml._context import Context
from loopml.artifacts import ArtifactStore
from loopml.auth.principal import ANONYMOUS, Principal
from loopml.config import Settings
from loopml.store import Store

T = TypeVar("T")


def get_context(request: Request) -> Context:
    return request.app.state.context


def get_store(request: Request) -> Store:
    return request.app.state.context.store


def get_artifacts(request: Request) -> ArtifactStore:
    return request.app.state.context.artifacts


def get_actor(request: Request) -> str:
    """Who the audit log names: the authenticated user or token, never the server's OS user."""
    principal = getattr(request.state, "principal", None)
    return principal.name if principal is not None else ANONYMOUS.name


def get_principal(request: Request) -> Principal:
    return getattr(request.state, "principal", None) or ANONYMOUS


def get_settings(request: Request) -> Settings:
    return request.app.state.context.settings


def inline(read: Callable[[Request], T]) -> Any:
    """``Depends`` on ``read`` run on the event loop. These only look at the request, and
    FastAPI runs a plain function on a worker thread: a thread hop per dependency and
    request, which on a busy machine costs more than many a request's work."""

    async def dependency(request: Request) -> T:
        return read(request)

    return Depends(dependency)


ContextDep = Annotated[Context, inline(get_context)]
StoreDep = Annotated[Store, inline(get_store)]
ArtifactsDep = Annotated[ArtifactStore, inline(get_artifacts)]
SettingsDep = Annotated[Settings, inline(get_settings)]
ActorDep = Annotated[str, inline(get_actor)]
PrincipalDep = Annotated[Principal, inline(get_principal)]
