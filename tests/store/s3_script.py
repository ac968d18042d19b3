"""Run inside the S3 test environment: loopml's artifact store and datasets on the server
at AWS_ENDPOINT_URL. Prints one JSON line of what it found."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import tempfile
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.datasets import load_wine

import loopml
from loopml.artifacts import ArtifactStore
from loopml.config import Settings
from loopml.errors import ArtifactCorrupt

bucket = sys.argv[1]
fs = fsspec.filesystem("s3")
fs.mkdir(bucket)
store = ArtifactStore(f"s3://{bucket}/artifacts")
frame = load_wine(as_frame=True).frame
out: dict = {}

blobs = []
for _cultivar, rows in frame.groupby("target"):
    buffer = io.BytesIO()
    rows.to_parquet(buffer, index=False)
    blobs.append(buffer.getvalue())
stored = store.put_many(blobs)
out["many_digests_match"] = [s.digest for s in stored] == [
    hashlib.sha256(b).hexdigest() for b in blobs
]
out["many_read_back"] = [store.get_bytes(s.digest) for s in stored] == blobs

table = pa.Table.from_pandas(frame)
with store.writer() as sink:
    pq.write_table(table, sink)
written = store.get_bytes(sink.stored.digest)
out["streamed_size_matches"] = sink.stored.size == len(written)
out["streamed_table_equal"] = pq.read_table(pa.BufferReader(written)).equals(table)

damaged = f"{bucket}/artifacts/objects/{stored[0].digest[:2]}/{stored[0].digest[2:]}"
fs.pipe_file(damaged, b"damaged")
fs.invalidate_cache()
try:
    store.get_bytes(stored[0].digest)
    out["damage_detected"] = False
except ArtifactCorrupt:
    out["damage_detected"] = True
store.put_many(blobs)  # the good bytes again replace the damaged copy
out["damage_repaired"] = store.get_bytes(stored[0].digest) == blobs[0]
out["temporary_left"] = (
    fs.ls(f"{bucket}/artifacts/tmp") if fs.exists(f"{bucket}/artifacts/tmp") else []
)

with tempfile.TemporaryDirectory() as home:
    loopml.configure(
        Settings(
            home=home,
            store_url=f"sqlite:///{Path(home) / 'loopml.db'}",
            artifact_uri=f"s3://{bucket}/loopml",
        )
    )
    version = loopml.log_dataset(frame, "wine")
    again = loopml.log_dataset(frame, "wine")
    out["dataset_rows"] = version.num_rows
    out["dataset_same_version_again"] = again.version == version.version == 1
    out["dataset_loaded_equal"] = loopml.load_dataset("wine").equals(frame)
    out["dataset_object_on_server"] = fs.exists(
        f"{bucket}/loopml/objects/{version.digest[:2]}/{version.digest[2:]}"
    )
print(json.dumps(out))
