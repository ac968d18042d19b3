"""The module-level model API: ``loopml.log_model``, ``loopml.load_model`` …"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from loopml._context import get_context
from loopml.errors import InvalidInput
from loopml.models import LoadedModel, load_version
from loopml.models import signature as signatures
from loopml.models.trust import Trust, combine
from loopml.registry import approvals, promotion, service
from loopml.registry.entities import AliasMove, Approval, ModelVersion

_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>\d+))?$")


def log_model(
    model: Any,
    name: str,
    signature: signatures.Signature | str | None = "infer",
    input_example: Any = None,
    segment: Mapping[str, Any] | None = None,
    datasets: Iterable[Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    trusted: bool = False,
    rules: Any = None,
    validation: Any = None,
    description: str | None = None,
    explain_data: Any = None,
) -> ModelVersion:
    """Save ``model`` (safely, by flavor) and register it as a new version of ``name``.

    Inside an active run the version points to it; otherwise a short run is
    recorded for it. ``datasets`` are the dataset versions (or their ids) that
    trained it; ``rules`` the validation rules serving checks inputs against.
    ``explain_data`` (its training rows, say) gives the version its global
    explanation at registration, when the explain extra is installed (LightGBM
    and XGBoost need no extra).
    """
    from loopml.tracking import fluent

    service.check_model_name(name)
    if signature != "infer" and not isinstance(signature, signatures.Signature | None):
        raise InvalidInput(
            "signature must be 'infer', None or a Signature.", hint="Leave it as 'infer'."
        )
    context = get_context()
    active = fluent.active_run()
    run = active or fluent.start_run(experiment=f"model:{name}", name=f"log {name}")
    try:
        # loopml's own work, its imports included: not the run's training CPU
        with fluent.not_training():
            if signature == "infer":
                signature = _infer_signature(model, input_example)
            reports_of = None
            if explain_data is not None:
                from loopml.explain.service import reports_at_registration

                reports_of = reports_at_registration(model, name, signature, explain_data)
            return service.register_model(
                context.store,
                context.artifacts,
                model,
                name,
                signature=signature,
                trusted=trusted,
                reports_of=reports_of,
                segment=segment,
                run_id=run.id,
                metrics=metrics,
                dataset_version_ids=[_dataset_id(d) for d in datasets or ()],
                rules=_as_dict(rules),
                validation=_as_dict(validation),
                description=description,
                actor=context.settings.actor,
            )
    finally:
        if active is None:
            run.end()


def load_model(
    uri: str, segment: Mapping[str, Any] | str | None = None, *, trusted: Trust = False
) -> LoadedModel:
    """``models:/NAME@ALIAS``, ``models:/NAME/VERSION`` or ``models:/NAME`` (newest), as a model to predict with.

    A model file loads only when every type in it is on loopml's allow-list;
    ``trusted`` names more types to accept (``trusted=["pkg.Class"]``), or True
    accepts anything, pickles included: only for files from someone you trust."""
    context = get_context()
    version = get_model_version(*_parse(uri), segment=segment)
    trust = combine(trusted, context.settings.trusted_model_types)
    return load_version(context.artifacts, version, trusted=trust)


def get_model_version(
    name: str, version: int | None = None, alias: str | None = None, segment=None
) -> ModelVersion:
    return service.resolve(get_context().store, name, alias=alias, version=version, segment=segment)


def list_model_versions(name: str, segment=None) -> list[ModelVersion]:
    return service.list_versions(get_context().store, name, segment=segment)


def list_segments(name: str) -> list[dict[str, Any]]:
    return service.list_segments(get_context().store, name)


def set_alias(
    name: str, alias: str, version: int, segment=None, reason: str | None = None
) -> AliasMove:
    """Move an alias without a gate (use ``promote`` for gated aliases such as champion)."""
    context = get_context()
    return service.set_alias(
        context.store,
        name,
        alias,
        version,
        segment=segment,
        actor=context.settings.actor,
        reason=reason,
    )


def promote(
    name: str,
    version: int,
    alias: str = "champion",
    reason: str | None = None,
    evaluation: Mapping[str, Mapping[str, float]] | None = None,
    allow_breaking_signature: bool = False,
    force: bool = False,
) -> AliasMove | Approval:
    """Through the gate; ``force`` overrides failed checks (needs a reason, audited)."""
    context = get_context()
    return promotion.promote(
        context.store,
        name,
        version,
        alias=alias,
        actor=context.settings.actor,
        reason=reason,
        evaluation=evaluation,
        allow_breaking_signature=allow_breaking_signature,
        force=force,
    )


def archive_version(name: str, version: int, *, reason: str) -> ModelVersion:
    """Retire a version for good: its aliases go; it never serves or is promoted again."""
    from loopml.registry.archive import archive_version as archive

    context = get_context()
    return archive(context.store, name, version, actor=context.settings.actor, reason=reason)[0]


def rollback(
    name: str, alias: str = "champion", segment=None, reason: str | None = None
) -> AliasMove:
    context = get_context()
    return promotion.rollback(
        context.store,
        name,
        alias=alias,
        segment=segment,
        actor=context.settings.actor,
        reason=reason,
    )


def set_gate(name: str, **gate: Any) -> None:
    """e.g. ``set_gate("demand", thresholds={"mae": "<= 3"}, beat_champion="mae", margin=0.02)``."""
    from loopml.registry.gates import parse_gate

    context = get_context()
    spec = parse_gate(gate)
    service.set_gate(context.store, name, spec.model_dump(), actor=context.settings.actor)


def champion_at(
    name: str, time: datetime, segment=None, alias: str = "champion"
) -> AliasMove | None:
    """Which version ``alias`` pointed to at ``time``, who moved it there and why."""
    return service.champion_at(get_context().store, name, time, segment=segment, alias=alias)


def list_approvals(state: str | None = "pending", name: str | None = None) -> list[Approval]:
    return approvals.list_approvals(get_context().store, state=state, name=name)


def approve(approval_id: int, reason: str | None = None) -> Approval:
    """Approve a request someone else made; the gate runs again against today's champion."""
    return _decide(approval_id, approve=True, reason=reason)


