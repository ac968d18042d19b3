"""Artifacts stored many at once: each under its hash, once, readable by its owner
only, and a damaged stored copy replaced by the good bytes."""

from __future__ import annotations

import hashlib
import io
import stat

import pytest
from sklearn.datasets import load_wine

from loopml.artifacts import ArtifactStore


def _blobs() -> list[bytes]:
    frame = load_wine(as_frame=True).frame
    out = []
    for _cultivar, rows in frame.groupby("target"):
        buffer = io.BytesIO()
        rows.to_parquet(buffer, index=False)
        out.append(buffer.getvalue())
    return out


def test_many_blobs_are_stored_once_each_under_their_hash(tmp_path):
    store = ArtifactStore(str(tmp_path / "artifacts"))
    blobs = _blobs()
    stored = store.put_many([*blobs, blobs[0]])
    assert [s.digest for s in stored] == [hashlib.sha256(b).hexdigest() for b in [*blobs, blobs[0]]]
    assert [s.size for s in stored] == [len(b) for b in [*blobs, blobs[0]]]
    for blob, each in zip(blobs, stored, strict=False):
        assert store.get_bytes(each.digest) == blob
        assert stat.S_IMODE(store.local_path(each.digest).stat().st_mode) == 0o600
    assert list((tmp_path / "artifacts" / "tmp").iterdir()) == []


def test_storing_again_repairs_a_damaged_copy(tmp_path):
    store = ArtifactStore(str(tmp_path / "artifacts"))
    blobs = _blobs()
    first = store.put_many(blobs)[1]
    path = store.local_path(first.digest)
    path.write_bytes(b"damaged")
    store.put_many(blobs)
    assert store.get_bytes(first.digest) == blobs[1]


def test_a_known_digest_is_not_computed_again_but_the_bytes_are_checked_on_read(tmp_path):
    store = ArtifactStore(str(tmp_path / "artifacts"))
    blob = _blobs()[0]
    digest = hashlib.sha256(blob).hexdigest()
    assert store.put_bytes(memoryview(blob), digest=digest).digest == digest
    assert store.get_bytes(digest) == blob


def test_a_table_written_into_the_store_is_stored_under_the_hash_of_its_bytes(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    store = ArtifactStore(str(tmp_path / "artifacts"))
    table = pa.Table.from_pandas(load_wine(as_frame=True).frame)
    with store.writer() as sink:
        pq.write_table(table, sink)
    data = store.get_bytes(sink.stored.digest)
    assert sink.stored.size == len(data)
    assert pq.read_table(pa.BufferReader(data)).equals(table)
    assert stat.S_IMODE(store.local_path(sink.stored.digest).stat().st_mode) == 0o600
    store.local_path(sink.stored.digest).write_bytes(b"damaged")
    with store.writer() as again:  # the same bytes again repair the damaged copy
        pq.write_table(table, again)
    assert store.get_bytes(again.stored.digest) == data
    assert list((tmp_path / "artifacts" / "tmp").iterdir()) == []


def test_a_write_that_fails_midway_stores_nothing(tmp_path):
    store = ArtifactStore(str(tmp_path / "artifacts"))
    with pytest.raises(RuntimeError), store.writer() as sink:
        sink.write(_blobs()[0][:100])
        raise RuntimeError("the writer died")
    assert sink.stored is None
    assert list((tmp_path / "artifacts" / "tmp").iterdir()) == []
    assert not (tmp_path / "artifacts" / "objects").exists()
