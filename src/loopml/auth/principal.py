"""Who is calling: a user (by password or personal token) or a service token."""

from __future__ import annotations

from dataclasses import dataclass

from loopml.auth.permissions import Permission, Role, allows
from loopml.errors import Forbidden


@dataclass(frozen=True)
class Principal:
    name: str  # what the audit log records
    role: Role
    models: tuple[str, ...] | None = None  # families it may act on; None: all
    token: str | None = None  # the token's name when one was used

    def can(self, permission: Permission, model: str | None = None) -> bool:
        if not allows(self.role, permission):
            return False
        return self.may_touch(model) or permission in (Permission.PUBLIC, Permission.READ)

    def may_touch(self, model: str | None) -> bool:
        return model is None or self.models is None or model in self.models

    def ensure_may_touch(self, model: str, what: str) -> None:
        """Refuse an action on `what` of a model family outside this principal's families."""
        if not self.may_touch(model):
            raise Forbidden(
                f"{self.name} may not act on {what} of model {model!r}.",
                hint="Ask an operator of that model family.",
            )


# Who acts when the server runs without authentication (loopback, no --auth).
ANONYMOUS = Principal("anonymous", Role.admin)
