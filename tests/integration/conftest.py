"""Helpers for tests that need processes of their own."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def process_env(store_url, tmp_path) -> dict[str, str]:
    """Environment that points a child process's loopml at the test's store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOPML_")}
    env.update(
        LOOPML_STORE_URL=store_url,
        LOOPML_HOME=str(tmp_path / "home"),
        LOOPML_ACTOR="tester",
        PYTHONUNBUFFERED="1",
    )
    return env
