"""Storage that repairs itself and keeps to its folders: names that would escape are refused,
a damaged copy is replaced by logging the content again, orphans of killed writes are removed,
and what loopml writes on this machine is readable by its owner only."""

import hashlib
import os
import stat
import time
import uuid

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import loopml
from loopml.artifacts import ORPHAN_AGE, ArtifactStore
from loopml.errors import ArtifactCorrupt, InvalidInput

ESCAPING_PATHS = [
    "../escape.txt",
    "/etc/passwd",
    "a/../../b.txt",
    "a\x00b",
    "C:\\x.txt",
    "a\\..\\b",
    "",
    "a//b",
    "./a",
    "line\nbreak",
]
ESCAPING_NAMES = ["..", ".", "a\x00b", "bad\nname", "a\\b", "a/b"]


@pytest.fixture(params=["local", "memory"])
def backend(request, settings, tmp_path):
    """The fluent API with artifacts in a local folder or on an fsspec filesystem."""
    uri = str(tmp_path / "objects") if request.param == "local" else f"memory://{uuid.uuid4().hex}"
    context = loopml.configure(settings.model_copy(update={"artifact_uri": uri}))
    yield context
    while loopml.active_run() is not None:
        loopml.end_run()
    context.close()


def test_an_artifact_path_that_could_escape_is_refused_before_anything_is_stored(backend):
    with loopml.start_run() as run:
        for path in ESCAPING_PATHS:
            with pytest.raises(InvalidInput, match="outside its folder"):
                loopml.log_text("secret", path)
        loopml.log_text("fine", "plots/ok.txt")
    assert [a.path for a in loopml.get_run(run.id).artifacts] == ["plots/ok.txt"]
    assert not backend.artifacts.exists(hashlib.sha256(b"secret").hexdigest())


def test_model_and_dataset_names_that_could_escape_are_refused(backend):
    wine = load_wine(as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(wine.data, wine.target)
    for name in ESCAPING_NAMES:
        with pytest.raises(InvalidInput, match=r"not a valid model name|outside its folder"):
            loopml.log_model(model, name)
        with pytest.raises(InvalidInput, match="not a dataset name"):
            loopml.log_dataset(wine.frame, name)
    with pytest.raises(InvalidInput):
        loopml.log_dataset(wine.frame, "wine\n")  # a trailing newline is no plain name either
    assert loopml.log_model(model, "wine").version == 1


def test_logging_again_replaces_a_damaged_copy(backend):
    with loopml.start_run() as run:
        loopml.log_text("the real content", "notes/a.txt")
    store = backend.artifacts
    digest = hashlib.sha256(b"the real content").hexdigest()
    store.fs.pipe(store._path(digest), b"the real c0ntent")  # bit rot, or a tampering hand
    with pytest.raises(ArtifactCorrupt, match="does not match its sha256"):
        loopml.load_artifact(run.id, "notes/a.txt")
    with loopml.start_run():
        loopml.log_text("the real content", "notes/b.txt")  # the same bytes, logged again
    assert loopml.load_artifact(run.id, "notes/a.txt") == b"the real content"


def test_orphans_of_a_killed_write_are_removed_when_the_store_is_next_opened(tmp_path):
    root = tmp_path / "artifacts"
    ArtifactStore(str(root)).put_bytes(b"something")
    old, fresh = root / "tmp" / "killed-writer", root / "tmp" / "live-writer"
    old.write_bytes(b"half a file")
    fresh.write_bytes(b"being written now")
    long_ago = time.time() - ORPHAN_AGE - 60
    os.utime(old, (long_ago, long_ago))
    ArtifactStore(str(root))
    assert not old.exists()
    assert fresh.exists()  # another process may still be writing it


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_what_loopml_writes_is_readable_by_its_owner_only(tmp_path, sqlite_template):
    home = tmp_path / "home"
    context = loopml.configure(home=home)
    frame = pd.DataFrame({"x": np.arange(5.0)})
    with loopml.start_run():
        loopml.log_text("private", "a.txt")
        loopml.log_dataset(frame, "numbers")
    digest = hashlib.sha256(b"private").hexdigest()
    assert _mode(home) == 0o700
    assert _mode(home / "loopml.db") == 0o600
    assert _mode(home / "artifacts") == 0o700
    assert _mode(context.artifacts.local_path(digest)) == 0o600
    context.close()


def test_private_files_can_be_turned_off(tmp_path):
    old = os.umask(0o022)
    try:
        context = loopml.configure(home=tmp_path / "shared", private_files=False)
        with loopml.start_run():
            loopml.log_text("shared", "a.txt")
        path = context.artifacts.local_path(hashlib.sha256(b"shared").hexdigest())
        assert _mode(path) == 0o644
        context.close()
    finally:
        os.umask(old)
