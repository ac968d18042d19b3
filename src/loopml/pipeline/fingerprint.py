"""Cache keys: the hash of a step's inputs, its code and its params.

A step whose key matches a finished run's has nothing new to compute. Data is
hashed row by row (pandas' vectorised row hashes), so one segment's key changes
only when that segment's rows change.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CACHE_TAG = "loopml.cache_key"
# The modules whose code decides what a trained segment is (and its scores).
_TRAINING_MODULES = ("work.py", "features.py", "split.py", "presets.py", "../metrics.py")


def digest(*parts: Any) -> str:
    """sha256 of the parts as canonical JSON (strings and bytes taken as they are)."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, bytes):
            h.update(part)
        elif isinstance(part, str):
            h.update(part.encode())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\x1f")
    return h.hexdigest()


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per row, over the values and the column names."""
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashes


def frame_digest(frame: pd.DataFrame, hashes: np.ndarray | None = None) -> str:
    hashes = row_hashes(frame) if hashes is None else hashes
    layout = [(str(c), str(t)) for c, t in frame.dtypes.items()]
    return digest(layout, np.ascontiguousarray(hashes).tobytes())


@functools.cache
def training_code() -> str:
    """The loopml training code and the model libraries' versions."""
    here = Path(__file__).parent
    sources = [(here / name).read_bytes() for name in _TRAINING_MODULES]
    return digest(*sources, _versions(("loopml", "scikit-learn", "lightgbm", "xgboost", "numpy")))


def _versions(names: Iterable[str]) -> dict[str, str]:
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found
