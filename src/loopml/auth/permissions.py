"""Roles, the permissions a route needs, and how a route declares its permission.

A route's endpoint is tagged with ``@requires(Permission.OPERATE)`` (the tag is
an attribute; the function is unchanged), and the server's one authentication
middleware looks the tag up for every request. Routes that read (GET, HEAD)
need ``READ`` unless they declare otherwise; any other method must declare.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

ATTRIBUTE = "__loopml_permission__"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Role(str, Enum):
    viewer = "viewer"
    operator = "operator"
    admin = "admin"
    service = "service"  # service tokens only: scoring and feedback


class Permission(str, Enum):
    PUBLIC = "public"  # no credentials: health checks, API docs
    READ = "read"  # viewer and up
    SCORE = "score"  # predictions and feedback: service tokens, operators, admins
    OPERATE = "operate"  # resolve alerts, decide approvals, promote, roll back
    ADMIN = "admin"  # users, tokens, gates, policies


ALLOWED: dict[Permission, frozenset[Role]] = {
    Permission.PUBLIC: frozenset(Role),
    Permission.READ: frozenset({Role.viewer, Role.operator, Role.admin}),
    Permission.SCORE: frozenset({Role.service, Role.operator, Role.admin}),
    Permission.OPERATE: frozenset({Role.operator, Role.admin}),
    Permission.ADMIN: frozenset({Role.admin}),
}


def allows(role: Role, permission: Permission) -> bool:
    return role in ALLOWED[permission]


def requires(permission: Permission) -> Callable[[F], F]:
    """Declare the permission an endpoint (FastAPI or plain Starlette) needs."""

    def tag(endpoint: F) -> F:
        setattr(endpoint, ATTRIBUTE, Permission(permission))
        return endpoint

    return tag


def declare(route: Any, permission: Permission) -> None:
    """Declare the permission of a route object itself (a mounted app, a docs page)."""
    setattr(route, ATTRIBUTE, Permission(permission))


def declared(route: Any) -> Permission | None:
    """The permission a route (or a mounted app) declares, or None."""
    found = getattr(route, ATTRIBUTE, None)
    if found is None:
        found = getattr(getattr(route, "endpoint", None), ATTRIBUTE, None)
    return found


def needed(permission: Permission | None, method: str) -> Permission | None:
    """What a request needs from a route declaring ``permission``: the declaration, else
    READ for safe methods; None for an undeclared write (the server then allows admins
    only, and the permission-matrix test fails)."""
    if permission is not None:
        return permission
    return Permission.READ if method.upper() in SAFE_METHODS else None
