"""The evaluation's plots as inline SVG and HTML: no scripts, works offline.

A residual plot (predicted against residual, and the residuals' distribution) for a
regressor; a reliability diagram (mean predicted probability against the observed
rate per bin, with its 95% Wilson interval) and a confusion matrix drawn as a
heat-map table of counts for a classifier; and a global explanation's summary, a
beeswarm in box form: per feature the spread of its contributions, coloured by
whether higher values of it raise or lower the output. Every label is escaped, so a page may
embed them as they are (the model card and the web UI do).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

WIDTH, HEIGHT, MARGIN = 420, 260, 44
POINT_COLOR, BAR_COLOR, IDEAL_COLOR, AXIS_COLOR = "#1c7ed6", "#7a869a", "#adb5bd", "#495057"
HEAT = (28, 126, 214)  # the confusion matrix's colour at a whole row's share
RAISE_COLOR, LOWER_COLOR, MIXED_COLOR = "#d9480f", "#1c7ed6", "#868e96"
FEATURES_SHOWN, ROW_HEIGHT = 15, 18


def residual_plot(points: dict[str, Any]) -> str:
    """Each sampled row as a dot at (predicted, actual − predicted), with the zero line."""
    xs, ys = points["predicted"], points["residual"]
    scale = _Scale(xs, ys, symmetric_y=True)
    dots = "".join(
        f"<circle cx='{scale.x(x):.1f}' cy='{scale.y(y):.1f}' r='2.2' fill='{POINT_COLOR}' "
        f"fill-opacity='.55'><title>predicted {x:.4g}, residual {y:+.4g}</title></circle>"
        for x, y in zip(xs, ys, strict=True)
    )
    zero = _line(scale.x(scale.x_low), scale.y(0), scale.x(scale.x_high), scale.y(0), dashed=True)
    shown = (
        f"{len(xs):,} of {points['of_rows']:,} rows"
        if points["of_rows"] > len(xs)
        else f"{len(xs):,} rows"
    )
    return _svg(
        "residual-scatter",
        f"Residuals against predictions ({shown})",
        scale.axes("predicted", "actual − predicted") + zero + dots,
    )


def histogram(distribution: dict[str, Sequence[float]], label: str) -> str:
    """One bar per bin of ``{"edges": [...], "counts": [...]}``."""
    edges, counts = distribution["edges"], distribution["counts"]
    scale = _Scale([edges[0], edges[-1]], [0, max(counts, default=0) or 1])
    bars = "".join(
        f"<rect x='{scale.x(low):.1f}' y='{scale.y(n):.1f}' "
        f"width='{max(scale.x(high) - scale.x(low) - 1, 0.5):.1f}' "
        f"height='{scale.y(0) - scale.y(n):.1f}' fill='{BAR_COLOR}'>"
        f"<title>{low:.4g} to {high:.4g}: {n} rows</title></rect>"
        for low, high, n in zip(edges[:-1], edges[1:], counts, strict=True)
    )
    return _svg(
        "histogram",
        f"Distribution of {label} ({sum(counts):,} rows)",
        scale.axes(label, "rows") + bars,
    )


def reliability_diagram(bins: Sequence[dict[str, float]], of: str) -> str:
    """Mean predicted probability against the observed rate per non-empty bin; a
    calibrated model's dots lie on the diagonal. Bars at the foot show each bin's rows."""
    scale = _Scale([0, 1], [0, 1])
    most = max((b["rows"] for b in bins), default=1)
    parts = [
        scale.axes(f"mean predicted {of}", "observed rate"),
        _line(scale.x(0), scale.y(0), scale.x(1), scale.y(1), dashed=True),
    ]
    for b in bins:
        foot = 0.15 * b["rows"] / most
        parts.append(
            f"<rect class='rows' x='{scale.x(b['low']) + 1:.1f}' y='{scale.y(foot):.1f}' "
            f"width='{scale.x(b['high']) - scale.x(b['low']) - 2:.1f}' "
            f"height='{scale.y(0) - scale.y(foot):.1f}' fill='{BAR_COLOR}' fill-opacity='.35'>"
            f"<title>{b['low']:.1f}–{b['high']:.1f}: {b['rows']} rows</title></rect>"
        )
        x = scale.x(b["predicted"])
        parts.append(_line(x, scale.y(b["observed_low"]), x, scale.y(b["observed_high"])))
        parts.append(
            f"<circle class='bin' cx='{x:.1f}' cy='{scale.y(b['observed']):.1f}' r='4' "
            f"fill='{POINT_COLOR}'><title>{b['low']:.1f}–{b['high']:.1f}: predicted "
            f"{b['predicted']:.3f}, observed {b['observed']:.3f} (95% "
            f"{b['observed_low']:.3f}–{b['observed_high']:.3f}), {b['rows']} rows</title></circle>"
        )
    return _svg("reliability", "Reliability diagram (95% Wilson intervals)", "".join(parts))


def confusion_table(labels: Sequence[Any], counts: Sequence[Sequence[int]]) -> str:
    """Counts with each cell shaded by its share of the actual class's rows."""
    head = "".join(f"<th scope='col'>{_e(label)}</th>" for label in labels)
    rows = []
    for label, row in zip(labels, counts, strict=True):
        total = sum(row) or 1
        cells = "".join(
            f"<td style='background:rgba({HEAT[0]},{HEAT[1]},{HEAT[2]},{n / total:.3f});"
            f"color:{'#fff' if n / total > 0.55 else '#222'};text-align:right' "
            f"title='{n / total:.1%} of actual {_e(label)}'>{n}</td>"
            for n in row
        )
        rows.append(f"<tr><th scope='row'>actual {_e(label)}</th>{cells}</tr>")
    return (
        "<table class='confusion'><caption>Confusion matrix (rows: actual, columns: "
        f"predicted)</caption><tr><th></th>{head}</tr>{''.join(rows)}</table>"
    )