def reject(approval_id: int, reason: str | None = None) -> Approval:
    """Reject a request; a reason is required (who asked may reject, to withdraw)."""
    return _decide(approval_id, approve=False, reason=reason)


def _decide(approval_id: int, *, approve: bool, reason: str | None) -> Approval:
    context = get_context()
    return approvals.decide(
        context.store,
        approval_id,
        approve=approve,
        reason=reason,
        actor=context.settings.actor,
        max_age=context.settings.approval_max_age,
    )


def _parse(uri: str) -> tuple[str, int | None, str | None]:
    match = _URI.match(uri or "")
    if not match:
        raise InvalidInput(
            f"{uri!r} is not a model URI.",
            hint="Use models:/NAME@ALIAS (e.g. models:/demand@champion) or models:/NAME/VERSION.",
        )
    version = match.group("version")
    return match.group("name"), int(version) if version else None, match.group("alias")


def _infer_signature(model: Any, example: Any) -> signatures.Signature | None:
    if example is not None:
        return signatures.infer(example)
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return None
    return signatures.Signature(tuple(signatures.Column(str(n), "float") for n in names))


def _dataset_id(dataset: Any) -> str:
    value = getattr(dataset, "id", dataset)
    if not isinstance(value, str) or len(value) != 32:
        raise InvalidInput(
            f"{dataset!r} is not a dataset version.",
            hint="Pass what loopml.log_dataset returned, or its 32-character id.",
        )
    return value


def _as_dict(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, bool):
        return {"ok": value}
    return dict(value)


def export_model(name: str, version: int, format: str = "onnx", sample: Any = None):
    """Export a version (ONNX), verified against the native model on ``sample``
    (default: a sample drawn from the signature), and store it with the version's run."""
    from loopml.registry.export import export_version

    context = get_context()
    return export_version(
        context.store,
        context.artifacts,
        name,
        version,
        format=format,
        sample=sample,
        actor=context.settings.actor,
    )


def set_runtime(name: str, version: int, runtime: str, sample: Any = None):
    """Serve a version with ``runtime``: ``"onnx"`` exports it, verified against the model
    on ``sample`` (default: drawn from the signature), and scores it with onnxruntime;
    ``"native"`` scores it with its own library again. Servers reload it within a poll."""
    from loopml.registry.export import set_runtime as set_version_runtime

    context = get_context()
    return set_version_runtime(
        context.store,
        context.artifacts,
        name,
        version,
        runtime,
        sample=sample,
        actor=context.settings.actor,
    )


def model_card(name: str, version: int, format: str = "markdown") -> str:
    """The version's card (Markdown or self-contained HTML): data, metrics, gate results, lineage."""
    from loopml.registry.card import model_card as card

    return card(get_context().store, name, version, format=format)
