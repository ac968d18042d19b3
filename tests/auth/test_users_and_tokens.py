"""Users, passwords and tokens in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from loopml import audit
from loopml.auth import tokens, users
from loopml.auth.permissions import Permission, Role
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.store import utcnow
from loopml.store.tables import TokenRow, UserRow

PASSWORD = "correct horse battery staple"


def test_password_is_stored_as_argon2id_and_checked(store):
    users.add_user(store, "alice", role="operator", password=PASSWORD, actor="root")
    with store.read() as session:
        stored = session.scalar(select(UserRow.password_hash))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    found = users.check_password(store, "alice", PASSWORD)
    assert (found.name, found.role) == ("alice", Role.operator)
    assert users.check_password(store, "alice", PASSWORD.upper()) is None
    assert users.check_password(store, "nobody", PASSWORD) is None


def test_bad_users_are_refused_with_what_to_do(store):
    with pytest.raises(InvalidInput, match="at least 12"):
        users.add_user(store, "bob", role="viewer", password="short", actor="root")
    with pytest.raises(InvalidInput, match="service token"):
        users.add_user(store, "bob", role="service", actor="root")
    with pytest.raises(InvalidInput, match="not a valid user name"):
        users.add_user(store, "bob smith", role="viewer", actor="root")
    users.add_user(store, "bob", role="viewer", actor="root")
    with pytest.raises(Conflict):
        users.add_user(store, "bob", role="admin", actor="root")
    with pytest.raises(NotFound, match="loopml users list"):
        users.disable_user(store, "carol", actor="root")


def test_disabled_user_signs_in_neither_by_password_nor_by_token(store):
    users.add_user(store, "alice", role="admin", password=PASSWORD, actor="root")
    secret = tokens.create_token(store, "laptop", user="alice", actor="root").secret
    assert users.count_admins(store) == 1 and tokens.check_token(store, secret).name == "alice"
    users.disable_user(store, "alice", actor="root", reason="left")
    assert users.check_password(store, "alice", PASSWORD) is None
    assert tokens.check_token(store, secret) is None
    assert users.count_admins(store) == 0


def test_token_secret_is_shown_once_and_only_its_hash_is_stored(store):
    users.add_user(store, "alice", role="viewer", actor="root")
    made = tokens.create_token(store, "laptop", user="alice", days=30, actor="root")
    assert made.secret.startswith("lml_") and len(made.secret) > 40
    with store.read() as session:
        row = session.scalar(select(TokenRow))
    assert made.secret not in (row.digest, row.name) and len(row.digest) == 64
    assert timedelta(days=29) < row.expires_at - utcnow() <= timedelta(days=30)
    listed = tokens.list_tokens(store)
    assert [(t.name, t.user, t.kind, t.state) for t in listed] == [
        ("laptop", "alice", "personal", "live")
    ]
    assert not hasattr(listed[0], "secret")


def test_revoked_and_expired_tokens_are_refused(store):
    users.add_user(store, "alice", role="viewer", actor="root")
    revoked = tokens.create_token(store, "a", user="alice", actor="root").secret
    expired = tokens.create_token(store, "b", user="alice", actor="root").secret
    tokens.revoke_token(store, "a", actor="root", reason="rotated")
    with store.write() as session:
        session.scalar(select(TokenRow).where(TokenRow.name == "b")).expires_at = utcnow()
    assert tokens.check_token(store, revoked) is None
    assert tokens.check_token(store, expired) is None
    assert tokens.check_token(store, "lml_made-up") is None
    assert {t.name: t.state for t in tokens.list_tokens(store)} == {"a": "revoked", "b": "expired"}


def test_service_token_only_scores_and_scopes_narrow(store):
    service = tokens.create_token(store, "erp", service=True, models=["demand"], actor="root")
    who = tokens.check_token(store, service.secret)
    assert (who.name, who.role, who.models) == ("token:erp", Role.service, ("demand",))
    assert who.can(Permission.SCORE, "demand") and not who.can(Permission.SCORE, "churn")
    assert not who.can(Permission.READ) and not who.can(Permission.OPERATE, "demand")

    users.add_user(store, "bob", role="operator", models=["demand", "churn"], actor="root")
    narrow = tokens.create_token(store, "bob-ci", user="bob", models=["churn"], actor="root")
    bob = tokens.check_token(store, narrow.secret)
    assert bob.models == ("churn",) and bob.can(Permission.OPERATE, "churn")
    assert not bob.can(Permission.OPERATE, "demand") and bob.can(Permission.READ)
    with pytest.raises(InvalidInput, match="either personal"):
        tokens.create_token(store, "x", user="bob", service=True, actor="root")


def test_user_and_token_changes_are_audited_with_their_actor(store):
    users.add_user(store, "alice", role="viewer", actor="root")
    tokens.create_token(store, "laptop", user="alice", actor="root")
    tokens.revoke_token(store, "laptop", actor="admin-bob", reason="lost laptop")
    users.disable_user(store, "alice", actor="admin-bob")
    events = [(e.action, e.actor, e.entity_id, e.reason) for e in audit.list_events(store)]
    assert events == [
        ("user.disable", "admin-bob", "alice", None),
        ("token.revoke", "admin-bob", "laptop", "lost laptop"),
        ("token.create", "root", "laptop", None),
        ("user.add", "root", "alice", None),
    ]
