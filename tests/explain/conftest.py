"""Real bundled data and one model of every flavor and kind, for the explanation tests."""

from __future__ import annotations

import functools

import lightgbm
import numpy as np
import pytest
import xgboost
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def diabetes():
    return load_diabetes(return_X_y=True, as_frame=True)


def breast_cancer():
    return load_breast_cancer(return_X_y=True, as_frame=True)


def scaled_breast_cancer():
    """Standardised, so that a bare logistic regression converges quickly."""
    X, y = breast_cancer()
    return (X - X.mean()) / X.std(), y


def wine():
    return load_wine(return_X_y=True, as_frame=True)


def raw_output(model, X) -> np.ndarray:
    """The output an explanation adds up to, computed by the model's own library."""
    if isinstance(model, lightgbm.LGBMModel):
        return model.predict(X, raw_score=True)
    if isinstance(model, xgboost.XGBModel):
        return model.predict(X, output_margin=True).astype(np.float64)
    if not hasattr(model, "predict_proba"):
        return model.predict(X)
    if hasattr(model, "decision_function"):
        return model.decision_function(X)
    return model.predict_proba(X)[:, 1]  # a forest averages probabilities


# name: (estimator, data, how it is explained)
FLAVORS = {
    "lightgbm regressor": (
        lambda: lightgbm.LGBMRegressor(n_estimators=60, n_jobs=1, verbose=-1),
        diabetes,
        "lightgbm pred_contrib",
    ),
    "lightgbm classifier": (
        lambda: lightgbm.LGBMClassifier(n_estimators=60, n_jobs=1, verbose=-1),
        breast_cancer,
        "lightgbm pred_contrib",
    ),
    "xgboost regressor": (
        lambda: xgboost.XGBRegressor(n_estimators=60, n_jobs=1),
        diabetes,
        "xgboost pred_contrib",
    ),
    "xgboost classifier": (
        lambda: xgboost.XGBClassifier(n_estimators=60, n_jobs=1),
        breast_cancer,
        "xgboost pred_contrib",
    ),
    "sklearn forest classifier": (
        lambda: RandomForestClassifier(30, random_state=0),
        breast_cancer,
        "TreeExplainer",
    ),
    "sklearn forest regressor": (
        lambda: RandomForestRegressor(30, random_state=0),
        diabetes,
        "TreeExplainer",
    ),
    "sklearn boosting regressor": (
        lambda: GradientBoostingRegressor(n_estimators=40),
        diabetes,
        "TreeExplainer",
    ),
    "sklearn boosting classifier": (
        lambda: GradientBoostingClassifier(n_estimators=40),
        breast_cancer,
        "TreeExplainer",
    ),
    "sklearn ridge": (lambda: Ridge(), diabetes, "LinearExplainer"),
    "sklearn logistic": (
        lambda: LogisticRegression(max_iter=1000),
        scaled_breast_cancer,
        "LinearExplainer",
    ),
    "sklearn k-neighbours": (
        lambda: KNeighborsRegressor(algorithm="brute"),
        diabetes,
        "permutation explainer, sampled",
    ),
    "sklearn pipeline": (
        lambda: make_pipeline(StandardScaler(), LogisticRegression()),
        breast_cancer,
        "permutation explainer, sampled",
    ),
}


@functools.cache
def fitted(name: str):
    make, data, method = FLAVORS[name]
    X, y = data()
    return name, make().fit(X, y), X, y, method


@pytest.fixture(params=sorted(FLAVORS))
def flavor(request):
    return fitted(request.param)
