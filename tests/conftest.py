"""Fixtures shared by every test: a fresh store per test, on SQLite and PostgreSQL.

SQLite tests copy a file that was migrated once per worker; PostgreSQL tests
share one database per worker, emptied between tests. Tests that take the
``store_url`` fixture (directly or through ``store`` or ``ctx``) run on both.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import loopml
from loopml._context import Context
from loopml.config import Settings
from loopml.store import Store
from loopml.store.tables import Base

PG_SERVER = os.environ.get("LOOPML_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


@pytest.fixture(scope="session")
def worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "loopml.db"
    store = Store(f"sqlite:///{path}")
    store.ensure_schema()
    store.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database(worker) -> str:
    """A database of its own for this test run and worker, dropped at the end.

    Named by the run's id so that test runs in two checkouts never meet.
    """
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", uuid.uuid4().hex)[:10]
    name = f"loopml_test_{run}_{worker}"
    _admin(f'CREATE DATABASE "{name}"')
    url = f"{PG_SERVER}/{name}"
    store = Store(url)
    store.ensure_schema()
    store.dispose()
    yield url
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(statement: str) -> None:
    admin = create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(statement))
    except Exception as error:  # pragma: no cover - a machine without PostgreSQL
        pytest.fail(f"PostgreSQL at {PG_SERVER} is needed for the postgres tests: {error}")
    finally:
        admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "loopml.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    _empty_postgres(url)
    return url


@pytest.fixture
def store(store_url):
    store = Store(store_url)
    yield store
    store.dispose()


@pytest.fixture
def settings(store_url, tmp_path) -> Settings:
    return Settings(home=tmp_path / "home", store_url=store_url, actor="tester")


@pytest.fixture
def ctx(settings) -> Context:
    """The fluent API pointed at a fresh store; active runs are ended afterwards."""
    context = loopml.configure(settings)
    yield context
    while loopml.active_run() is not None:
        loopml.end_run()
    context.close()


@pytest.fixture
def sqlite_ctx(tmp_path, sqlite_template) -> Context:
    """The fluent API on SQLite only, for tests about behaviour, not storage."""
    path = tmp_path / "loopml.db"
    shutil.copy(sqlite_template, path)
    context = loopml.configure(
        Settings(home=tmp_path / "home", store_url=f"sqlite:///{path}", actor="tester")
    )
    yield context
    while loopml.active_run() is not None:
        loopml.end_run()
    context.close()


@pytest.fixture
def app(ctx):
    """The whole server app on the test's store."""
    from loopml.server import create_app

    return create_app(context=ctx)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def live_server(app):
    """The app served by uvicorn on a free loopback port; yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    from loopml.api.listener import server_config

    settings = app.state.context.settings
    server = uvicorn.Server(
        server_config(
            app, settings, host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:  # pragma: no cover
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
