"""Models: flavors, signatures, and loading a registered version to predict."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopml.models.loaded import LoadedModel
from loopml.models.package import Package, pack, unpack
from loopml.models.trust import Trust

if TYPE_CHECKING:
    from loopml.artifacts import ArtifactStore
    from loopml.registry.entities import ModelVersion


def load_version(
    artifacts: ArtifactStore, version: ModelVersion, *, trusted: Trust = False
) -> LoadedModel:
    """The registered ``version`` as a model ready to predict (artifact hash-checked).
    ``trusted``: True, or the names of types to accept beyond the allow-list (trust.py)."""
    package = Package.from_bytes(artifacts.get_bytes(version.artifact_digest))
    native: Any = unpack(package, trusted=trusted)
    runtime_model = None
    if version.onnx_digest:
        from loopml.models.onnx import OnnxMatrixModel

        runtime_model = OnnxMatrixModel(artifacts.get_bytes(version.onnx_digest))
    return LoadedModel(
        native,
        flavor=package.flavor,
        signature=version.signature or package.signature,
        name=version.name,
        version=version.version,
        segment=version.segment,
        runtime_model=runtime_model,
    )


__all__ = ["LoadedModel", "Package", "load_version", "pack", "unpack"]
