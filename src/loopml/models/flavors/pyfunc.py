"""Any Python object with ``predict``, saved with cloudpickle — only when trusted.

Unpickling runs code, so this flavor is chosen only when the caller says
``trusted=True`` on logging, and a pickled model loads only with ``trusted=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loopml.errors import UntrustedModel, require
from loopml.models.flavors.base import version_of
from loopml.models.trust import Trust

FILE = "model.cloudpickle"


class PyFuncFlavor:
    name = "pyfunc"

    def handles(self, model: Any) -> bool:
        return callable(getattr(model, "predict", None))

    def save(self, model: Any) -> dict[str, bytes]:
        cloudpickle = require("cloudpickle", what="Logging a Python-function model", extra="pyfunc")
        return {FILE: cloudpickle.dumps(model)}

    def load(self, files: dict[str, bytes], *, trusted: Trust) -> Any:
        if trusted is not True:  # naming types trusts them in skops files, never a pickle
            raise UntrustedModel(
                "This model is a pickled Python object; loading it runs code from its file.",
                hint="Load it with trusted=True only if you trust whoever logged it.",
            )
        cloudpickle = require("cloudpickle", what="Loading a Python-function model", extra="pyfunc")
        return cloudpickle.loads(files[FILE])

    def requirements(self) -> list[str]:
        return [version_of("cloudpickle")]

    def matrix_form(self, model: Any, columns: Sequence[str]) -> Any | None:
        return None  # user code may read its columns by name
