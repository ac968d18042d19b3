"""Users: add, list, disable, and check a password. Every change is audited."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import func, select

from loopml import audit
from loopml.auth.hashing import hash_password, verify_password
from loopml.auth.permissions import Role
from loopml.auth.principal import Principal
from loopml.errors import Conflict, InvalidInput, LoopmlError, NotFound
from loopml.store import Store, utcnow
from loopml.store.tables import UserRow

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,199}$")
MIN_PASSWORD = 12
PERSON_ROLES = (Role.viewer, Role.operator, Role.admin)


class NoAdmin(LoopmlError):
    status_code = 503


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    models: tuple[str, ...] | None
    has_password: bool
    disabled: bool
    created_at: datetime
    created_by: str

    def principal(self, token: str | None = None) -> Principal:
        return Principal(self.name, self.role, self.models, token)


def add_user(
    store: Store,
    name: str,
    *,
    role: Role | str,
    password: str | None = None,
    models: Iterable[str] | None = None,
    actor: str,
) -> User:
    """A person with a role; ``models`` limits what they may change to those families.
    Without a password the user signs in with personal tokens only."""
    role = _person_role(role)
    _check_name(name)
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"The password is {len(password)} characters long; at least {MIN_PASSWORD} are needed.",
            hint="Choose a longer passphrase, or sign in with a token (loopml tokens create).",
        )
    scope = sorted(set(models)) if models else None
    with store.write() as session:
        if session.scalar(select(UserRow.id).where(UserRow.name == name)) is not None:
            raise Conflict(f"A user named {name!r} exists.", hint="Pick another name.")
        row = UserRow(
            name=name,
            role=role.value,
            models=scope,
            disabled=False,
            created_at=utcnow(),
            created_by=actor,
            password_hash=hash_password(password) if password else None,
        )
        session.add(row)
        audit.record(
            session,
            actor=actor,
            action="user.add",
            entity_type="user",
            entity_id=name,
            after={"role": role.value, "models": scope},
        )
        return _user(row)


def list_users(store: Store) -> list[User]:
    with store.read() as session:
        return [_user(row) for row in session.scalars(select(UserRow).order_by(UserRow.name))]


def user_exists(store: Store, name: str) -> bool:
    with store.read() as session:
        return session.scalar(select(UserRow.id).where(UserRow.name == name)) is not None


def get_user(store: Store, name: str) -> User:
    with store.read() as session:
        return _user(user_row(session, name))


def disable_user(store: Store, name: str, *, actor: str, reason: str | None = None) -> User:
    """The user can no longer sign in, by password or by any of their tokens."""
    with store.write() as session:
        row = user_row(session, name)
        row.disabled = True
        audit.record(
            session,
            actor=actor,
            action="user.disable",
            entity_type="user",
            entity_id=name,
            reason=reason,
        )
        return _user(row)


def count_admins(store: Store) -> int:
    with store.read() as session:
        return session.scalar(
            select(func.count()).where(UserRow.role == Role.admin.value, ~UserRow.disabled)
        )


def require_an_admin(store: Store) -> None:
    """A server that requires sign-in is useless without someone who can manage it."""
    if count_admins(store) == 0:
        raise NoAdmin(
            f"Authentication is required, but the store at {store.display_url} has no "
            "enabled admin user.",
            hint="Create one first: loopml users add NAME --role admin "
            "(then sign in with its password, or make it a token: loopml tokens create "
            "NAME --user NAME).",
        )


def check_password(store: Store, name: str, password: str) -> Principal | None:
    """The user's principal if the password is theirs and they are enabled, else None."""
    with store.read() as session:
        row = session.scalar(select(UserRow).where(UserRow.name == name))
    if row is None or row.disabled or not row.password_hash:
        verify_password(_decoy(), password)  # as slow as a real check: names stay secret
        return None
    return _user(row).principal() if verify_password(row.password_hash, password) else None


@lru_cache(maxsize=1)
def _decoy() -> str:
    return hash_password("not a password of anyone")


def user_row(session, name: str) -> UserRow:
    row = session.scalar(select(UserRow).where(UserRow.name == name))
    if row is None:
        raise NotFound(f"No user named {name!r}.", hint="See `loopml users list`.")
    return row


def _user(row: UserRow) -> User:
    models = tuple(row.models) if row.models else None
    return User(
        row.name,
        Role(row.role),
        models,
        bool(row.password_hash),
        row.disabled,
        row.created_at,
        row.created_by,
    )


def _person_role(role: Role | str) -> Role:
    try:
        found = Role(role)
    except ValueError:
        found = None
    if found not in PERSON_ROLES:
        raise InvalidInput(
            f"{role!r} is not a user role.",
            hint="Use viewer, operator or admin; for scoring clients create a service token "
            "(loopml tokens create NAME --service).",
        )
    return found


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInput(
            f"{name!r} is not a valid user name.",
            hint="Use letters, digits and . _ @ - (up to 200 characters), e.g. 'alice'.",
        )
