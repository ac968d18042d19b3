"""Engines for the two supported databases, tuned for many small writers.

SQLite runs in WAL mode with a busy timeout; write transactions start with
``BEGIN IMMEDIATE`` so two writers queue on the lock instead of failing when a
read transaction tries to become a write transaction.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from loopml.errors import InvalidInput, StoreCorrupt, StoreUnavailable, require

BUSY_TIMEOUT_MS = 60_000
WRITE_OPTION = "loopml_write"


def build_engine(url: str, *, private: bool = True) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, parsed.database, private)
    if backend == "postgresql":
        if parsed.get_driver_name() in ("psycopg", "psycopg2"):
            require(parsed.get_driver_name(), what="A PostgreSQL store", extra="postgres")
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    raise InvalidInput(
        f"Store URL {parsed.render_as_string(hide_password=True)!r} uses the unsupported "
        f"database {backend!r}.",
        hint="Use sqlite:///path/to/loopml.db or postgresql+psycopg://user@host/db.",
    )


SQLITE_HEADER = b"SQLite format 3\x00"


def check_sqlite_file(path: Path) -> None:
    """Refuse a file that is no SQLite database, or an empty one: SQLite would turn it
    into a new empty store and every model, run and alert would seem gone."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except (FileNotFoundError, NotADirectoryError):  # a new store; its folder is made next
        return
    except OSError as error:
        raise StoreUnavailable(
            f"The store file {str(path)!r} cannot be read ({error.strerror or error}).",
            hint="Check its permissions, or point LOOPML_STORE_URL at another file.",
        ) from error
    wal = path.with_name(path.name + "-wal")
    if size == 0 and not (wal.exists() and wal.stat().st_size > 0):
        raise StoreCorrupt(
            f"The store file {str(path)!r} is empty (0 bytes): it is no loopml store.",
            hint="Restore it from a backup; to start a new, empty store delete the file "
            "(loopml creates it again).",
        )
    if size and header != SQLITE_HEADER:
        raise StoreCorrupt(
            f"The store file {str(path)!r} is not a SQLite database.",
            hint="Restore it from a backup, or point LOOPML_STORE_URL at the right file.",
        )


def _sqlite_engine(url: str, database: str | None, private: bool) -> Engine:
    """``private``: a folder loopml creates is 0700 and the database file 0600 (SQLite gives
    its -wal and -shm files the database's permissions)."""
    file = Path(database).expanduser() if database and database != ":memory:" else None
    if file is not None:
        check_sqlite_file(file)
        folder = file.parent
        try:
            folder.mkdir(mode=0o700 if private else 0o777, parents=True, exist_ok=True)
        except OSError as error:
            raise StoreUnavailable(
                f"The store at {url} cannot be opened: its folder {str(folder)!r} cannot be "
                f"created ({error.strerror or error}).",
                hint="Point LOOPML_STORE_URL (or LOOPML_HOME) at a folder you can write to.",
            ) from error
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        if private and file is not None and file.exists():
            file.chmod(0o600)

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
