"""Schema versions: Alembic migrations, checked cheaply on every first use."""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

from loopml.errors import SchemaMismatch

# The newest migration in ./migrations/versions; a test keeps the two in step,
# so the common case (schema current) costs one query and no file parsing.
HEAD = "0015"
MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    return {script.revision for script in scripts.walk_revisions()}


def ensure_current(engine: Engine, *, auto_upgrade: bool, where: str) -> None:
    """Upgrade an older schema (or refuse to), and refuse a newer one."""
    with engine.connect() as connection:
        if current_revision(connection) == HEAD:
            return
    with _exclusive(engine) as connection:
        revision = current_revision(connection)
        if revision == HEAD:
            return
        if revision is not None and revision not in known_revisions():
            raise SchemaMismatch(
                f"The store at {where} has schema version {revision!r}, newer than this "
                f"loopml understands ({HEAD!r}).",
                hint="Upgrade loopml (pip install -U loopml) on this machine.",
            )
        if revision is not None and not auto_upgrade:
            raise SchemaMismatch(
                f"The store at {where} has schema version {revision!r}; "
                f"this loopml needs {HEAD!r}.",
                hint="Run `loopml db upgrade` once, then retry.",
            )
        upgrade(connection)


def upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), "head")
    connection.commit()


@contextlib.contextmanager
def _exclusive(engine: Engine) -> Iterator[Connection]:
    """Hold a lock across processes so only one of them migrates."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        lock_path = Path(f"{database}.migrate.lock") if database else None
        with contextlib.ExitStack() as stack:
            if lock_path is not None:
                handle = stack.enter_context(open(lock_path, "w"))
                fcntl.flock(handle, fcntl.LOCK_EX)
            yield stack.enter_context(engine.connect())
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(7426616)"))
        connection.commit()
        try:
            yield connection
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(7426616)"))
            connection.commit()
