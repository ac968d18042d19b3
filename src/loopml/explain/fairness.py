"""Group fairness of a model's predictions, per sensitive attribute, with fairlearn.

For a classifier, per group: rows, selection rate, true and false positive rates and
error rate; across groups: demographic parity difference and ratio (smallest
selection rate over largest) and equalized odds difference. For a regressor, per
group: rows and mean absolute error; across groups: the error difference and ratio
(smallest group error over largest). Each attribute is measured on its own.

The sensitive column need not be a model input: it is read from the evaluation
rows, and the model sees only its signature's columns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from loopml.errors import InvalidInput
from loopml.explain.inputs import fairlearn_metrics

CLASSIFICATION_SUMMARY = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
)
REGRESSION_SUMMARY = ("error_difference", "error_ratio")


@dataclass(frozen=True)
class AttributeFairness:
    attribute: str
    task: str  # classification or regression
    groups: dict[str, dict[str, float]]  # group -> metric -> value ("rows" among them)
    summary: dict[str, float]  # the across-group numbers above
    used_as_feature: bool

    @property
    def smallest_group(self) -> tuple[str, int]:
        group = min(self.groups, key=lambda g: self.groups[g]["rows"])
        return group, int(self.groups[group]["rows"])


@dataclass(frozen=True)
class FairnessReport:
    rows: int
    positive: Any  # the positive class of a classifier
    attributes: tuple[AttributeFairness, ...]

    def to_dict(self) -> dict[str, Any]:
        positive = self.positive.item() if isinstance(self.positive, np.generic) else self.positive
        return {
            "rows": self.rows,
            "positive": positive,
            "attributes": [asdict(a) for a in self.attributes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FairnessReport:
        """From its stored form, where a rate that could not be measured is null (NaN again here)."""
        attributes = tuple(
            AttributeFairness(
                **{
                    **a,
                    "summary": _nan(a["summary"]),
                    "groups": {g: _nan(v) for g, v in a["groups"].items()},
                }
            )
            for a in data["attributes"]
        )
        return cls(data["rows"], data.get("positive"), attributes)

    def attribute(self, name: str) -> AttributeFairness:
        for found in self.attributes:
            if found.attribute == name:
                return found
        known = ", ".join(a.attribute for a in self.attributes)
        raise InvalidInput(
            f"The fairness report has no attribute {name!r}.", hint=f"It measured: {known}."
        )


def _nan(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: float("nan") if v is None else v for k, v in values.items()}


def group_fairness(
    model: Any, data, target: str | Sequence[Any], sensitive: Sequence[str]
) -> FairnessReport:
    """Fairness of ``model`` (a LoadedModel) on ``data``, a table holding the model's inputs,
    the ``sensitive`` columns and the ``target`` column (or the labels themselves)."""
    sensitive = _sensitive_columns(data, sensitive)
    actual = np.asarray(data[target] if isinstance(target, str) else target)
    predicted = np.asarray(model.predict(data))
    inputs = set(model.signature.names) if model.signature else set()
    groups = {name: data[name] for name in sensitive}
    return fairness_of_predictions(actual, predicted, groups, model.classes_, inputs)


def fairness_of_predictions(
    actual, predicted, groups: Mapping[str, Any], classes, inputs=frozenset()
) -> FairnessReport:
    """Fairness of ``predicted`` against ``actual`` per attribute of ``groups`` (name ->
    each row's value); ``classes`` are a classifier's (None for a regressor), ``inputs``
    the model's input names (to say whether an attribute is one)."""
    actual, predicted = np.asarray(actual), np.asarray(predicted)
    if classes is None:
        measure, positive = _regression, None
        actual, predicted = actual.astype(np.float64), predicted.astype(np.float64)
    else:
        if len(classes) != 2:
            raise InvalidInput(
                f"Group fairness takes a binary classifier; this one has {len(classes)} classes.",
                hint="Measure one class against the rest: train a binary model for it.",
            )
        positive = classes[1]
        actual, predicted = (actual == positive).astype(int), (predicted == positive).astype(int)
        measure = _classification
    attributes = tuple(
        AttributeFairness(name, *measure(actual, predicted, _groups(values)), name in inputs)
        for name, values in groups.items()
    )
    return FairnessReport(len(actual), positive, attributes)


def _classification(actual, predicted, groups) -> tuple[str, dict, dict]:
    fm = fairlearn_metrics()
    metrics = {
        "selection_rate": fm.selection_rate,
        "true_positive_rate": _given(fm.true_positive_rate, 1),
        "false_positive_rate": _given(fm.false_positive_rate, 0),
        "error_rate": _error_rate,
    }
    frame = _metric_frame(metrics, actual, predicted, groups)
    gaps, ratios = frame.difference(), frame.ratio()
    rates = frame.by_group[["true_positive_rate", "false_positive_rate"]]
    odds = (
        math.nan
        if rates.isna().any(axis=None)
        else max(gaps["true_positive_rate"], gaps["false_positive_rate"])
    )
    summary = {
        "demographic_parity_difference": float(gaps["selection_rate"]),
        "demographic_parity_ratio": float(ratios["selection_rate"]),
        "equalized_odds_difference": float(odds),
    }
    return "classification", _by_group(frame), summary


def _regression(actual, predicted, groups) -> tuple[str, dict, dict]:
    frame = _metric_frame({"mean_absolute_error": _mae}, actual, predicted, groups)
    summary = {
        "error_difference": float(frame.difference()["mean_absolute_error"]),
        "error_ratio": float(frame.ratio()["mean_absolute_error"]),
    }
    return "regression", _by_group(frame), summary


def _metric_frame(metrics: dict, actual, predicted, groups):
    """fairlearn's MetricFrame of ``metrics`` per group, with each group's row count."""
    fm = fairlearn_metrics()
    return fm.MetricFrame(
        metrics={"rows": fm.count, **metrics},
        y_true=actual,
        y_pred=predicted,
        sensitive_features=groups,
    )


def _given(rate, label: int):
    """fairlearn's ``rate`` of a group, or NaN when the group has no rows of the true
    ``label`` it is conditioned on. scikit-learn would call it 0, as if the group were
    never wrongly flagged (or always missed), and equalized odds would then compare a
    rate that was never observed; instead that group leaves it unmeasured."""

    def measured(actual, predicted) -> float:
        if not np.any(np.asarray(actual) == label):
            return math.nan
        return float(rate(actual, predicted, pos_label=1))

    return measured


def _error_rate(actual, predicted) -> float:
    return float(np.mean(np.asarray(actual) != np.asarray(predicted)))


def _mae(actual, predicted) -> float:
    from loopml.metrics import mae

    return mae(np.asarray(actual), np.asarray(predicted))


def _by_group(frame) -> dict[str, dict[str, float]]:
    table = frame.by_group
    return {
        str(group): {metric: float(value) for metric, value in row.items()}
        for group, row in table.iterrows()
    }


def _groups(column) -> np.ndarray:
    """Group labels as text; a missing value is a group of its own, not dropped."""
    values = column.tolist() if hasattr(column, "tolist") else list(column)
    return np.asarray(["(missing)" if v is None or v != v else str(v) for v in values])


def _sensitive_columns(data, sensitive: Sequence[str]) -> list[str]:
    names = [sensitive] if isinstance(sensitive, str) else list(sensitive)
    if not names:
        raise InvalidInput(
            "No sensitive attribute was named.", hint="Pass sensitive=['column', ...]."
        )
    missing = [name for name in names if name not in data.columns]
    if missing:
        raise InvalidInput(
            f"The evaluation rows lack the sensitive column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(repr, missing))}.",
            hint="Include the attribute in the rows; it need not be a model input.",
        )
    return names
