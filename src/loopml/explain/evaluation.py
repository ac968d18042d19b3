"""``loopml.evaluate``: the everyday evaluation of a model on labelled rows.

Metrics of the task (from the one metrics module), a confusion matrix and a
calibration table (ten equal-width bins of the positive-class probability) for a
classifier, residual quantiles for a regressor, the global explanation, and group
fairness when sensitive columns are named. Given a registered version, the result
is kept with it (the model card shows its explanation and fairness).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from loopml.errors import MissingExtra

CALIBRATION_BINS = 10


@dataclass(frozen=True)
class Evaluation:
    task: str  # classification or regression
    rows: int
    metrics: dict[str, float]
    details: dict[str, Any]  # confusion matrix and calibration, or residual quantiles
    explanation: dict[str, Any] | None = None
    fairness: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "rows": self.rows, "metrics": self.metrics,
                "details": self.details, "explanation": self.explanation,
                "fairness": self.fairness, "notes": self.notes}  # fmt: skip

    def to_html(self) -> str:
        """A self-contained page: metrics, details, importance and fairness as tables."""
        parts = [f"<h1>Evaluation on {self.rows:,} rows ({self.task})</h1>",
                 _table("Metrics", self.metrics.items())]  # fmt: skip
        if "confusion" in self.details:
            confusion = self.details["confusion"]
            rows = [(f"actual {a}", ", ".join(f"{p}: {n}" for p, n in zip(confusion["labels"], counts, strict=True)))
                    for a, counts in zip(confusion["labels"], confusion["counts"], strict=True)]  # fmt: skip
            parts.append(_table("Confusion matrix (predicted: count)", rows))
            parts.append(_table("Calibration (mean predicted → observed rate, rows)", [
                (f"{b['low']:.1f}–{b['high']:.1f}", f"{b['predicted']:.3f} → {b['observed']:.3f} ({b['rows']})")
                for b in self.details["calibration"]]))  # fmt: skip
        else:
            parts.append(
                _table("Residuals (actual − predicted)", self.details["residuals"].items())
            )
        if self.explanation:
            parts.append(_table(f"Importance ({self.explanation['method']})",
                                self.explanation["importance"].items()))  # fmt: skip
        for attribute in (self.fairness or {}).get("attributes", []):
            parts.append(
                _table(f"Fairness by {attribute['attribute']}", attribute["summary"].items())
            )
        parts += [f"<p>{html.escape(note)}</p>" for note in self.notes]
        return f"<!doctype html><html><head><meta charset='utf-8'><title>Evaluation</title></head><body>{''.join(parts)}</body></html>"  # fmt: skip


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
    details = _classifier_details(model, data, actual) if task == "classification" else _residuals(model, data, actual)  # fmt: skip
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
    if len(labels) == 2 and model.has_proba:
        details["calibration"] = _calibration(model.predict_proba(data)[:, 1], actual == labels[1])
    return details


def _calibration(proba: np.ndarray, positive: np.ndarray) -> list[dict[str, float]]:
    edges = np.linspace(0, 1, CALIBRATION_BINS + 1)
    bins = np.clip(np.digitize(proba, edges[1:-1]), 0, CALIBRATION_BINS - 1)
    return [
        {"low": float(edges[b]), "high": float(edges[b + 1]), "rows": int((bins == b).sum()),
         "predicted": float(proba[bins == b].mean()), "observed": float(positive[bins == b].mean())}
        for b in range(CALIBRATION_BINS) if (bins == b).any()
    ]  # fmt: skip


def _residuals(model: Any, data, actual: np.ndarray) -> dict[str, Any]:
    residuals = actual.astype(np.float64) - np.asarray(model.predict(data), dtype=np.float64)
    quantiles = np.percentile(residuals, [5, 25, 50, 75, 95])
    named = dict(zip(("p5", "p25", "median", "p75", "p95"), quantiles.tolist(), strict=True))
    return {"residuals": {"mean": float(residuals.mean()), **named}}


def _table(title: str, rows) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(f'{v:.6g}' if isinstance(v, float) else str(v))}</td></tr>"
        for k, v in rows
    )  # fmt: skip
    return f"<h2>{html.escape(title)}</h2><table>{cells}</table>"


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
