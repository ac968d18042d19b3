"""The metadata store: one SQLAlchemy engine, short sessions, current schema.

``Store.read()`` and ``Store.write()`` hand out sessions for one unit of work;
a write session commits when its block ends and rolls back if it raises, so a
failed call leaves nothing half-written. Database failures surface as
``StoreUnavailable`` with the URL (password hidden) and what to check.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from sqlalchemy import Connection, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from loopml.errors import LoopmlError, StoreCorrupt, StoreUnavailable
from loopml.store.engine import WRITE_OPTION, build_engine
from loopml.store.migrate import ensure_current
from loopml.store.types import utcnow

__all__ = ["Store", "utcnow"]


class Store:
    """A connection to one metadata store (SQLite file or PostgreSQL database)."""

    def __init__(self, url: str, *, auto_upgrade: bool = True, private: bool = True) -> None:
        self.url = url
        self.auto_upgrade = auto_upgrade
        self.display_url = make_url(url).render_as_string(hide_password=True)
        self.engine = build_engine(url, private=private)
        self.dialect = self.engine.dialect.name
        self._writer = self.engine.execution_options(**{WRITE_OPTION: True})
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(self._writer, expire_on_commit=False)
        self._ready = False
        self._ready_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Store({self.display_url!r})"

    def ensure_schema(self) -> None:
        """Check (and on an older embedded store, upgrade) the schema, once."""
        if self._ready:
            return
        with self._ready_lock, self._translate_errors():
            if not self._ready:
                ensure_current(self.engine, auto_upgrade=self.auto_upgrade, where=self.display_url)
                self._ready = True

    def upgrade(self) -> None:
        """Bring the schema to the newest version, whatever ``auto_upgrade`` says."""
        with self._translate_errors():
            ensure_current(self.engine, auto_upgrade=True, where=self.display_url)
        self._ready = True

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        self.ensure_schema()
        with self._translate_errors(), self._read_sessions() as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: commits when the block ends, rolls back if it raises."""
        self.ensure_schema()
        with self._translate_errors(), self._write_sessions() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A Core connection in one write transaction, for bulk inserts on hot paths."""
        self.ensure_schema()
        with self._translate_errors(), self._writer.begin() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except LoopmlError:
            raise
        except exc.DatabaseError as error:
            if _is_corrupt(error):
                raise StoreCorrupt(
                    f"The store at {self.display_url} is damaged: {error.orig}.",
                    hint="Restore the file from a backup (sqlite3's .recover can save what "
                    "is left); nothing from this call was written.",
                ) from error
            if not isinstance(error, exc.OperationalError):
                raise
            raise self._unavailable(error) from error
        except exc.InterfaceError as error:
            raise self._unavailable(error) from error

    def _unavailable(self, error: exc.DBAPIError) -> StoreUnavailable:
        return StoreUnavailable(
            f"The store at {self.display_url} did not answer: "
            f"{' '.join(str(error.orig).split()) or type(error.orig).__name__}.",
            hint="Check that the database is running and LOOPML_STORE_URL is right; "
            "nothing from this call was written.",
        )


def _is_corrupt(error: exc.DatabaseError) -> bool:
    text = str(error.orig).lower()
    return "malformed" in text or "not a database" in text
