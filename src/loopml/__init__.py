"""loopml: take many simple models to production and keep them right.

The public Python API. Everything importable from here is stable; the modules
behind it may change. Importing loopml is cheap: the functions load what they
need when first called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopml._version import __version__

_EXPORTS = {
    "model_card": "loopml.registry.fluent",
    "export_model": "loopml.registry.fluent",
    "set_runtime": "loopml.registry.fluent",
    "log_model": "loopml.registry.fluent",
    "autolog": "loopml.registry.autolog",
    "load_model": "loopml.registry.fluent",
    "get_model_version": "loopml.registry.fluent",
    "list_model_versions": "loopml.registry.fluent",
    "list_segments": "loopml.registry.fluent",
    "set_alias": "loopml.registry.fluent",
    "promote": "loopml.registry.fluent",
    "archive_version": "loopml.registry.fluent",
    "rollback": "loopml.registry.fluent",
    "set_gate": "loopml.registry.fluent",
    "champion_at": "loopml.registry.fluent",
    "list_approvals": "loopml.registry.fluent",
    "approve": "loopml.registry.fluent",
    "reject": "loopml.registry.fluent",
    "create_federation": "loopml.federated.fluent",
    "invite_to_federation": "loopml.federated.fluent",
    "join_federation": "loopml.federated.fluent",
    "run_federation": "loopml.federated.fluent",
    "get_federation": "loopml.federated.fluent",
    "list_federations": "loopml.federated.fluent",
    "evaluate_federated_model": "loopml.federated.fluent",
    "decide_federation_gate": "loopml.federated.fluent",
    "approve_federated_model": "loopml.federated.fluent",
    "federation_decisions": "loopml.federated.fluent",
    "log_dataset": "loopml.data.fluent",
    "load_dataset": "loopml.data.fluent",
    "get_dataset": "loopml.data.fluent",
    "list_datasets": "loopml.data.fluent",
    "runs_of_dataset": "loopml.data.fluent",
    "datasets_of_run": "loopml.data.fluent",
    "set_dataset_rules": "loopml.data.fluent",
    "get_dataset_rules": "loopml.data.fluent",
    "DatasetVersion": "loopml.data.entities",
    "infer_rules": "loopml.data.rules",
    "Rules": "loopml.data.rules",
    "validate": "loopml.data.validation",
    "ValidationReport": "loopml.data.validation",
    "Violation": "loopml.data.validation",
    "configure": "loopml._context",
    "Settings": "loopml.config",
    "LoopmlError": "loopml.errors",
    "NotFound": "loopml.errors",
    "InvalidInput": "loopml.errors",
    "Conflict": "loopml.errors",
    "UntrustedModel": "loopml.errors",
    "start_run": "loopml.tracking.fluent",
    "end_run": "loopml.tracking.fluent",
    "active_run": "loopml.tracking.fluent",
    "log_param": "loopml.tracking.fluent",
    "log_params": "loopml.tracking.fluent",
    "log_metric": "loopml.tracking.fluent",
    "log_metrics": "loopml.tracking.fluent",
    "set_tag": "loopml.tracking.fluent",
    "set_tags": "loopml.tracking.fluent",
    "log_artifact": "loopml.tracking.fluent",
    "log_dict": "loopml.tracking.fluent",
    "log_text": "loopml.tracking.fluent",
    "log_figure": "loopml.tracking.fluent",
    "get_run": "loopml.tracking.fluent",
    "get_metric_history": "loopml.tracking.fluent",
    "search_runs": "loopml.tracking.fluent",
    "list_experiments": "loopml.tracking.fluent",
    "load_artifact": "loopml.tracking.fluent",
    "download_artifact": "loopml.tracking.fluent",
    "drift_report": "loopml.monitoring.drift",
    "DriftReport": "loopml.monitoring.drift",
    "make_reference": "loopml.monitoring.reference",
    "save_reference": "loopml.monitoring.fluent",
    "load_reference": "loopml.monitoring.fluent",
    "Reference": "loopml.monitoring.reference",
    "MonitorSpec": "loopml.monitoring.spec",
    "create_monitor": "loopml.monitoring.fluent",
    "run_monitors": "loopml.monitoring.fluent",
    "list_alerts": "loopml.monitoring.fluent",
    "PredictionLog": "loopml.predictions.writer",
    "FeedbackLog": "loopml.predictions.writer",
    "read_predictions": "loopml.predictions.reader",
    "predict_batch": "loopml.serving.batch",
    "forecast_batch": "loopml.serving.batch",
    "Pipeline": "loopml.pipeline.fluent",
    "load_project": "loopml.pipeline.fluent",
    "ProjectSpec": "loopml.pipeline.spec",
    "PipelineResult": "loopml.pipeline.result",
    "explain_rows": "loopml.explain.explainers",
    "Explanation": "loopml.explain.explanation",
    "explain_version": "loopml.explain.fluent",
    "explain_family": "loopml.explain.fluent",
    "assess_fairness": "loopml.explain.fluent",
    "get_fairness": "loopml.explain.fluent",
    "evaluate": "loopml.explain.fluent",
    "Evaluation": "loopml.explain.evaluation",
    "FairnessReport": "loopml.explain.fairness",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from loopml._context import configure
    from loopml.config import Settings
    from loopml.data.entities import DatasetVersion
    from loopml.data.fluent import (
        datasets_of_run,
        get_dataset,
        get_dataset_rules,
        list_datasets,
        load_dataset,
        log_dataset,
        runs_of_dataset,
        set_dataset_rules,
    )
    from loopml.data.rules import Rules, infer_rules
    from loopml.data.validation import ValidationReport, Violation, validate
    from loopml.errors import Conflict, InvalidInput, LoopmlError, NotFound, UntrustedModel
    from loopml.explain.evaluation import Evaluation
    from loopml.explain.explainers import explain_rows
    from loopml.explain.explanation import Explanation
    from loopml.explain.fairness import FairnessReport
    from loopml.explain.fluent import (
        assess_fairness,
        evaluate,
        explain_family,
        explain_version,
        get_fairness,
    )
    from loopml.federated.fluent import (
        approve_federated_model,
        create_federation,
        decide_federation_gate,
        evaluate_federated_model,
        federation_decisions,
        get_federation,
        invite_to_federation,
        join_federation,
        list_federations,
        run_federation,
    )
    from loopml.monitoring.drift import DriftReport, drift_report
    from loopml.monitoring.fluent import (
        create_monitor,
        list_alerts,
        load_reference,
        run_monitors,
        save_reference,
    )
    from loopml.monitoring.reference import Reference, make_reference
    from loopml.monitoring.spec import MonitorSpec
    from loopml.pipeline.fluent import Pipeline, load_project
    from loopml.pipeline.result import PipelineResult
    from loopml.pipeline.spec import ProjectSpec
    from loopml.predictions.reader import read_predictions
    from loopml.predictions.writer import FeedbackLog, PredictionLog
    from loopml.registry.autolog import autolog
    from loopml.registry.fluent import (
        approve,
        champion_at,
        export_model,
        get_model_version,
        list_approvals,
        list_model_versions,
        list_segments,
        load_model,
        log_model,
        model_card,
        promote,
        reject,
        rollback,
        set_alias,
        set_gate,
        set_runtime,
    )
    from loopml.serving.batch import forecast_batch, predict_batch
    from loopml.tracking.fluent import (
        active_run,
        download_artifact,
        end_run,
        get_metric_history,
        get_run,
        list_experiments,
        load_artifact,
        log_artifact,
        log_dict,
        log_figure,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        log_text,
        search_runs,
        set_tag,
        set_tags,
        start_run,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'loopml' has no attribute {name!r}")
    import importlib
    import sys

    tracking = sys.modules.get("loopml.tracking.fluent")  # loaded if a run is open
    if tracking is None:
        value = getattr(importlib.import_module(module), name)
    else:
        with tracking.not_training():  # the import of loopml's own parts, not training
            value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
