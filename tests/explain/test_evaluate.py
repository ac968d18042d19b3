"""``loopml.evaluate``: the everyday evaluation, kept with the version it was given."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, mean_absolute_error
from tests.explain.conftest import diabetes, scaled_breast_cancer, wine

import loopml
from loopml.errors import InvalidInput


def test_a_classifier_on_breast_cancer(ctx):
    X, y = scaled_breast_cancer()
    model = LogisticRegression(max_iter=1000).fit(X, y)
    loopml.log_model(model, "cancer", input_example=X.head())
    data = X.assign(diagnosis=y, size=np.where(X["mean radius"] > 0, "large", "small"))

    result = loopml.evaluate("models:/cancer/1", data, target="diagnosis", sensitive=["size"])

    assert result.task == "classification" and result.rows == len(X)
    assert result.metrics["accuracy"] == pytest.approx(accuracy_score(y, model.predict(X)))
    assert result.details["confusion"]["counts"] == confusion_matrix(y, model.predict(X)).tolist()
    calibration = result.details["calibration"]
    assert sum(b["rows"] for b in calibration) == len(X)
    top = calibration[-1]  # the most confident bin: nearly all positive, as predicted
    assert top["low"] == pytest.approx(0.9) and top["observed"] > 0.9
    assert result.explanation["method"] == "shap LinearExplainer"
    assert result.fairness["attributes"][0]["attribute"] == "size"
    assert loopml.get_fairness("cancer", 1).attribute("size").task == "classification"
    card = loopml.model_card("cancer", 1)
    assert "## Explanation" in card and "## Evaluation" in card
    counts = confusion_matrix(y, model.predict(X))
    assert f"| actual 0 | predicted 0: {counts[0, 0]}, 1: {counts[0, 1]} |" in card
    assert "| calibration 0.9–1.0 | predicted" in card
    assert f"| accuracy | {result.metrics['accuracy']:.6g} |" in card
    page = result.to_html()
    assert "<table class='confusion'>" in page and "<svg class='reliability'" in page
    assert "Fairness by size" in page
    assert set(result.to_dict()) >= {"metrics", "details", "explanation", "fairness"}


def test_a_loaded_regressor_is_evaluated_without_being_stored(ctx):
    X, y = diabetes()
    model = LinearRegression().fit(X, y)
    loopml.log_model(model, "progress", input_example=X.head())
    loaded = loopml.load_model("models:/progress/1")

    result = loopml.evaluate(loaded, X.assign(progress=y), target="progress")

    assert result.metrics["mae"] == pytest.approx(mean_absolute_error(y, model.predict(X)))
    assert result.details["residuals"]["median"] == pytest.approx(
        float(np.median(y - model.predict(X)))
    )
    assert loopml.get_fairness("progress", 1) is None
    assert "not evaluated" in loopml.model_card("progress", 1)
    with pytest.raises(InvalidInput, match="model URI"):
        loopml.evaluate(model, X, target="progress")


def test_a_regressor_evaluated_by_version_shows_its_residuals_in_the_card(ctx):
    X, y = diabetes()
    model = LinearRegression().fit(X, y)
    loopml.log_model(model, "progress", input_example=X.head())

    loopml.evaluate("models:/progress/1", X.assign(progress=y), target="progress")

    card = loopml.model_card("progress", 1)
    median = float(np.median(y - model.predict(X)))
    assert f"median {median:+.4g}" in card and "| residuals (actual − predicted) |" in card


def plot(page: str, kind: str) -> str:
    """The one inline SVG plot of ``kind`` in a page."""
    found = re.findall(rf"<svg class='{kind}'.*?</svg>", page, re.S)
    assert len(found) == 1, f"{len(found)} {kind} plots"
    return found[0]


def wilson(hits: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The 95% Wilson score interval, from its textbook formula."""
    p = hits / n
    centre, half = p + z * z / (2 * n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def test_a_regressors_page_and_card_draw_each_residual_and_their_histogram(ctx):
    X, y = diabetes()
    model = LinearRegression().fit(X, y)
    loopml.log_model(model, "progress", input_example=X.head())

    result = loopml.evaluate("models:/progress/1", X.assign(progress=y), target="progress")

    residuals = y.to_numpy() - model.predict(X)
    scatter = plot(result.to_html(), "residual-scatter")
    assert scatter.count("<circle") == len(X) == 442  # every row: fewer than the plot's cap
    drawn = [float(v) for v in re.findall(r"residual ([-+][\d.e+-]+)</title>", scatter)]
    assert drawn == pytest.approx([float(f"{r:+.4g}") for r in residuals], rel=1e-3)
    bars = plot(result.to_html(), "histogram")
    histogram = result.details["residual_histogram"]
    assert bars.count("<rect") == len(histogram["counts"]) and sum(histogram["counts"]) == 442
    assert histogram["counts"] == np.histogram(residuals, bins=histogram["edges"])[0].tolist()
    card = loopml.model_card("progress", 1, format="html")
    assert plot(card, "residual-scatter").count("<circle") == 442
    assert "http" not in card and "http" not in result.to_html()  # self-contained, offline
    assert "actual − predicted" in plot(card, "histogram")


def test_a_large_table_draws_a_sample_of_its_residuals_and_says_so(ctx):
    X, y = diabetes()
    model = LinearRegression().fit(X, y)
    loopml.log_model(model, "progress", input_example=X.head())
    many = X.assign(progress=y).sample(5_000, replace=True, random_state=1)

    result = loopml.evaluate("models:/progress/1", many, target="progress")

    page = result.to_html()
    assert plot(page, "residual-scatter").count("<circle") == 1_000
    assert "Residuals against predictions (1,000 of 5,000 rows)" in page
    assert sum(result.details["residual_histogram"]["counts"]) == 5_000  # the histogram: all


def test_a_classifiers_reliability_diagram_has_one_dot_per_bin_with_its_interval(ctx):
    X, y = scaled_breast_cancer()
    model = LogisticRegression(max_iter=1000).fit(X, y)
    loopml.log_model(model, "cancer", input_example=X.head())

    result = loopml.evaluate("models:/cancer/1", X.assign(diagnosis=y), target="diagnosis")

    proba = model.predict_proba(X)[:, 1]
    bins = np.minimum((proba * 10).astype(int), 9)
    filled = sorted(set(bins.tolist()))
    diagram = plot(result.to_html(), "reliability")
    assert diagram.count("<circle class='bin'") == len(filled) == len(result.details["calibration"])
    for b, shown in zip(filled, result.details["calibration"], strict=True):
        mine = bins == b
        hits = int(y[mine].sum())
        assert shown["rows"] == mine.sum() and shown["observed"] == pytest.approx(hits / mine.sum())
        assert (shown["observed_low"], shown["observed_high"]) == pytest.approx(
            wilson(hits, mine.sum())
        )
    ece = sum(
        b["rows"] * abs(b["predicted"] - b["observed"]) for b in result.details["calibration"]
    ) / len(X)
    assert ece == pytest.approx(result.metrics["calibration_error"])  # the metric's own bins
    counts = confusion_matrix(y, model.predict(X))
    table = re.search(r"<table class='confusion'>.*?</table>", result.to_html(), re.S).group(0)
    assert [int(n) for n in re.findall(r">(\d+)</td>", table)] == counts.ravel().tolist()
    card = loopml.model_card("cancer", 1, format="html")
    assert plot(card, "reliability").count("<circle class='bin'") == len(filled)
    assert "<table class='confusion'>" in card


def test_more_than_two_classes_are_calibrated_by_their_top_class_on_wine(ctx):
    X, y = wine()
    X = (X - X.mean()) / X.std()
    model = LogisticRegression(max_iter=1000, C=0.05).fit(X, y)
    loopml.log_model(model, "cultivar", input_example=X.head())

    result = loopml.evaluate("models:/cultivar/1", X.assign(cultivar=y), target="cultivar")

    confidence = model.predict_proba(X).max(axis=1)
    right = model.predict(X) == y.to_numpy()
    assert result.details["calibration_of"] == "top-class probability"
    assert sum(b["rows"] for b in result.details["calibration"]) == len(X) == 178
    top = result.details["calibration"][-1]
    mine = confidence >= top["low"]
    assert top["observed"] == pytest.approx(right[mine].mean())
    page = result.to_html()
    assert plot(page, "reliability").count("<circle class='bin'") == len(
        result.details["calibration"]
    )
    table = re.search(r"<table class='confusion'>.*?</table>", page, re.S).group(0)
    assert table.count("<td") == 9 and "actual 2" in table
    card = loopml.model_card("cultivar", 1)  # PostgreSQL's JSON keeps no NaN: null, shown so
    assert "| calibration_error | — (not defined here) |" in card
    assert pd.Series(y).value_counts().sort_index().tolist() == [
        sum(row) for row in result.details["confusion"]["counts"]
    ]
