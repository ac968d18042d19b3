"""``loopml users`` and ``loopml tokens`` on a real store."""

from __future__ import annotations

import io
import json

import pytest
from tests.cli.test_registry_commands import run

from loopml.auth import tokens as token_service
from loopml.auth import users as user_service
from loopml.cli import main


def test_users_add_list_disable(sqlite_ctx, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long passphrase\n"))
    out = run(capsys, "users", "add", "alice", "--role", "admin", "--password-stdin")
    assert "user alice (admin, all models)" in out
    assert user_service.check_password(sqlite_ctx.store, "alice", "a long passphrase")
    run(capsys, "users", "add", "bob", "--role", "operator", "-m", "demand", "--no-password")
    listed = run(capsys, "users", "list")
    assert "alice" in listed and "demand" in listed and "active" in listed
    run(capsys, "users", "disable", "alice", "--reason", "left")
    assert "disabled" in run(capsys, "users", "list")
    as_json = json.loads(run(capsys, "users", "list", "--json"))
    assert {u["name"]: u["state"] for u in as_json} == {"alice": "disabled", "bob": "active"}
    assert user_service.check_password(sqlite_ctx.store, "alice", "a long passphrase") is None


def test_users_add_refuses_a_wrong_role_with_the_fix(sqlite_ctx, capsys):
    with pytest.raises(SystemExit):
        main(["users", "add", "carol", "--role", "boss", "--no-password"])
    err = capsys.readouterr().err
    assert "'boss' is not a user role" in err and "viewer, operator or admin" in err


def test_tokens_create_prints_the_secret_once_then_list_and_revoke(sqlite_ctx, capsys):
    run(capsys, "users", "add", "bob", "--role", "viewer", "--no-password")
    out = run(capsys, "tokens", "create", "bob-laptop", "--user", "bob", "--days", "7")
    secret = out.strip().splitlines()[-1]
    assert token_service.check_token(sqlite_ctx.store, secret).name == "bob"
    service = run(capsys, "tokens", "create", "erp", "--service", "--no-expiry").split()[-1]
    assert token_service.check_token(sqlite_ctx.store, service).name == "token:erp"
    listed = run(capsys, "tokens", "list")
    assert "bob-laptop" in listed and "never" in listed and secret not in listed
    run(capsys, "tokens", "revoke", "bob-laptop", "--reason", "lost")
    assert "revoked" in run(capsys, "tokens", "list", "--user", "bob")
    assert token_service.check_token(sqlite_ctx.store, secret) is None
