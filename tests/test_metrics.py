"""One definition of each metric: training, gates, retrains and monitors give the same numbers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as sk
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from loopml import FeedbackLog, PredictionLog, metrics
from loopml.monitoring.performance import window_performance
from loopml.predictions.labels import read_labelled

T0 = datetime(2026, 3, 1, 9, tzinfo=timezone.utc)


def _breast_cancer(classes):
    """A classifier of scikit-learn's breast cancer data, its classes named by ``classes``."""
    data = load_breast_cancer(as_frame=True)
    y = np.asarray(classes)[data.target.to_numpy()]
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, y, test_size=0.3, random_state=0, stratify=y
    )
    # A deliberately weak model (two features), so the averaging choices give different F1s.
    columns = ["mean texture", "mean smoothness"]
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_train[columns], y_train)
    return model, X_test[columns], y_test


def _through_the_log(tmp_path, model, X, y):
    """The rows served, logged and labelled as serving and feedback do it, read back by monitoring."""
    predictions, feedback = PredictionLog(str(tmp_path)), FeedbackLog(str(tmp_path))
    predicted, proba = model.predict(X), model.predict_proba(X)[:, 1]
    predictions.append(
        {"prediction_id": f"p{i}", "time": T0, "model": "tumour", "prediction": p, "proba": q}
        for i, (p, q) in enumerate(zip(predicted.tolist(), proba.tolist(), strict=True))
    )
    feedback.append(
        {"prediction_id": f"p{i}", "label": label} for i, label in enumerate(y.tolist())
    )
    predictions.close()
    feedback.close()
    window = read_labelled(str(tmp_path), "tumour", T0, T0 + timedelta(hours=1))
    [performance] = window_performance(window, "classification", by_segment=False)
    return performance


@pytest.mark.parametrize(
    "classes", [["malignant", "benign"], [0, 1], [False, True], ["No", "Yes"]], ids=str
)
def test_training_and_monitoring_agree_on_the_same_rows(tmp_path, classes):
    model, X, y = _breast_cancer(classes)
    names = ["accuracy", "f1", "roc_auc", "log_loss", "calibration_error"]
    at_training = metrics.evaluate("classification", names, model, X, y)
    in_monitoring = _through_the_log(tmp_path, model, X, y)
    assert in_monitoring.labelled == len(y) == 171
    for name in names:
        assert in_monitoring.metrics[name] == pytest.approx(at_training[name], abs=1e-9), name
    # F1 is the macro average, as documented, and differs from the positive class's F1.
    assert at_training["f1"] == pytest.approx(sk.f1_score(y, model.predict(X), average="macro"))
    positive = sk.f1_score(y, model.predict(X), pos_label=model.classes_[1])
    assert abs(at_training["f1"] - positive) > 0.01
    assert 0.6 < at_training["accuracy"] < 0.9  # the weak model a user would see


def test_class_types_do_not_change_a_metric():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    p = np.where(rng.uniform(size=300) < 0.8, y, 1 - y)
    as_ints = metrics.classification(y, p, names=["accuracy", "f1"])
    for kind in (bool, str, float):
        same = metrics.classification(y.astype(kind), p.astype(kind), names=["accuracy", "f1"])
        assert same == pytest.approx(as_ints), kind
    text = metrics.classification(np.where(y, "Yes", "No"), np.where(p, "Yes", "No"))
    assert text["accuracy"] == as_ints["accuracy"] and text["f1"] == as_ints["f1"]
    # a label sent back as text compares with its numeric prediction
    assert metrics.classification(["1", "0"], [1.0, 0.0], names=["accuracy"]) == {"accuracy": 1}


def test_multiclass_metrics_match_scikit_learn_on_wine():
    X, y = load_wine(return_X_y=True)
    names = np.array(["barolo", "grignolino", "barbera"])[y]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(
        X[::2], names[::2]
    )
    scores = metrics.evaluate("classification", metrics.CLASSIFICATION, model, X[1::2], names[1::2])
    proba = model.predict_proba(X[1::2])
    assert scores["f1"] == pytest.approx(
        sk.f1_score(names[1::2], model.predict(X[1::2]), average="macro")
    )
    assert scores["roc_auc"] == pytest.approx(
        sk.roc_auc_score(names[1::2], proba, multi_class="ovr", labels=model.classes_)
    )
    assert scores["log_loss"] == pytest.approx(
        sk.log_loss(names[1::2], proba, labels=model.classes_)
    )
    assert np.isnan(scores["calibration_error"])  # defined for two classes only


def test_binary_roc_auc_is_the_mann_whitney_u():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 400).astype(float)
    proba = np.clip(y * 0.3 + rng.uniform(0, 0.7, 400), 0, 1)
    scores = metrics.classification(y, (proba >= 0.5).astype(float), proba)
    u = stats.mannwhitneyu(proba[y == 1], proba[y == 0]).statistic
    assert scores["roc_auc"] == pytest.approx(u / ((y == 1).sum() * (y == 0).sum()), abs=1e-12)
    assert 0 <= scores["calibration_error"] <= 1


def test_regression_metrics_by_definition():
    y, p = np.array([10.0, 0.0, 4.0]), np.array([12.0, 1.0, 4.0])
    scores = metrics.regression(y, p)
    assert scores["mae"] == pytest.approx(1.0)
    assert scores["rmse"] == pytest.approx(np.sqrt(5 / 3))
    assert scores["mape"] == pytest.approx(0.1)  # the zero actual is left out
    assert scores["wape"] == pytest.approx(3 / 14)
    assert scores["r2"] == pytest.approx(sk.r2_score(y, p))


def test_which_way_is_better_is_known_for_every_metric():
    assert [m for m in metrics.METRICS if metrics.lower_is_better(m)] == [
        "mae",
        "rmse",
        "mape",
        "wape",
        "log_loss",
        "calibration_error",
    ]
    assert metrics.lower_is_better("val_loss") and not metrics.lower_is_better("precision")
