"""A damaged SQLite store is refused with its path and the fix, never silently
replaced by a new empty store."""

from __future__ import annotations

import sqlite3

import pytest
from sklearn.datasets import load_wine

from loopml.data import service as datasets
from loopml.errors import StoreCorrupt
from loopml.store import Store


def test_an_empty_database_file_is_refused(tmp_path):
    path = tmp_path / "loopml.db"
    path.touch()
    with pytest.raises(StoreCorrupt) as caught:
        Store(f"sqlite:///{path}")
    assert str(path) in caught.value.message and "0 bytes" in caught.value.message
    assert "backup" in caught.value.hint
    assert path.stat().st_size == 0  # not turned into a store


def test_a_file_that_is_no_database_is_refused(tmp_path):
    path = tmp_path / "loopml.db"
    path.write_text("these are someone's notes, not a database\n" * 10)
    with pytest.raises(StoreCorrupt, match="not a SQLite database"):
        Store(f"sqlite:///{path}")


def test_a_truncated_store_is_refused_with_its_path(tmp_path):
    path = tmp_path / "loopml.db"
    store = Store(f"sqlite:///{path}")
    wine = load_wine(as_frame=True).frame
    for n in range(20):  # a store of some size: 20 versions of a real table
        datasets.log_version(
            store, _artifacts(tmp_path), wine.sample(150, random_state=n), "wine", actor="t"
        )
    store.dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    damaged = Store(f"sqlite:///{path}")
    with pytest.raises(StoreCorrupt) as caught:
        datasets.list_versions(damaged, "wine")
    assert str(path) in caught.value.message and "backup" in caught.value.hint
    damaged.dispose()


def _artifacts(tmp_path):
    from loopml.artifacts import ArtifactStore

    return ArtifactStore(str(tmp_path / "artifacts"))
