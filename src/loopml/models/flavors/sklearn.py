"""scikit-learn estimators and Pipelines, saved with skops: no pickle, no code run on load."""

from __future__ import annotations

from typing import Any

from loopml.errors import InvalidInput
from loopml.models.flavors.base import module_of, version_of

FILE = "model.skops"
_SAFE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.")


class SklearnFlavor:
    name = "sklearn"

    def handles(self, model: Any) -> bool:
        return module_of(model) == "sklearn" and hasattr(model, "predict")

    def save(self, model: Any) -> dict[str, bytes]:
        import skops.io

        return {FILE: skops.io.dumps(model)}

    def load(self, files: dict[str, bytes], *, trusted: bool) -> Any:
        import skops.io

        data = files[FILE]
        unknown = skops.io.get_untrusted_types(data=data)
        unsafe = [t for t in unknown if not t.startswith(_SAFE_PREFIXES)]
        if unsafe and not trusted:
            raise InvalidInput(
                f"This model file contains types outside scikit-learn and numpy: {', '.join(unsafe)}.",
                hint="Load it with trusted=True only if you trust whoever logged it.",
            )
        return skops.io.loads(data, trusted=unknown)

    def requirements(self) -> list[str]:
        return [version_of("scikit-learn"), version_of("skops")]
