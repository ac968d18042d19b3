"""Live metrics with label coverage, estimated performance before labels, error-stream drift."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from loopml import metrics
from loopml.monitoring import performance as perf


def test_regression_metrics_per_segment_with_label_coverage():
    table = pa.table(
        {
            "segment": ["a", "a", "a", "b", "b"],
            "prediction": [10.0, 12.0, 8.0, 5.0, 7.0],
            "label": [11.0, 10.0, None, None, None],
        }
    )
    windows = {w.segment: w for w in perf.window_performance(table, "regression", by_segment=True)}
    a, b = windows["a"], windows["b"]
    assert (a.rows, a.labelled, a.label_coverage) == (3, 2, pytest.approx(2 / 3))
    expected = {"mae": 1.5, "mape": (1 / 11 + 2 / 10) / 2, "rmse": np.sqrt(2.5)}
    assert {k: a.metrics[k] for k in expected} == pytest.approx(expected)
    assert b.labelled == 0 and b.metrics == {}


def test_estimated_performance_tracks_the_real_one_for_a_calibrated_model():
    rng = np.random.default_rng(5)
    proba = rng.beta(2, 2, 20_000)
    y = (rng.uniform(size=proba.size) < proba).astype(float)  # calibrated by construction
    estimate = perf.estimate_performance(proba)
    real = metrics.classification(y, (proba >= 0.5).astype(float), proba)
    assert estimate["accuracy"] == pytest.approx(real["accuracy"], abs=0.01)
    assert estimate["roc_auc"] == pytest.approx(real["roc_auc"], abs=0.01)


@pytest.mark.parametrize("detector", ["adwin", "page_hinkley"])
def test_a_jump_in_the_error_stream_is_detected_and_a_stable_one_is_not(detector):
    rng = np.random.default_rng(6)
    stable = np.abs(rng.normal(0, 1, 2000))
    assert perf.detect_error_drift(stable, detector) == []
    jumped = np.concatenate([stable, np.abs(rng.normal(0, 1, 1000)) + 2.0])
    changes = perf.detect_error_drift(jumped, detector)
    assert changes and 2000 <= changes[0] < 2300
