"""The app's routes as one flat table, each with the permission it declares.

FastAPI 0.16x keeps an included router as one lazy entry of ``app.routes``;
``fastapi.routing.iter_route_contexts`` flattens it (older versions are flat
already). Authentication matches requests against this table, and the
permission-matrix test walks it, so both see exactly the routes the app serves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from starlette.routing import BaseRoute, Mount, compile_path

from loopml.auth.permissions import Permission, declared, needed

try:
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover - FastAPI before included routers were lazy

    def iter_route_contexts(routes: Sequence[BaseRoute]) -> Iterable[BaseRoute]:
        return iter(routes)


@dataclass(frozen=True)
class Endpoint:
    path: str
    methods: frozenset[str] | None  # None: every method (a mounted app)
    declared: Permission | None
    regex: re.Pattern

    def needs(self, method: str) -> Permission | None:
        return needed(self.declared, method)

    def match(self, path: str, method: str) -> dict[str, str] | None:
        """The path parameters if this endpoint answers ``method`` on ``path``."""
        found = self.regex.match(path)
        if found is None or (self.methods is not None and method not in self.methods):
            return None
        return found.groupdict()


def endpoints(routes: Sequence[BaseRoute]) -> list[Endpoint]:
    table = []
    for context in iter_route_contexts(routes):
        original = getattr(context, "original_route", context)
        path = getattr(context, "path", None)
        if path is None:
            continue  # a host route or similar: unmatched paths need READ anyway
        permission = declared(original) or declared(context)
        if isinstance(original, Mount):
            regex = compile_path(path.rstrip("/") + "/{path:path}")[0]
            table.append(Endpoint(path, None, permission, regex))
        else:
            methods = getattr(context, "methods", None)
            frozen = frozenset(methods) if methods else None
            table.append(Endpoint(path, frozen, permission, compile_path(path)[0]))
    return table
