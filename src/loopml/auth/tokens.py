"""API tokens: created once (the secret is shown then and never again), stored as a
hash, with an expiry, revocable. A personal token acts as its user; a service
token belongs to no one and may only score and send feedback."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from loopml import audit
from loopml.auth.hashing import new_token, token_digest
from loopml.auth.permissions import Role
from loopml.auth.principal import Principal
from loopml.auth.users import _check_name, _user, user_row
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.store import Store, utcnow
from loopml.store.tables import TokenRow, UserRow

DEFAULT_DAYS = 90


@dataclass(frozen=True)
class Token:
    name: str
    user: str | None  # None: a service token
    models: tuple[str, ...] | None
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None

    @property
    def kind(self) -> str:
        return "service" if self.user is None else "personal"

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "live"


@dataclass(frozen=True)
class NewToken:
    token: Token
    secret: str  # shown to its creator once; only its hash is stored


def create_token(
    store: Store,
    name: str,
    *,
    user: str | None = None,
    service: bool = False,
    models: Iterable[str] | None = None,
    days: float | None = DEFAULT_DAYS,
    actor: str,
) -> NewToken:
    """A personal token for ``user``, or (``service=True``) a scoring-only token that
    ``models`` may limit to some families. ``days=None`` never expires."""
    _check_name(name)
    if service == (user is not None):
        raise InvalidInput(
            "A token is either personal (--user NAME) or a service token (--service).",
            hint="Give exactly one of the two.",
        )
    if days is not None and days <= 0:
        raise InvalidInput(f"days must be positive, not {days}.", hint="e.g. --days 90.")
    secret, now = new_token(), utcnow()
    with store.write() as session:
        owner = user_row(session, user) if user is not None else None
        if session.scalar(select(TokenRow.id).where(TokenRow.name == name)) is not None:
            raise Conflict(f"A token named {name!r} exists.", hint="Pick another name.")
        row = TokenRow(
            name=name,
            digest=token_digest(secret),
            user_id=owner.id if owner else None,
            models=sorted(set(models)) if models else None,
            created_at=now,
            created_by=actor,
            expires_at=now + timedelta(days=days) if days is not None else None,
        )
        session.add(row)
        audit.record(
            session,
            actor=actor,
            action="token.create",
            entity_type="token",
            entity_id=name,
            after={
                "user": user,
                "service": service,
                "models": row.models,
                "expires_at": row.expires_at.isoformat() if row.expires_at else None,
            },
        )
        return NewToken(_token(row, user), secret)


def list_tokens(store: Store, *, user: str | None = None) -> list[Token]:
    query = (
        select(TokenRow, UserRow.name)
        .outerjoin(UserRow, UserRow.id == TokenRow.user_id)
        .order_by(TokenRow.name)
    )
    if user is not None:
        query = query.where(UserRow.name == user)
    with store.read() as session:
        return [_token(row, owner) for row, owner in session.execute(query)]


def revoke_token(store: Store, name: str, *, actor: str, reason: str | None = None) -> Token:
    with store.write() as session:
        row = session.scalar(select(TokenRow).where(TokenRow.name == name))
        if row is None:
            raise NotFound(f"No token named {name!r}.", hint="See `loopml tokens list`.")
        row.revoked_at = row.revoked_at or utcnow()
        audit.record(
            session,
            actor=actor,
            action="token.revoke",
            entity_type="token",
            entity_id=name,
            reason=reason,
        )
        owner = session.get(UserRow, row.user_id) if row.user_id else None
        return _token(row, owner.name if owner else None)


def check_token(store: Store, secret: str) -> Principal | None:
    """Who the token belongs to, if it is live (not expired, revoked, or of a disabled user)."""
    with store.read() as session:
        found = session.execute(
            select(TokenRow, UserRow)
            .outerjoin(UserRow, UserRow.id == TokenRow.user_id)
            .where(TokenRow.digest == token_digest(secret))
        ).first()
    if found is None:
        return None
    row, owner = found
    if _token(row, None).state != "live":
        return None
    if owner is None:
        return Principal(f"token:{row.name}", Role.service, _scope(row.models), row.name)
    if owner.disabled:
        return None
    user = _user(owner).principal(row.name)
    return Principal(user.name, user.role, _narrowest(user.models, row.models), row.name)


def _scope(models) -> tuple[str, ...] | None:
    return tuple(models) if models else None


def _narrowest(mine, token) -> tuple[str, ...] | None:
    """A personal token limited to some families narrows its user's scope."""
    if not token:
        return mine
    return tuple(m for m in token if mine is None or m in mine)


def _token(row: TokenRow, owner: str | None) -> Token:
    return Token(
        row.name,
        owner,
        _scope(row.models),
        row.created_at,
        row.created_by,
        row.expires_at,
        row.revoked_at,
    )
