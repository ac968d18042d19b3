"""Global explanations: which features a version relies on, and how.

Mean |contribution| per feature over a sample of rows (at most ``sample_rows``,
10,000 by default), with a beeswarm in summary per feature: the spread of its
contributions (their quartiles and 5th and 95th percentiles) and whether higher
values of it push the output up or down (the rank correlation of value and
contribution). The model card draws it (``plots.contribution_summary``). A segment family is summarised by
how many of its segments rank each feature among their top few.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from loopml.explain.explainers import BACKGROUND_ROWS, explain_rows, needs_background
from loopml.explain.explanation import Explanation

SAMPLE_ROWS = 10_000
TOP_FEATURES = 3  # a feature "matters in a segment" when it ranks among its top three


def sample_of(frame, rows: int, seed: int = 0):
    """At most ``rows`` rows of ``frame``, drawn without replacement (all when fewer)."""
    return frame if len(frame) <= rows else frame.sample(rows, random_state=seed)


def global_explanation(model: Any, data, *, sample_rows: int = SAMPLE_ROWS) -> dict[str, Any]:
    """The version's explanation report: importance, summary, method, and (for models
    explained against one) the background sample serving explains with."""
    from loopml.models.signature import enforce

    frame = enforce(model.signature, sample_of(data, sample_rows))
    background = sample_of(frame, BACKGROUND_ROWS, seed=1) if needs_background(model) else None
    explanation = explain_rows(model, frame, background=background)
    report: dict[str, Any] = {
        **explanation.describe(),
        "rows": len(frame),
        "importance": explanation.mean_abs(),
        "summary": _summary(explanation, frame),
    }
    if background is not None:
        report["background"] = {
            "columns": list(background.columns),
            "data": background.astype(object).where(background.notna(), None).values.tolist(),
        }
    return report


def background_of(report: Mapping[str, Any] | None):
    """The background sample kept in an explanation report, as a table; None if none."""
    import pandas as pd

    kept = (report or {}).get("background")
    return None if kept is None else pd.DataFrame(kept["data"], columns=kept["columns"])


def family_importance(reports: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Across the segments' reports: per feature, its mean importance, and in how many
    segments it ranks among the top ``TOP_FEATURES`` (all: a family-wide driver; few:
    it matters only there)."""
    totals: dict[str, list[float]] = {}
    top: dict[str, int] = {}
    for report in reports:
        importance = ranked(report["importance"])
        for feature, value in importance.items():
            totals.setdefault(feature, []).append(value)
        for feature in list(importance)[:TOP_FEATURES]:
            top[feature] = top.get(feature, 0) + 1
    rows = [
        {
            "feature": f,
            "mean_importance": float(np.mean(v)),
            "top_in_segments": top.get(f, 0),
            "segments": len(reports),
        }
        for f, v in totals.items()
    ]
    return sorted(rows, key=lambda r: (-r["top_in_segments"], -r["mean_importance"]))


def ranked(importance: Mapping[str, float]) -> dict[str, float]:
    """Largest first. Stored reports may come back with their keys reordered (PostgreSQL's
    JSONB keeps no order), so readers rank again rather than trust the order."""
    return dict(sorted(importance.items(), key=lambda item: -item[1]))


def direction(rho: float | None) -> str:
    """A feature's rank correlation of value and contribution, in words."""
    if rho is None:
        return "direction n/a"
    if abs(rho) < 0.1:
        return f"mixed effect (ρ {rho:+.2f})"
    return f"higher values {'raise' if rho > 0 else 'lower'} the output (ρ {rho:+.2f})"


def _summary(explanation: Explanation, frame) -> dict[str, dict[str, float | None]]:
    """Per feature: the 5th, 25th, 50th, 75th and 95th percentiles of its contributions,
    and the rank correlation of its value with its contribution (None for text or a
    constant)."""
    values = explanation.values
    low, lower, middle, upper, high = np.percentile(values, [5, 25, 50, 75, 95], axis=0)
    numeric = [
        f for f, kind in zip(frame.columns, frame.dtypes, strict=True) if kind.kind in "biuf"
    ]
    matrix = frame[numeric].to_numpy(dtype=np.float64) if numeric else None
    out: dict[str, dict[str, float | None]] = {}
    for position, feature in enumerate(explanation.features):
        direction = None
        if feature in numeric:
            inputs = matrix[:, numeric.index(feature)]
            direction = _rank_correlation(inputs, values[:, position])
        out[feature] = {
            "p5": float(low[position]),
            "p25": float(lower[position]),
            "median": float(middle[position]),
            "p75": float(upper[position]),
            "p95": float(high[position]),
            "direction": direction,
        }
    return out


def _rank_correlation(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's rho (scipy's ``spearmanr`` with ``nan_policy="omit"``): the Pearson
    correlation of the ranks, ties given their average rank. Computed directly, as
    ``spearmanr``'s checks cost more than the arithmetic, once per feature per version."""
    known = ~(np.isnan(x) | np.isnan(y))
    if known.sum() < 2:
        return None
    ranks_x, ranks_y = _ranks(x[known]), _ranks(y[known])
    ranks_x -= ranks_x.mean()
    ranks_y -= ranks_y.mean()
    scale = np.sqrt((ranks_x @ ranks_x) * (ranks_y @ ranks_y))
    return float(ranks_x @ ranks_y / scale) if scale > 0 else None


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties given their average rank (scipy's ``rankdata``, method average)."""
    order = np.argsort(values, kind="mergesort")
    inverse = np.empty(len(values), dtype=np.intp)
    inverse[order] = np.arange(len(values))
    ordered = values[order]
    starts = np.concatenate(([True], ordered[1:] != ordered[:-1]))
    dense = starts.cumsum()[inverse]
    bounds = np.concatenate((np.flatnonzero(starts), [len(starts)]))
    return 0.5 * (bounds[dense] + bounds[dense - 1] + 1)
