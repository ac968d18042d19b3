"""Model files an attacker would craft: each runs code (writes a marker file) if loaded naively.

skops files are edited the way an attacker would: unzip a real model, change
schema.json, zip it again. Booster and pickle flavors get a pickle in place of
their model file. Every payload writes ``marker``; a refused load leaves it absent.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np

from loopml.models.package import Package

ATTACKS = [
    "exec",
    "eval",
    "getattr",
    "os.system",
    "subprocess.Popen",
    "functools.partial",
    "nested-pickle",
]


def _text(value: str) -> dict:
    return {
        "__class__": "str",
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(value),
        "is_json": True,
    }


_NO_ITEMS = {
    "__class__": "dict",
    "__module__": "builtins",
    "__loader__": "DictNode",
    "content": {},
    "key_types": {
        "__class__": "list",
        "__module__": "builtins",
        "__loader__": "ListNode",
        "content": [],
    },
}


def _call(module: str, name: str, *args: dict) -> dict:
    """A skops node that calls ``module.name(*args)`` while the file is loaded."""
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": "LossNode",
        "__reduce__": {
            "args": {
                "__class__": "tuple",
                "__module__": "builtins",
                "__loader__": "TupleNode",
                "content": list(args),
            }
        },
        "content": _NO_ITEMS,
    }


def _skops_payload(attack: str, marker: Path) -> tuple[dict, dict[str, bytes]]:
    """The node to plant in schema.json, and any extra zip members it reads."""
    write = f"__import__('pathlib').Path({str(marker)!r}).write_text('ran')"
    if attack in ("exec", "eval"):
        return _call("builtins", attack, _text(write)), {}
    if attack == "getattr":
        module = _call("builtins", "__import__", _text("os"))
        return _call("builtins", "getattr", module, _text("system")), {}
    if attack == "os.system":
        return _call("os", "system", _text(f"touch {marker}")), {}
    if attack == "subprocess.Popen":
        command = {
            "__class__": "list",
            "__module__": "builtins",
            "__loader__": "ListNode",
            "content": [_text("touch"), _text(str(marker))],
        }
        return _call("subprocess", "Popen", command), {}
    if attack == "functools.partial":
        function = {
            "__class__": "system",
            "__module__": "os",
            "__loader__": "FunctionNode",
            "content": {"module_path": "os", "function": "system"},
        }
        return {
            "__class__": "partial",
            "__module__": "functools",
            "__loader__": "PartialNode",
            "content": {
                "func": function,
                "args": {
                    "__class__": "tuple",
                    "__module__": "builtins",
                    "__loader__": "TupleNode",
                    "content": [_text(f"touch {marker}")],
                },
                "kwds": _NO_ITEMS,
                "namespace": _NO_ITEMS,
            },
        }, {}
    # nested-pickle: an object array stored in numpy's format, which unpickles on load
    buffer = io.BytesIO()
    np.save(buffer, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    node = {
        "__class__": "ndarray",
        "__module__": "numpy",
        "__loader__": "NdArrayNode",
        "type": "numpy",
        "file": "payload.npy",
    }
    return node, {"payload.npy": buffer.getvalue()}


def hostile_skops(data: bytes, attack: str, marker: Path) -> bytes:
    """A real skops file with one attribute of its top object replaced by the payload."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(members["schema.json"])
    node, extra = _skops_payload(attack, marker)
    attributes = schema["content"]["content"]
    attributes[next(iter(attributes))] = node
    members["schema.json"] = json.dumps(schema).encode()
    members.update(extra)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


class Payload:
    """Unpickling calls os.system to write the marker."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


class Nested:
    """Unpickling unpickles the pickle inside."""

    def __init__(self, inner: bytes) -> None:
        self.inner = inner

    def __reduce__(self):
        return pickle.loads, (self.inner,)


def hostile_pickle(attack: str, marker: Path) -> bytes:
    """A pickle that runs ``attack`` when it is read (hand-written opcodes, as an attacker would)."""
    write = f"__import__('pathlib').Path({str(marker)!r}).write_text('ran')"
    touch = f"touch {marker}"
    opcodes = {
        "exec": f"cbuiltins\nexec\n(V{write}\ntR.",
        "eval": f"cbuiltins\neval\n(V{write}\ntR.",
        "getattr": f"cbuiltins\ngetattr\n(cbuiltins\n__import__\n(Vos\ntRVsystem\ntR(V{touch}\ntR.",
        "os.system": f"cos\nsystem\n(V{touch}\ntR.",
        "subprocess.Popen": f"csubprocess\nPopen\n((Vtouch\nV{marker}\nltR.",
        "functools.partial": f"cfunctools\npartial\n(cos\nsystem\nV{touch}\ntR(tR.",
    }
    if attack == "nested-pickle":
        return pickle.dumps(Nested(pickle.dumps(Payload(marker))))
    return opcodes[attack].encode()


def hostile_package(real: Package, attack: str, marker: Path) -> bytes:
    """``real``'s package with its model file swapped for a hostile one of the same name."""
    files = dict(real.files)
    for name, content in real.files.items():
        if name.endswith(".skops"):
            files[name] = hostile_skops(content, attack, marker)
        elif not name.endswith(".json"):
            files[name] = hostile_pickle(attack, marker)
    return Package(real.flavor, real.signature, real.requirements, files).to_bytes()
