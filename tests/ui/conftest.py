from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from tests.ui import world as world_module

from loopml._context import Context
from loopml.auth import users

PASSWORD = "a long passphrase"
PEOPLE = {"olive": "operator", "otto": "operator", "vera": "viewer", "ada": "admin"}


@pytest.fixture
def world(ctx):
    for name, role in PEOPLE.items():
        users.add_user(ctx.store, name, role=role, password=PASSWORD, actor="setup")
    return world_module.build(ctx.store)


@pytest.fixture
def app(ctx, world):
    from loopml.server import create_app

    context = Context(ctx.settings.model_copy(update={"auth": True}))
    yield create_app(context=context)
    context.close()


@pytest.fixture
def browser(app):
    """A client that behaves like a browser: it asks for HTML and keeps cookies."""
    with TestClient(
        app,
        base_url="http://127.0.0.1",
        headers={"Accept": "text/html"},
        raise_server_exceptions=False,
    ) as client:
        yield client


def csrf(page_html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page_html).group(1)


def sign_in(client, name: str, password: str = PASSWORD):
    form = client.get("/ui/login")
    return client.post(
        "/ui/login",
        data={"csrf": csrf(form.text), "name": name, "password": password, "next": "/ui/"},
    )
