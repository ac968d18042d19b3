"""An MLflow model's files as a loopml model package, when that is safe.

loopml loads models without running code from the file (skops for scikit-learn,
the libraries' own formats for the boosters). An MLflow scikit-learn model saved
with ``serialization_format="skops"`` converts as it is; a pickled one cannot be
read without running whatever the pickle says, so it is refused here and stays
an artifact of its run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from loopml.errors import InvalidInput
from loopml.models import Package, unpack
from loopml.models.flavors import get_flavor

MLMODEL = "MLmodel"
PICKLE_FORMATS = ("pickle", "cloudpickle")


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
    flavor = get_flavor("sklearn")
    package = Package(
        "sklearn", None, flavor.requirements(), {"model.skops": read(sklearn["pickled_model"])}
    )
    _check_loads(package)
    return package


def _check_loads(package: Package) -> Any:
    """Load once with loopml's allow-list of types: a file that would need trust is refused
    now, at registration, not later at serving."""
    try:
        return unpack(package, trusted=False)
    except Exception as error:
        raise NotConvertible(f"it does not load safely: {error}", "its run") from None


class NotConvertible(InvalidInput):
    """An MLflow model loopml will not make servable; its files stay artifacts."""

    def __init__(self, problem: str, where: str, *, hint: str | None = None) -> None:
        super().__init__(
            f"loopml cannot register this MLflow model: {problem}. Its files stay artifacts of "
            f"{where}; no servable version was made.",
            hint=hint,
        )
        self.problem = problem
