"""docs/security.md: its Python example runs and its token signs in; its commands exist."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

import loopml
from loopml.cli import tokens, users
from loopml.server import create_app

DOCS = Path(__file__).parents[2] / "docs"


def test_the_provisioning_example_makes_a_token_that_signs_in(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOPML_HOME", str(tmp_path / "home"))
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / "security.md").read_text(), re.S)
    namespace: dict = {}
    try:
        for block in blocks:
            exec(compile(block, "docs/security.md", "exec"), namespace)
        context = loopml.configure()
        context.settings.auth = True
        from loopml.auth.users import add_user

        add_user(context.store, "root", role="admin", actor="test")
        with TestClient(create_app(context=context)) as client:
            headers = {"Authorization": f"Bearer {namespace['secret']}"}
            assert client.get("/api/v1/models", headers=headers).status_code == 200
            assert client.get("/api/v1/models").status_code == 401
    finally:
        loopml.configure(home=tmp_path / "home")


def test_every_users_and_tokens_command_is_documented():
    cli, security = (DOCS / "cli.md").read_text(), (DOCS / "security.md").read_text()
    for group, app in (("users", users.app), ("tokens", tokens.app)):
        for command in app.registered_commands:
            assert f"### `loopml {group} {command.name}" in cli
            assert f"loopml {group} {command.name}" in security
