"""The model card's explanation and fairness sections, from the version's reports."""

from __future__ import annotations

from loopml.explain.fairness import FairnessReport
from loopml.explain.gate import DEFAULT_LIMITS, HEURISTIC
from loopml.explain.importance import direction, ranked
from loopml.registry import reports
from loopml.registry.entities import ModelVersion

Rows = list[tuple[str, str]]
BAR = 24  # characters of the widest importance bar


def explanation_rows(store, version: ModelVersion) -> Rows:
    found = reports.latest_report(store, version, "explanation")
    if found is None:
        return [("explanation", "not computed (loopml explain NAME --version V --data rows.csv)")]
    report = found.payload
    rows = [
        ("method", report["method"]),
        ("explains", report["output"]),
        ("sample", f"{report['rows']:,} rows"),
    ]
    importance = ranked(report["importance"])
    widest = max(importance.values(), default=0) or 1
    for feature, value in importance.items():
        summary = report["summary"][feature]
        bar = "█" * max(1, round(BAR * value / widest))
        rows.append(
            (
                feature,
                f"{value:.4g} {bar} · {direction(summary['direction'])} · "
                f"5–95%: {summary['p5']:+.3g} … {summary['p95']:+.3g}",
            )
        )
    return rows


def fairness_rows(store, version: ModelVersion) -> Rows:
    found = reports.latest_report(store, version, "fairness")
    if found is None:
        return [("fairness", "not assessed (loopml.assess_fairness)")]
    report = FairnessReport.from_dict(found.payload)
    rows = [
        (
            "assessed",
            f"on {report.rows:,} rows, {found.created_at:%Y-%m-%d %H:%M} UTC by {found.created_by}",
        )
    ]
    for attribute in report.attributes:
        summary = ", ".join(f"{k} {v:.3g}" for k, v in attribute.summary.items())
        default = ", ".join(f"{k} {r}" for k, r in DEFAULT_LIMITS[attribute.task].items())
        feature = "a model input" if attribute.used_as_feature else "not a model input"
        rows.append(
            (attribute.attribute, f"{summary} (default limit {default}: {HEURISTIC}; {feature})")
        )
        for group, values in attribute.groups.items():
            shown = ", ".join(f"{k} {v:.3g}" for k, v in values.items() if k != "rows")
            rows.append(
                (f"  {attribute.attribute} = {group}", f"{int(values['rows'])} rows: {shown}")
            )
    return rows


def evaluation_rows(store, version: ModelVersion) -> Rows:
    found = reports.latest_report(store, version, "evaluation")
    if found is None:
        return [
            ("evaluation", "not evaluated (loopml.evaluate('models:/NAME/V', rows, target=...))")
        ]
    report = found.payload
    rows = [
        (
            "evaluated",
            f"on {report['rows']:,} rows, {found.created_at:%Y-%m-%d %H:%M} UTC by "
            f"{found.created_by}",
        )
    ]
    rows += [
        (name, "— (not defined here)" if value is None else f"{value:.6g}")
        for name, value in sorted(report["metrics"].items())
    ]
    details = report["details"]
    if "confusion" in details:
        labels = details["confusion"]["labels"]
        for actual, counts in zip(labels, details["confusion"]["counts"], strict=True):
            predicted = ", ".join(f"{p}: {n}" for p, n in zip(labels, counts, strict=True))
            rows.append((f"actual {actual}", f"predicted {predicted}"))
        for b in details.get("calibration", []):
            interval = (
                f", 95% {b['observed_low']:.3f}–{b['observed_high']:.3f}"
                if "observed_low" in b
                else ""
            )
            rows.append(
                (
                    f"calibration {b['low']:.1f}–{b['high']:.1f}",
                    f"predicted {b['predicted']:.3f}, observed {b['observed']:.3f}"
                    f"{interval} ({b['rows']} rows)",
                )
            )
    else:
        residuals = details["residuals"]
        rows.append(
            (
                "residuals (actual − predicted)",
                ", ".join(f"{k} {v:+.4g}" for k, v in residuals.items()),
            )
        )
    return rows


def explanation_figures(store, version: ModelVersion) -> list[str]:
    from loopml.explain.plots import contribution_summary

    found = reports.latest_report(store, version, "explanation")
    return [] if found is None else [contribution_summary(found.payload)]


def evaluation_figures(store, version: ModelVersion) -> list[str]:
    from loopml.explain.evaluation import figures

    found = reports.latest_report(store, version, "evaluation")
    return [] if found is None else figures(found.payload["details"])


def family_rows(store, version: ModelVersion) -> Rows:
    """For a segment's version: which features matter across its family's segments."""
    from loopml.explain.importance import TOP_FEATURES, family_importance
    from loopml.explain.service import family_explanations

    if version.segment_key is None:
        return [("family", "not a segment model")]
    family = family_importance(family_explanations(store, version.name))
    if not family:
        return [("family", "no segment explained yet")]
    segments = family[0]["segments"]
    rows = [("segments explained", f"{segments} (newest version of each)")]
    for row in family:
        share = row["top_in_segments"]
        where = (
            "in every segment"
            if share == segments
            else f"in {share} of {segments} segments"
            if share
            else "in no segment"
        )
        rows.append(
            (
                row["feature"],
                f"top {TOP_FEATURES} {where}; mean importance {row['mean_importance']:.4g}",
            )
        )
    return rows
