"""The module-level explanation and fairness API: ``loopml.explain_version`` …"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loopml._context import get_context
from loopml.errors import InvalidInput
from loopml.explain import service
from loopml.explain.evaluation import Evaluation
from loopml.explain.evaluation import evaluate as run_evaluation
from loopml.explain.fairness import FairnessReport
from loopml.explain.importance import SAMPLE_ROWS, family_importance
from loopml.registry import service as registry


def explain_version(
    name: str, version: int, data: Any, sample_rows: int = SAMPLE_ROWS
) -> dict[str, Any]:
    """Compute and keep the global explanation of a version: mean |contribution| per
    feature on at most ``sample_rows`` rows of ``data`` (its training rows, say)."""
    context = get_context()
    found = registry.resolve(context.store, name, version=version)
    return service.explain_version(
        context.store,
        context.artifacts,
        found,
        data,
        sample_rows=sample_rows,
        actor=context.settings.actor,
    )


def explain_family(name: str) -> list[dict[str, Any]]:
    """Which features matter in most segments of ``name``, and which only in some."""
    return family_importance(service.family_explanations(get_context().store, name))


def assess_fairness(
    name: str, version: int, data: Any, target: str | Sequence[Any], sensitive: Sequence[str]
) -> FairnessReport:
    """Group fairness of a version on ``data`` per ``sensitive`` column, kept with the
    version for the ``fairness`` gate check and the model card."""
    context = get_context()
    found = registry.resolve(context.store, name, version=version)
    return service.assess_fairness(
        context.store,
        context.artifacts,
        found,
        data,
        target=target,
        sensitive=sensitive,
        actor=context.settings.actor,
    )


def evaluate(
    model_or_version: Any,
    data: Any,
    target: str,
    sensitive: Sequence[str] | None = None,
    sample_rows: int = SAMPLE_ROWS,
) -> Evaluation:
    """Metrics, confusion matrix and calibration (or residuals), explanation and fairness
    of a model on labelled ``data``. Given a version (``"models:/NAME/3"``, an alias URI or
    a ModelVersion) the result is kept with it; a loaded model is only evaluated."""
    from loopml.models import LoadedModel, load_version
    from loopml.registry.entities import ModelVersion
    from loopml.registry.fluent import load_model

    context = get_context()
    version = None
    if isinstance(model_or_version, str):
        loaded = load_model(model_or_version)
        version = registry.resolve(context.store, loaded.name, version=loaded.version)
    elif isinstance(model_or_version, ModelVersion):
        version = model_or_version
    elif not isinstance(model_or_version, LoadedModel):
        raise InvalidInput(
            f"evaluate takes a model URI, a ModelVersion or a loaded model, not a "
            f"{type(model_or_version).__name__}.",
            hint="Log the model first (loopml.log_model), then evaluate 'models:/NAME/VERSION'.",
        )
    model = model_or_version if version is None else load_version(context.artifacts, version)
    result = run_evaluation(model, data, target, sensitive=sensitive, sample_rows=sample_rows)
    if version is not None:
        service.save_evaluation(context.store, version, result, actor=context.settings.actor)
    return result


def get_fairness(name: str, version: int) -> FairnessReport | None:
    """The version's newest fairness report, or None if none was computed."""
    store = get_context().store
    return service.fairness_of(store, registry.resolve(store, name, version=version))
