"""skops files, read the safe way: the classes they name are checked before any is built.

A skops file is a zip whose schema.json names the class (or function) of every
object in it. ``load`` reads those names first and builds nothing unless each
is on loopml's allow-list (models/trust.py) or trusted by the caller; skops
then audits the same file again against exactly the names accepted here, and
the trees of the built model are bounds-checked before it can predict.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

from loopml.errors import ArtifactCorrupt, UntrustedModel
from loopml.models import trust
from loopml.models.flavors.trees import check_trees


def dumps(model: Any) -> bytes:
    """The model as skops writes it, its schema compact: skops indents the schema, which
    makes Python encode it in pure Python, slower than fitting a small ridge. Readers
    parse the schema as JSON, so the compact file loads the same."""
    import skops.io

    try:
        from skops.io._utils import SaveContext, get_state
    except ImportError:  # a skops that moved its internals writes its own way
        return skops.io.dumps(model)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        context = SaveContext(zip_file=archive)
        state = get_state(model, context)
        context.clear_memo()
        state["protocol"] = context.protocol
        state["_skops_version"] = skops.__version__
        archive.writestr("schema.json", json.dumps(state, separators=(",", ":")))
    return buffer.getvalue()


def load(data: bytes, *, trusted: trust.Trust) -> Any:
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    named = types_in(data)
    if _pickled_arrays(data):
        raise UntrustedModel(
            "This model file holds an array of Python objects, which numpy stores as a pickle: "
            "reading it could run code from the file.",
            hint="skops never reads such arrays; log the model again with numeric or text arrays.",
        )
    refused = trust.untrusted(named, trusted)
    if refused:
        raise trust.refuse(refused)
    try:
        model = skops.io.loads(data, trusted=sorted(named))
    except UntrustedTypesFoundException as error:
        raise trust.refuse([str(error).splitlines()[0]]) from error
    except Exception as error:  # a crafted file fails in many ways; none is the caller's bug
        raise _unreadable(error) from error
    check_trees(model)
    return model


def types_in(data: bytes) -> set[str]:
    """Every class and function the skops file names, read from its schema alone."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise _unreadable(error) from error
    return set(_names(schema))


def _names(node: Any) -> Iterator[str]:
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, dict):
            if "__module__" in current or "__class__" in current:
                yield f"{current.get('__module__')}.{current.get('__class__')}"
            pending.extend(current.values())
        elif isinstance(current, list):
            pending.extend(current)


def _pickled_arrays(data: bytes) -> bool:
    """Does an array in the file hold Python objects (which numpy stores as a pickle)?"""
    import numpy as np

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.endswith(".npy"):
                with archive.open(name) as member:
                    try:
                        header = _header(np.lib.format, member)
                    except ValueError:
                        return True  # not an array numpy would read without a pickle
                    if header[2].hasobject:
                        return True
    return False


def _header(format, member):
    version = format.read_magic(member)
    read = format.read_array_header_1_0 if version == (1, 0) else format.read_array_header_2_0
    return read(member)


def _unreadable(error: Exception) -> ArtifactCorrupt:
    return ArtifactCorrupt(
        f"The skops model file cannot be read ({type(error).__name__}: {error}).",
        hint="It is damaged or was not written by skops; log the model again from its source.",
    )
