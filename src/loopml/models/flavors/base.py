"""The flavor contract: how one kind of model is saved, loaded and described.

A flavor turns a model into named files (bytes) and back. ``load`` returns an
object with ``predict`` (and ``predict_proba`` where the model has it) that
takes a DataFrame with the signature's columns. ``matrix_form`` may offer the
same model taking a plain float matrix instead: a DataFrame costs a small model
more than its arithmetic (a single-row call several times over), so serving and
batch scoring use the matrix whenever a flavor offers one. Every built-in
flavor passes the same conformance suite (tests/models/test_flavor_contract.py).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable


@runtime_checkable
class Flavor(Protocol):
    name: ClassVar[str]

    def handles(self, model: Any) -> bool:
        """True when this flavor knows how to save ``model``."""

    def save(self, model: Any) -> dict[str, bytes]:
        """The model as named files."""

    def load(self, files: dict[str, bytes], *, trusted: bool | Sequence[str]) -> Any:
        """The model back from its files; refuses content that could run code unless
        ``trusted`` is True or names every type outside loopml's allow-list."""

    def requirements(self) -> list[str]:
        """Packages (with versions) needed to load the model."""

    def matrix_form(self, model: Any, columns: Sequence[str]) -> Any | None:
        """The loaded ``model`` as it takes a float matrix of ``columns`` in that order and
        predicts exactly as from the table; None when it needs the table itself."""


def module_of(model: Any) -> str:
    return type(model).__module__.split(".")[0]


@functools.cache  # read once per process: packing a thousand models read it 2,000 times
def version_of(package: str) -> str:
    from importlib import metadata

    try:
        return f"{package}=={metadata.version(package)}"
    except metadata.PackageNotFoundError:
        return package