def contribution_summary(report: dict[str, Any]) -> str:
    """One row per feature, most important first: a whisker from the 5th to the 95th
    percentile of its contributions, a box over the middle half and a tick at the median;
    red when higher values raise the output, blue when they lower it, grey when mixed."""
    from loopml.explain.importance import ranked

    features = list(ranked(report["importance"]))[:FEATURES_SHOWN]
    summary = report["summary"]
    low, high = _span([v for f in features for v in (summary[f]["p5"], summary[f]["p95"], 0.0)])
    width, left, bottom = WIDTH + 100, 150, 10 + ROW_HEIGHT * len(features) + 4

    def x(value: float) -> float:
        return left + (value - low) / (high - low) * (width - left - 10)

    parts = [_line(x(0), 10, x(0), bottom, dashed=True), _line(x(low), bottom, x(high), bottom)]
    parts += [
        f"<text x='{x(v):.1f}' y='{bottom + 14}' text-anchor='{anchor}'>{v:+.3g}</text>"
        for v, anchor in ((low, "start"), (0.0, "middle"), (high, "end"))
    ]
    parts.append(
        f"<text x='{(x(low) + x(high)) / 2:.1f}' y='{bottom + 30}' text-anchor='middle'>"
        f"contribution to the {_e(report['output'])}</text>"
    )
    for row, feature in enumerate(features):
        parts.append(
            _feature_row(feature, summary[feature], 10 + ROW_HEIGHT * (row + 0.5), left, x)
        )
    title = (
        f"Contributions per feature on {report['rows']:,} rows: red, higher values raise "
        "the output; blue, they lower it; grey, mixed"
    )
    return _svg("contributions", title, "".join(parts), width=width, height=bottom + 36)


