"""Content-addressed artifact store over fsspec.

An object lives at ``<root>/objects/<2 hex>/<62 hex>``, named by the sha256 of
its bytes, so identical content is stored once. Writes go to a temporary name
and are renamed into place; every read checks the hash again. Storing content
whose stored copy no longer matches its hash replaces that copy (the new bytes
are hashed on the way in), so logging again repairs a damaged store. Temporary
files that a killed writer left behind are removed when the store is next
opened. On a local folder, objects are readable by their owner only (0600 in
0700 folders) unless ``private=False``.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from loopml.errors import ArtifactCorrupt, InvalidInput, NotFound, require

CHUNK = 1 << 20
# A temporary file this old belongs to no live writer (a write takes seconds, not an hour).
ORPHAN_AGE = 3600.0
_PROTOCOL_EXTRAS = {"s3": "s3", "s3a": "s3"}


@dataclass(frozen=True)
class StoredObject:
    digest: str
    size: int


class ArtifactStore:
    """Immutable blobs addressed by their sha256, on any fsspec filesystem."""

    def __init__(self, uri: str, *, private: bool = True) -> None:
        import fsspec

        protocol = uri.split("://", 1)[0] if "://" in uri else "file"
        if protocol in _PROTOCOL_EXTRAS:
            require("s3fs", what=f"The artifact store {uri!r}", extra=_PROTOCOL_EXTRAS[protocol])
        self.uri = uri
        self.fs, root = fsspec.core.url_to_fs(uri)
        self.root = root.rstrip("/")
        self._local = protocol == "file"
        self._private = private and self._local
        if self._private:  # prediction logs live here too: the folder keeps them private
            os.makedirs(self.root, mode=0o700, exist_ok=True)
            os.chmod(self.root, 0o700)
        self._remove_orphans()

    def __repr__(self) -> str:
        return f"ArtifactStore({self.uri!r})"

    def put_bytes(self, data: bytes | memoryview, *, digest: str | None = None) -> StoredObject:
        """Store ``data``; ``digest`` is its sha256 when the caller has just computed it
        from these very bytes (a large table is then hashed once, not twice)."""
        digest = digest or hashlib.sha256(data).hexdigest()
        size = memoryview(data).nbytes
        if not self._intact(digest):
            self._write(digest, data)
        return StoredObject(digest, size)

    def put_many(self, blobs: Sequence[bytes]) -> list[StoredObject]:
        """Store many blobs at once (a pipeline's models, a chunk at a time). Locally each is
        written to a temporary name and renamed; elsewhere the filesystem uploads them
        together (s3fs concurrently), each object appearing whole."""
        stored = [StoredObject(hashlib.sha256(b).hexdigest(), len(b)) for b in blobs]
        missing = {
            s.digest: b for s, b in zip(stored, blobs, strict=True) if not self._intact(s.digest)
        }
        if self._local:  # each folder made once for the batch, not once per blob
            made: set[str] = set()
            for digest, data in missing.items():
                self._write(digest, data, made=made)
        elif missing:
            self.fs.pipe({self._path(digest): data for digest, data in missing.items()})
        return stored

    def put_file(self, path: str | os.PathLike[str]) -> StoredObject:
        path = Path(path)
        if not path.is_file():
            raise NotFound(f"No file at {str(path)!r} to store.", hint="Check the path.")
        with path.open("rb") as handle:
            return self._publish(iter(lambda: handle.read(CHUNK), b""))

    def get_bytes(self, digest: str) -> bytes:
        with self._open_checked(digest) as handle:
            data = handle.read()
        if hashlib.sha256(data).hexdigest() != digest:
            raise self._corrupt(digest)
        return data

    def download(self, digest: str, destination: str | os.PathLike[str]) -> Path:
        """Copy an object to a local file, checking its hash on the way."""
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.partial")
        hasher = hashlib.sha256()
        try:
            with self._open_checked(digest) as source, partial.open("wb") as target:
                for chunk in iter(lambda: source.read(CHUNK), b""):
                    hasher.update(chunk)
                    target.write(chunk)
            if hasher.hexdigest() != digest:
                raise self._corrupt(digest)
            partial.replace(destination)
        finally:
            partial.unlink(missing_ok=True)
        return destination

    def exists(self, digest: str) -> bool:
        path = self._path(digest)
        return os.path.exists(path) if self._local else self.fs.exists(path)

    def local_path(self, digest: str) -> Path | None:
        """The object's path when the store is a local folder (for memory-mapped reads)."""
        return Path(self._path(digest)) if self._local else None

    @contextmanager
    def writer(self) -> Iterator[ObjectWriter]:
        """A file to write one object into, hashed on the way (a large table is written
        once, never held whole in memory). Leaving the block stores it under its hash,
        over a stored copy that fails its hash; ``.stored`` then says as what. If the
        block raises, nothing is stored."""
        self._makedirs(f"{self.root}/tmp")
        temporary = f"{self.root}/tmp/{uuid.uuid4().hex}"
        try:
            with self.fs.open(temporary, "wb") as handle:
                sink = ObjectWriter(handle)
                yield sink
            digest = sink.hasher.hexdigest()
            if not self._intact(digest):
                final = self._path(digest)
                self._makedirs(final.rsplit("/", 1)[0])
                if self._private:
                    os.chmod(temporary, 0o600)
                self.fs.mv(temporary, final)
            sink.stored = StoredObject(digest, sink.size)
        finally:
            if self.fs.exists(temporary):
                self.fs.rm(temporary)

    def _publish(self, chunks: Iterable[bytes]) -> StoredObject:
        with self.writer() as sink:
            for chunk in chunks:
                sink.write(chunk)
        return sink.stored

    def _write(
        self, digest: str, data: bytes | memoryview, *, made: set[str] | None = None
    ) -> None:
        """Bytes whose hash is known: written to a temporary name, then renamed into
        place (over a stored copy that failed its hash). ``made``: folders known to exist."""
        if not self._local:  # an object store's upload appears whole, or not at all
            self.fs.pipe_file(self._path(digest), bytes(data))
            return
        made = set() if made is None else made
        temporary = f"{self.root}/tmp/{uuid.uuid4().hex}"
        final = self._path(digest)
        try:
            self._makedirs_once(f"{self.root}/tmp", made)
            with open(temporary, "wb") as handle:
                handle.write(data)
            if self._private:
                os.chmod(temporary, 0o600)
            self._makedirs_once(final.rsplit("/", 1)[0], made)
            os.replace(temporary, final)
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)

    def _intact(self, digest: str) -> bool:
        """Is the object stored with content that still matches its hash?"""
        if not self.exists(digest):
            return False
        hasher = hashlib.sha256()
        with self.fs.open(self._path(digest), "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                hasher.update(chunk)
        return hasher.hexdigest() == digest

    def _makedirs_once(self, folder: str, made: set[str]) -> None:
        if folder not in made:
            self._makedirs(folder)
            made.add(folder)

    def _makedirs(self, folder: str) -> None:
        if self._private:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        else:
            self.fs.makedirs(folder, exist_ok=True)

    def _remove_orphans(self) -> None:
        """Temporary files of writers that were killed mid-write, older than ORPHAN_AGE."""
        folder = f"{self.root}/tmp"
        try:
            entries = self.fs.ls(folder, detail=False)
        except (FileNotFoundError, NotImplementedError):
            return
        for entry in entries:
            try:
                age = time.time() - self.fs.modified(entry).timestamp()
            except (FileNotFoundError, NotImplementedError, OSError):
                continue
            if age > ORPHAN_AGE:
                self.fs.rm(entry)

    def _open_checked(self, digest: str) -> IO[bytes]:
        _check_digest(digest)
        try:
            return self.fs.open(self._path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(
                f"Artifact {digest[:12]}… is missing from {self.uri}.",
                hint="It was deleted or the store points at another folder; "
                "check LOOPML_ARTIFACT_URI.",
            ) from None

    def _path(self, digest: str) -> str:
        return f"{self.root}/objects/{digest[:2]}/{digest[2:]}"

    def _corrupt(self, digest: str) -> ArtifactCorrupt:
        return ArtifactCorrupt(
            f"Artifact {digest[:12]}… in {self.uri} does not match its sha256: "
            "the file was changed or damaged after it was written.",
            hint="Do not use it; log the artifact again from its source.",
        )


class ObjectWriter(io.RawIOBase):
    """The write end of ``ArtifactStore.writer``: hashes and counts what passes through."""

    def __init__(self, handle: IO[bytes]) -> None:
        super().__init__()
        self._handle = handle
        self.hasher = hashlib.sha256()
        self.size = 0
        self.stored: StoredObject | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | memoryview) -> int:  # type: ignore[override]
        self.hasher.update(data)
        self._handle.write(data)
        written = memoryview(data).nbytes
        self.size += written
        return written


def _check_digest(digest: str) -> None:
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise InvalidInput(
            f"{digest!r} is not an artifact hash.", hint="Use the 64-hex sha256 digest."
        )
