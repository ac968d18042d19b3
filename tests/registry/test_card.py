import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge

import loopml


def test_card_shows_data_metrics_gate_and_lineage(ctx):
    X = pd.DataFrame({"price": np.arange(50.0), "units": np.arange(50.0) * 2})
    dataset = loopml.log_dataset(X, "sales")
    loopml.set_gate("demand", thresholds={"mae": "<= 1"})
    version = loopml.log_model(
        Ridge().fit(X[["price"]], X["units"]),
        "demand",
        input_example=X[["price"]],
        datasets=[dataset],
        metrics={"mae": 0.5},
        segment={"store": 3},
    )
    loopml.promote("demand", version.version, reason="first")
    card = loopml.model_card("demand", version.version)
    assert "# Model card: demand v1 — store=3" in card
    assert "sales v1 | 50 rows × 2 columns" in card and "| mae | 0.5 |" in card
    assert (
        "✓ mae <= 1: mae = 0.5" in card and "champion | v— → v1 by tester (promote: first)" in card
    )
    page = loopml.model_card("demand", version.version, format="html")
    assert page.startswith("<!doctype html>") and "http" not in page