def _feature_row(feature: str, s: dict[str, Any], y: float, left: int, x) -> str:
    rho = s.get("direction")
    color = (
        MIXED_COLOR if rho is None or abs(rho) < 0.1 else RAISE_COLOR if rho > 0 else LOWER_COLOR
    )
    title = f"{feature}: contributions 5–95% {s['p5']:+.3g} … {s['p95']:+.3g}" + (
        "" if rho is None else f", rank correlation with its value {rho:+.2f}"
    )
    box = ""
    if "p25" in s:  # explanations stored before the quartiles were kept have whiskers only
        box = (
            f"<rect x='{x(s['p25']):.1f}' y='{y - 5:.1f}' width='{max(x(s['p75']) - x(s['p25']), 1):.1f}' "
            f"height='10' fill='{color}' fill-opacity='.35' stroke='{color}'/>"
            + _line(x(s["median"]), y - 5, x(s["median"]), y + 5, color=color)
        )
    return (
        f"<g class='feature' data-feature='{_e(feature)}' data-color='{color}'><title>{_e(title)}</title>"
        f"<text x='{left - 6}' y='{y + 3.5:.1f}' text-anchor='end'>{_e(feature)}</text>"
        f"{_line(x(s['p5']), y, x(s['p95']), y, color=color)}{box}</g>"
    )


class _Scale:
    """Data coordinates to the plot area's pixels, with the axes drawn."""

    def __init__(self, xs: Sequence[float], ys: Sequence[float], *, symmetric_y: bool = False):
        self.x_low, self.x_high = _span(xs)
        self.y_low, self.y_high = _span(ys)
        if symmetric_y:  # residuals: zero in the middle
            top = max(abs(self.y_low), abs(self.y_high))
            self.y_low, self.y_high = -top, top

    def x(self, value: float) -> float:
        share = (value - self.x_low) / (self.x_high - self.x_low)
        return MARGIN + share * (WIDTH - MARGIN - 10)

    def y(self, value: float) -> float:
        share = (value - self.y_low) / (self.y_high - self.y_low)
        return HEIGHT - MARGIN - share * (HEIGHT - MARGIN - 10)

    def axes(self, x_label: str, y_label: str) -> str:
        left, bottom = self.x(self.x_low), self.y(self.y_low)
        ticks = "".join(
            f"<text x='{self.x(v):.1f}' y='{bottom + 14:.1f}' text-anchor='middle'>{v:.3g}</text>"
            for v in (self.x_low, (self.x_low + self.x_high) / 2, self.x_high)
        ) + "".join(
            f"<text x='{left - 4:.1f}' y='{self.y(v) + 4:.1f}' text-anchor='end'>{v:.3g}</text>"
            for v in (self.y_low, (self.y_low + self.y_high) / 2, self.y_high)
        )
        return (
            _line(left, bottom, self.x(self.x_high), bottom)
            + _line(left, bottom, left, self.y(self.y_high))
            + ticks
            + f"<text x='{(left + self.x(self.x_high)) / 2:.1f}' y='{HEIGHT - 6}' "
            f"text-anchor='middle'>{_e(x_label)}</text>"
            + f"<text x='12' y='{(bottom + self.y(self.y_high)) / 2:.1f}' text-anchor='middle' "
            f"transform='rotate(-90 12 {(bottom + self.y(self.y_high)) / 2:.1f})'>{_e(y_label)}</text>"
        )


def _span(values: Sequence[float]) -> tuple[float, float]:
    low, high = float(min(values, default=0)), float(max(values, default=1))
    return (low - 0.5, high + 0.5) if low == high else (low, high)


def _line(
    x1: float, y1: float, x2: float, y2: float, *, dashed: bool = False, color: str | None = None
) -> str:
    dash = " stroke-dasharray='4 3'" if dashed else ""
    color = color or (IDEAL_COLOR if dashed else AXIS_COLOR)
    return f"<line x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}' stroke='{color}'{dash}/>"


def _svg(kind: str, title: str, body: str, *, width: int = WIDTH, height: int = HEIGHT) -> str:
    return (
        f"<figure class='plot'><svg class='{kind}' "  # inline in HTML: no namespace needed
        f"width='{width}' height='{height}' role='img' aria-label='{_e(title)}' "
        f"font-family='system-ui,sans-serif' font-size='10' fill='{AXIS_COLOR}'>{body}</svg>"
        f"<figcaption>{_e(title)}</figcaption></figure>"
    )


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)
