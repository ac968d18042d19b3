"""Explanations and fairness of registered versions, computed and kept with them.

Each function loads the version through the registry, computes its report and
saves it as the version's report (``registry.reports``), which the model card,
the fairness gate and serving read back.
"""

from __future__ import annotations

import logging
from typing import Any

from loopml.explain.fairness import FairnessReport, group_fairness
from loopml.explain.importance import SAMPLE_ROWS, background_of, global_explanation, ranked
from loopml.registry import reports, service
from loopml.registry.entities import ModelVersion

EXPLANATION, FAIRNESS, EVALUATION = "explanation", "fairness", "evaluation"
log = logging.getLogger("loopml.explain")


def explain_version(
    store, artifacts, version: ModelVersion, data, *, sample_rows: int = SAMPLE_ROWS, actor: str
) -> dict[str, Any]:
    """Mean |contribution| per feature of ``version`` on a sample of ``data``, saved with it."""
    from loopml.models import load_version

    model = load_version(artifacts, version)
    report = global_explanation(model, data, sample_rows=sample_rows)
    reports.save_report(
        store, version, EXPLANATION, report, actor=actor, summary=_explanation_summary(report)
    )
    return report


def reports_at_registration(model: Any, name: str, signature, data):
    """For ``register_model(reports_of=...)``: the explanation of ``model`` on ``data``, kept
    with the version in its registration's transaction; none (a note in the log) without
    the libraries it needs."""
    from loopml.errors import MissingExtra
    from loopml.models import LoadedModel

    def reports_of(flavor: str) -> dict[str, tuple[dict, dict]]:
        loaded = LoadedModel(model, flavor=flavor, signature=signature, name=name)
        try:
            report = global_explanation(loaded, data)
        except MissingExtra as missing:
            log.info("no explanation for a new version of %s: %s", name, missing)
            return {}
        return {EXPLANATION: (report, _explanation_summary(report))}

    return reports_of


def _explanation_summary(report: dict[str, Any]) -> dict[str, Any]:
    return {"rows": report["rows"], "top_features": list(report["importance"])[:3]}


def assess_fairness(
    store, artifacts, version: ModelVersion, data, *, target, sensitive, actor: str
) -> FairnessReport:
    """Group fairness of ``version`` on ``data`` (which holds the sensitive columns), saved with it."""
    from loopml.models import load_version

    model = load_version(artifacts, version)
    result = group_fairness(model, data, target, sensitive)
    save_fairness(store, version, result.to_dict(), actor=actor)
    return result


def save_fairness(store, version: ModelVersion, report: dict[str, Any], *, actor: str) -> None:
    """Keep a fairness report (``FairnessReport.to_dict()``) with the version."""
    reports.save_report(
        store, version, FAIRNESS, report, actor=actor, summary=fairness_summary(report)
    )


def fairness_summary(report: dict[str, Any]) -> dict[str, Any]:
    """What the audit trail keeps of a fairness report: each attribute's summary."""
    return {a["attribute"]: a["summary"] for a in report["attributes"]}


def save_evaluation(store, version: ModelVersion, result, *, actor: str) -> None:
    """Keep an evaluation with the version, its explanation and fairness as their own reports."""
    reports.save_report(
        store,
        version,
        EVALUATION,
        result.to_dict(),
        actor=actor,
        summary={"rows": result.rows, "metrics": result.metrics},
    )
    if result.explanation is not None:
        reports.save_report(
            store,
            version,
            EXPLANATION,
            result.explanation,
            actor=actor,
            summary={"rows": result.explanation["rows"]},
        )
    if result.fairness is not None:
        save_fairness(store, version, result.fairness, actor=actor)


def fairness_of(store, version: ModelVersion) -> FairnessReport | None:
    found = reports.latest_report(store, version, FAIRNESS)
    return None if found is None else FairnessReport.from_dict(found.payload)


def explanation_of(store, version: ModelVersion) -> dict[str, Any] | None:
    found = reports.latest_report(store, version, EXPLANATION)
    if found is None:
        return None
    return {**found.payload, "importance": ranked(found.payload["importance"])}


def background_for(store, version: ModelVersion):
    """The background sample kept with the version's explanation, for serving."""
    return background_of(explanation_of(store, version))


def family_explanations(store, name: str) -> list[dict[str, Any]]:
    """The explanation reports of the newest version of each segment of ``name``."""
    service.get_model(store, name)  # an unknown name is an error, not an empty family
    return [r.payload for r in reports.newest_versions_reports(store, name, EXPLANATION)]
