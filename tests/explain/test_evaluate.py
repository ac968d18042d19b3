"""``loopml.evaluate``: the everyday evaluation, kept with the version it was given."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, mean_absolute_error
from tests.explain.conftest import diabetes, scaled_breast_cancer

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
    assert "<h2>Confusion matrix" in page and "Calibration" in page and "Fairness by size" in page
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
