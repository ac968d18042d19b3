"""Export a registered version as ONNX, verified, and keep the file with its run; serve
a version through onnxruntime from such an export, or natively again."""

from __future__ import annotations

from dataclasses import dataclass

from loopml import audit
from loopml.errors import InvalidInput
from loopml.models import load_version
from loopml.models.onnx import export_onnx
from loopml.registry import service
from loopml.registry.entities import ModelVersion
from loopml.store import Store
from loopml.tracking import service as tracking

FORMATS = ("onnx",)
RUNTIMES = ("native", "onnx")


@dataclass(frozen=True)
class ExportedVersion:
    name: str
    version: int
    format: str
    digest: str
    size: int
    artifact_path: str
    max_difference: float
    rows_checked: int


def export_version(
    store: Store,
    artifacts,
    name: str,
    version: int,
    *,
    format: str = "onnx",
    sample=None,
    actor: str,
) -> ExportedVersion:
    if format not in FORMATS:
        raise InvalidInput(
            f"Unknown export format {format!r}.", hint=f"Formats: {', '.join(FORMATS)}."
        )
    registered = service.resolve(store, name, version=version)
    export = export_onnx(load_version(artifacts, registered), sample)
    stored = artifacts.put_bytes(export.data)
    path = f"export/{name}-v{version}.onnx"
    if registered.run_id:
        tracking.record_artifact(store, registered.run_id, path, stored.digest, stored.size)
    with store.write() as session:
        audit.record(
            session,
            actor=actor,
            action="model.export",
            entity_type="model",
            entity_id=name,
            after={
                "version": version,
                "format": format,
                "digest": stored.digest,
                "segment": registered.segment_key,
                "max_difference": export.max_difference,
            },
        )
    return ExportedVersion(
        name,
        version,
        format,
        stored.digest,
        stored.size,
        path,
        export.max_difference,
        export.rows_checked,
    )


def set_runtime(
    store: Store,
    artifacts,
    name: str,
    version: int,
    runtime: str,
    *,
    sample=None,
    actor: str,
) -> ModelVersion:
    """Serve ``version`` with ``runtime``: ``onnx`` exports it (checked against the model on
    ``sample`` or a synthetic one, refused if they differ) and scores that file with
    onnxruntime; ``native`` scores it with its own library again."""
    if runtime not in RUNTIMES:
        raise InvalidInput(
            f"Unknown runtime {runtime!r}.", hint=f"Runtimes: {', '.join(RUNTIMES)}."
        )
    if runtime == "native":
        return service.set_onnx_digest(store, name, version, None, actor=actor)
    export = export_version(store, artifacts, name, version, sample=sample, actor=actor)
    evidence = {"max_difference": export.max_difference, "rows_checked": export.rows_checked}
    return service.set_onnx_digest(
        store, name, version, export.digest, actor=actor, evidence=evidence
    )
