"""A drift report as one self-contained HTML file: inline SVG charts, no scripts, works offline.

Given the model's importance (its global explanation), each column shows its share
of the importance of the compared columns, and the verdict says how much of it the
drifted columns carry: a drift of features the model barely uses matters less.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Mapping

import numpy as np

from loopml.data.summary import OTHER, CategoricalSummary, NumericSummary
from loopml.monitoring.drift import ColumnDrift, DriftReport
from loopml.monitoring.importance import shares

WIDTH, HEIGHT, TOP_CATEGORIES = 360, 120, 12
REFERENCE_COLOR, CURRENT_COLOR = "#7a869a", "#d9480f"
STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}td,th{padding:.3rem .7rem;border-bottom:1px solid #ddd;text-align:left}
.drift{color:#c92a2a;font-weight:600}.ok{color:#2b8a3e}.card{display:inline-block;vertical-align:top;margin:.5rem;padding:.5rem;border:1px solid #ddd;border-radius:6px}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem}
"""


def render(report: DriftReport, title: str, importance: Mapping[str, float] | None = None) -> str:
    verdict = "Drift detected" if report.drifted else "No dataset drift"
    share = shares(importance, [c.name for c in report.columns]) if importance else None
    carried = ""
    if share is not None:
        weight = sum(share[c] for c in report.drifted_columns)
        carried = f" The drifted columns carry {weight:.0%} of the model's importance."
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title>",
        f"<style>{STYLE}</style></head><body><h1>{_e(title)}</h1>",
        f"<p class='{'drift' if report.drifted else 'ok'}'>{verdict}: "
        f"{sum(c.drifted for c in report.columns)} of {len(report.columns)} columns drifted "
        f"({report.share_drifted:.0%}; the dataset drifts at {report.drift_share:.0%}).{carried}</p>",
        "<p class='legend'>Distributions:<span style='background:"
        f"{REFERENCE_COLOR}'></span>reference<span style='background:{CURRENT_COLOR}'></span>current</p>",
        _scores(report, share),
    ]
    if report.problems:
        rows = "".join(
            f"<tr><td>{_e(p.column or '(window)')}</td><td>{_e(p.problem)}</td><td>{_e(p.detail)}</td></tr>"
            for p in report.problems
        )
        parts.append(
            f"<h2>Data problems</h2><table><tr><th>column</th><th>problem</th><th>detail</th></tr>{rows}</table>"
        )
    parts.append("<h2>Distributions</h2>")
    parts += [_card(report, column, share) for column in report.columns]
    parts.append("</body></html>")
    return "".join(parts)


def _scores(report: DriftReport, share: Mapping[str, float] | None) -> str:
    rows = "".join(
        f"<tr><td>{_e(c.name)}</td>{_importance_cell(share, c.name)}<td>{c.kind}</td>"
        f"<td>{c.method}</td><td>{_n(c.statistic)}</td>"
        f"<td>{_n(c.p_value)}</td><td>{_n(c.threshold)}</td>"
        f"<td class='{'drift' if c.drifted else 'ok'}'>{'drift' if c.drifted else 'ok'}</td></tr>"
        for c in report.columns
    )
    heading = "<th>importance</th>" if share is not None else ""
    return (
        f"<table><tr><th>column</th>{heading}<th>kind</th><th>method</th><th>statistic</th>"
        f"<th>p-value</th><th>threshold</th><th>verdict</th></tr>{rows}</table>"
    )


def _importance_cell(share: Mapping[str, float] | None, name: str) -> str:
    return "" if share is None else f"<td class='importance'>{share[name]:.0%}</td>"


def _card(report: DriftReport, column: ColumnDrift, share: Mapping[str, float] | None) -> str:
    ref = report.reference.columns.get(column.name) if report.reference else None
    cur = report.current.columns.get(column.name) if report.current else None
    shares = distribution(ref, cur)
    if shares is None:
        return ""
    labels, expected, actual = shares
    weight = "" if share is None else f" · {share[column.name]:.0%} of importance"
    return (
        f"<div class='card'><b>{_e(column.name)}</b>{weight} "
        f"<span class='{'drift' if column.drifted else 'ok'}'>{column.method} {_n(column.statistic)}</span>"
        f"<br>{_bars(labels, expected, actual)}</div>"
    )


def distribution(ref, cur) -> tuple[list[str], np.ndarray, np.ndarray] | None:
    """A column's reference and current shares per bin (numbers) or category, or None
    when the two summaries are not of one kind."""
    if isinstance(ref, NumericSummary) and isinstance(cur, NumericSummary):
        return _numeric_bins(ref, cur)
    if isinstance(ref, CategoricalSummary) and isinstance(cur, CategoricalSummary):
        return _categories(ref, cur)
    return None


def _numeric_bins(ref: NumericSummary, cur: NumericSummary):
    edges = [min(ref.minimum, cur.minimum), *ref.cuts.tolist(), max(ref.maximum, cur.maximum)]
    labels = [f"{a:.4g} to {b:.4g}" for a, b in itertools.pairwise(edges)]
    return labels, _share(ref.hist), _share(cur.hist)


def _categories(ref: CategoricalSummary, cur: CategoricalSummary):
    keys = sorted(set(ref.counts) | set(cur.counts), key=lambda k: -ref.counts.get(k, 0))
    shown = [k for k in keys if k != OTHER][:TOP_CATEGORIES]
    expected = _share(np.array([ref.counts.get(k, 0) for k in shown], dtype=float), ref.count)
    actual = _share(np.array([cur.counts.get(k, 0) for k in shown], dtype=float), cur.count)
    return shown, expected, actual


def _bars(labels: list[str], expected: np.ndarray, actual: np.ndarray) -> str:
    """Paired bars (reference, current) per bin or category, with tooltips."""
    top = max(float(np.max(expected, initial=0)), float(np.max(actual, initial=0)), 1e-12)
    slot = WIDTH / max(len(labels), 1)
    bars = []
    for i, label in enumerate(labels):
        for j, (value, color) in enumerate(
            ((expected[i], REFERENCE_COLOR), (actual[i], CURRENT_COLOR))
        ):
            height = HEIGHT * value / top
            x = i * slot + j * slot / 2
            bars.append(
                f"<rect x='{x:.1f}' y='{HEIGHT - height:.1f}' width='{max(slot / 2 - 1, 0.5):.1f}' "
                f"height='{height:.1f}' fill='{color}'><title>{_e(label)}: "
                f"{'reference' if j == 0 else 'current'} {value:.1%}</title></rect>"
            )
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' "
        f"role='img'>{''.join(bars)}</svg>"
    )


def _share(counts: np.ndarray, total: float | None = None) -> np.ndarray:
    counts = np.asarray(counts, dtype=float)
    total = counts.sum() if total is None else total
    return counts / total if total else counts


def _n(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.4g}"


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)
