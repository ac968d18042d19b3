"""``loopml.evaluate``: the everyday evaluation of a model on labelled rows.

Metrics of the task (from the one metrics module); for a classifier a confusion
matrix and its calibration (ten equal-width bins of the positive-class probability,
or of the top class's for more than two classes, each with a 95% Wilson interval of
its observed rate); for a regressor residual quantiles, a residual plot of at most
``PLOT_POINTS`` sampled rows and the residuals' histogram over all rows; then the
global explanation, and group fairness when sensitive columns are named. Given a
registered version, the result is kept with it and the model card shows it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from loopml.errors import MissingExtra
from loopml.metrics import CALIBRATION_BINS  # the bins of the calibration_error metric

PLOT_POINTS = 1_000  # rows drawn in a residual plot: more only hide each other
HISTOGRAM_BINS = 40  # at most; numpy's "auto" rule picks fewer for small data


@dataclass(frozen=True)
class Evaluation:
    task: str  # classification or regression
    rows: int
    metrics: dict[str, float]
    details: dict[str, Any]  # confusion matrix and calibration, or residuals and their plots
    explanation: dict[str, Any] | None = None
    fairness: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "rows": self.rows,
            "metrics": self.metrics,
            "details": self.details,
            "explanation": self.explanation,
            "fairness": self.fairness,
            "notes": self.notes,
        }

    def to_html(self) -> str:
        """A self-contained page: metrics, plots, importance and fairness."""
        parts = [
            f"<h1>Evaluation on {self.rows:,} rows ({self.task})</h1>",
            _table("Metrics", self.metrics.items()),
            *figures(self.details),
        ]
        if "residuals" in self.details:
            parts.append(
                _table("Residuals (actual − predicted)", self.details["residuals"].items())
            )
        if self.explanation:
            from loopml.explain.plots import contribution_summary

            parts.append(
                _table(
                    f"Importance ({self.explanation['method']})",
                    self.explanation["importance"].items(),
                )
            )
            parts.append(contribution_summary(self.explanation))
        for attribute in (self.fairness or {}).get("attributes", []):
            parts.append(
                _table(f"Fairness by {attribute['attribute']}", attribute["summary"].items())
            )
        parts += [f"<p>{html.escape(note)}</p>" for note in self.notes]
        return (
            f"<!doctype html><html><head><meta charset='utf-8'><title>Evaluation</title>"
            f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>"
        )


STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}"
    "table{border-collapse:collapse;margin:1rem 0}td,th{padding:.3rem .7rem;border-bottom:1px solid #ddd;text-align:left}"
    "figure.plot{display:inline-block;margin:.5rem 1rem .5rem 0}figcaption{font-size:.85rem;color:#555}"
    "caption{text-align:left;white-space:nowrap;color:#555;padding-bottom:.3rem}"
)


def figures(details: dict[str, Any]) -> list[str]:
    """The plots of an evaluation's details (also drawn in the model card)."""
    from loopml.explain import plots

    if "confusion" in details:
        confusion = details["confusion"]
        shown = [plots.confusion_table(confusion["labels"], confusion["counts"])]
        if details.get("calibration"):
            of = details.get("calibration_of", "probability")
            shown.append(plots.reliability_diagram(details["calibration"], of))
        return shown
    if "residual_points" not in details:  # stored before the plots existed
        return []
    return [
        plots.residual_plot(details["residual_points"]),
        plots.histogram(details["residual_histogram"], "actual − predicted"),
    ]


def evaluate(
    model: Any, data, target: str, *, sensitive: Sequence[str] | None = None, sample_rows: int
) -> Evaluation:
    """``model`` is a LoadedModel; ``data`` holds its inputs, ``target`` and any ``sensitive``."""
    from loopml import metrics as scoring
    from loopml.explain.fairness import group_fairness
    from loopml.explain.importance import global_explanation

    actual = np.asarray(data[target])
    task = "regression" if model.classes_ is None else "classification"
    metrics = scoring.evaluate(task, scoring.METRICS_BY_TASK[task], model, data, actual)
    details = (
        _classifier_details(model, data, actual)
        if task == "classification"
        else _residuals(model, data, actual)
    )
    notes: list[str] = []
    try:
        explanation = global_explanation(model, data, sample_rows=sample_rows)
        explanation.pop("background", None)
    except MissingExtra as missing:
        explanation, notes = None, [*notes, f"No explanation: {missing}"]
    fairness = None
    if sensitive:
        fairness = group_fairness(model, data, target, sensitive).to_dict()
    return Evaluation(task, len(actual), metrics, details, explanation, fairness, notes)


def _classifier_details(model: Any, data, actual: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix

    labels = list(model.classes_)
    predicted = model.predict(data)
    confusion = confusion_matrix(actual, predicted, labels=labels)
    details: dict[str, Any] = {
        "confusion": {"labels": [_plain(v) for v in labels], "counts": confusion.tolist()}
    }
    if model.has_proba:
        proba = model.predict_proba(data)
        if len(labels) == 2:
            details["calibration_of"] = f"probability of {labels[1]}"
            details["calibration"] = _calibration(proba[:, 1], actual == labels[1])
        else:  # top-label calibration: is a 70%-sure answer right 70% of the time?
            details["calibration_of"] = "top-class probability"
            details["calibration"] = _calibration(proba.max(axis=1), predicted == actual)
    return details


def _calibration(proba: np.ndarray, positive: np.ndarray) -> list[dict[str, float]]:
    from scipy.stats import binomtest

    edges = np.linspace(0, 1, CALIBRATION_BINS + 1)
    bins = np.minimum((proba * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    found = []
    for b in range(CALIBRATION_BINS):
        mine = bins == b
        if mine.any():
            hits, rows = int(positive[mine].sum()), int(mine.sum())
            interval = binomtest(hits, rows).proportion_ci(method="wilson")
            found.append(
                {
                    "low": float(edges[b]),
                    "high": float(edges[b + 1]),
                    "rows": rows,
                    "predicted": float(proba[mine].mean()),
                    "observed": hits / rows,
                    "observed_low": float(interval.low),
                    "observed_high": float(interval.high),
                }
            )
    return found


def _residuals(model: Any, data, actual: np.ndarray) -> dict[str, Any]:
    predicted = np.asarray(model.predict(data), dtype=np.float64)
    residuals = actual.astype(np.float64) - predicted
    quantiles = np.percentile(residuals, [5, 25, 50, 75, 95])
    named = dict(zip(("p5", "p25", "median", "p75", "p95"), quantiles.tolist(), strict=True))
    shown = np.arange(len(residuals))
    if len(shown) > PLOT_POINTS:  # a fixed seed: the same data draws the same plot
        shown = np.sort(np.random.default_rng(0).choice(shown, PLOT_POINTS, replace=False))
    bins = min(HISTOGRAM_BINS, len(np.histogram_bin_edges(residuals, bins="auto")) - 1)
    counts, edges = np.histogram(residuals, bins=bins)
    return {
        "residuals": {"mean": float(residuals.mean()), **named},
        "residual_points": {
            "predicted": predicted[shown].tolist(),
            "residual": residuals[shown].tolist(),
            "of_rows": len(residuals),
        },
        "residual_histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
    }


def _table(title: str, rows) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_number(v))}</td></tr>"
        for k, v in rows
    )
    return f"<h2>{html.escape(title)}</h2><table>{cells}</table>"


def _number(value: Any) -> str:
    if not isinstance(value, float):
        return str(value)
    return f"{value:.6g}" if np.isfinite(value) else "— (not defined here)"


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
