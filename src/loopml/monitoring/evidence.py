"""The evidence behind a drift alert: each drifted feature's distribution in the
reference (the training data) against the monitor's latest window, as shares per
bin or category — what a person looks at to tell a real change from a false alarm."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loopml.data.summary import summarize
from loopml.monitoring.reference import reference_for
from loopml.monitoring.report_html import distribution
from loopml.monitoring.runner import _features
from loopml.monitoring.service import get_monitor
from loopml.predictions.reader import read_predictions
from loopml.predictions.schema import input_column_name
from loopml.store import Store, utcnow


@dataclass(frozen=True)
class FeatureDistribution:
    column: str
    labels: list[str]
    reference: list[float]  # shares, summing to 1 over the shown bins or categories
    current: list[float]


def drift_distributions(
    store: Store,
    artifacts,
    log_root: str,
    monitor: str,
    segment: str,
    *,
    columns: list[str],
    now: datetime | None = None,
) -> list[FeatureDistribution]:
    """``columns`` of the monitor's window ending ``now``, for one segment."""
    spec = get_monitor(store, monitor).spec
    now = now or utcnow()
    # The shown features and the segment only: a day's log of a busy model is millions of
    # rows, and its other columns (ids, flags, attributions) are most of the reading.
    wanted = ["prediction", *(input_column_name(c) for c in columns)]
    rows = read_predictions(
        log_root, spec.model, now - spec.window, now, columns=wanted, segment=segment or None
    )
    if rows.num_rows == 0:
        return []
    features = _features(rows)
    reference = reference_for(
        artifacts, model=spec.model, segment=segment, digest=spec.reference, store=store
    ).summary
    names = [c for c in columns if c in reference.columns and c in features.column_names]
    current = summarize(features, reference, names)
    found = []
    for name in names:
        shares = distribution(reference.columns.get(name), current.columns.get(name))
        if shares is not None:
            labels, expected, actual = shares
            found.append(
                FeatureDistribution(name, list(labels), expected.tolist(), actual.tolist())
            )
    return found
