"""An MLflow model's files as a loopml model package, when that is safe.

loopml loads models without running code from the file (skops for scikit-learn,
the libraries' own formats for the boosters). An MLflow scikit-learn model saved
with ``serialization_format="skops"`` converts as it is; a pickled one cannot be
read without running whatever the pickle says, so it is refused here and stays
an artifact of its run.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import yaml

from loopml.errors import InvalidInput
from loopml.models import Package, unpack
from loopml.models.flavors import get_flavor
from loopml.models.signature import Column, Signature

MLMODEL = "MLmodel"
PICKLE_FORMATS = ("pickle", "cloudpickle")


class NotConvertible(InvalidInput):
    """An MLflow model loopml will not make servable; its files stay artifacts."""

    def __init__(self, problem: str, where: str, *, hint: str | None = None) -> None:
        super().__init__(
            f"loopml cannot register this MLflow model: {problem}. Its files stay artifacts of "
            f"{where}; no servable version was made.",
            hint=hint,
        )
        self.problem = problem


def to_package(read: Callable[[str], bytes], where: str) -> Package:
    """The loopml package of the MLflow model whose files ``read(name)`` returns;
    ``where`` says in error messages where its files stay."""
    try:
        description = yaml.safe_load(read(MLMODEL)) or {}
    except yaml.YAMLError as error:
        raise NotConvertible(f"its MLmodel file is not YAML ({error})", where) from None
    flavors = description.get("flavors") or {}
    sklearn = flavors.get("sklearn")
    if not isinstance(sklearn, dict):
        known = ", ".join(k for k in flavors if k != "python_function") or "none"
        raise NotConvertible(
            f"loopml converts scikit-learn models only; this one is {known}", where
        )
    file_format = sklearn.get("serialization_format", "cloudpickle")
    if file_format in PICKLE_FORMATS:
        raise NotConvertible(
            f"it is a {file_format} file, which cannot be loaded without running its code",
            where,
            hint="Log it with mlflow.sklearn.log_model(..., serialization_format='skops'), "
            "or with loopml.log_model, to register it.",
        )
    if file_format != "skops":
        raise NotConvertible(f"its serialization format {file_format!r} is unknown", where)
    files = {"model.skops": read(sklearn["pickled_model"])}
    package = Package("sklearn", None, get_flavor("sklearn").requirements(), files)
    model = _check_loads(package)
    return dataclasses.replace(package, signature=signature(description, model))


# MLflow's column types -> loopml's signature kinds
_KINDS = {
    "double": "float",
    "float": "float",
    "long": "integer",
    "integer": "integer",
    "boolean": "boolean",
    "string": "string",
    "datetime": "datetime",
}


def signature(description: dict[str, Any], model: Any) -> Signature | None:
    """The MLmodel's column signature in loopml's terms, else the columns the model saw."""
    try:
        inputs = json.loads((description.get("signature") or {}).get("inputs") or "[]")
    except (TypeError, AttributeError, json.JSONDecodeError):
        inputs = []
    columns = [c for c in inputs if isinstance(c, dict) and c.get("name")]
    if columns and all(c.get("type") in _KINDS for c in columns):
        return Signature(tuple(Column(str(c["name"]), _KINDS[c["type"]]) for c in columns))
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return None
    return Signature(tuple(Column(str(name), "float") for name in names))


def _check_loads(package: Package) -> Any:
    """Load once with loopml's allow-list of types: a file that would need trust is refused
    now, at registration, not later at serving."""
    try:
        return unpack(package, trusted=False)
    except Exception as error:
        raise NotConvertible(f"it does not load safely: {error}", "its run") from None
