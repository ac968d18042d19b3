"""Logistic regression trained by its coefficients: the arithmetic each participant runs.

The engine averages one flat vector per participant, weighted by row counts:
``[mean (d), mean of squares (d), coefficients (d), intercept (1)]``. In the
first round participants fill the moments of their features, so FedAvg itself
yields the pooled mean and variance: every participant then standardises with
the same numbers although none saw another's rows. In later rounds they run
gradient descent on the coefficients from the global ones (FedProx adds
``mu/2 * |w - w_global|^2`` to keep skewed participants from drifting).

With ``strategy="newton"`` each participant instead sends, besides the global
coefficients, the gradient and the Hessian of its objective there; weighted by
row counts, FedAvg turns them into the pooled objective's, and in the next round
every participant takes the same Newton step with them (``newton_step``), so the
global model moves as the pooled model's solver would (federated IRLS, as
DataSHIELD fits its GLMs) and reaches the pooled optimum in a few rounds however
skewed the shares are: no participant takes steps on its own rows, so none
drifts. The Hessian says more about a participant's feature correlations than
coefficients do (see docs/federated.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALPHA = 1e-3  # L2 penalty per row, the same at every participant and in the pooled baseline
LEARNING_RATE = 0.5
LOCAL_STEPS = 40


@dataclass(frozen=True)
class Parts:
    mean: np.ndarray
    mean_sq: np.ndarray
    coef: np.ndarray
    intercept: float

    @property
    def scale(self) -> np.ndarray:
        variance = np.maximum(self.mean_sq - self.mean**2, 0.0)
        return np.where(variance > 1e-12, np.sqrt(variance), 1.0)


def initial_vector(num_features: int) -> list[float]:
    return [0.0] * (3 * num_features + 1)


def split(vector: np.ndarray) -> Parts:
    vector = np.asarray(vector, dtype=float)
    d = (vector.size - 1) // 3
    return Parts(vector[:d], vector[d : 2 * d], vector[2 * d : 3 * d], float(vector[-1]))


def join(parts: Parts) -> np.ndarray:
    return np.concatenate([parts.mean, parts.mean_sq, parts.coef, [parts.intercept]])


def with_moments(vector: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Round 0: this participant's feature moments in place of the global ones."""
    parts = split(vector)
    return join(Parts(x.mean(axis=0), (x**2).mean(axis=0), parts.coef, parts.intercept))


def with_moments_of(vector: np.ndarray, source: np.ndarray) -> np.ndarray:
    """``vector``'s coefficients with ``source``'s feature moments."""
    parts, moments = split(vector), split(source)
    return join(Parts(moments.mean, moments.mean_sq, parts.coef, parts.intercept))


def train(
    vector: np.ndarray, x: np.ndarray, y: np.ndarray, mu: float = 0.0
) -> tuple[np.ndarray, float]:
    """Local gradient descent from the global coefficients; returns the vector and the local loss."""
    parts = split(vector)
    z = (x - parts.mean) / parts.scale
    w, b = parts.coef.copy(), parts.intercept
    w0, b0 = w.copy(), b
    for _ in range(LOCAL_STEPS):
        error = _sigmoid(z @ w + b) - y
        w -= LEARNING_RATE * (z.T @ error / len(y) + ALPHA * w + mu * (w - w0))
        b -= LEARNING_RATE * (error.mean() + mu * (b - b0))
    updated = Parts(parts.mean, parts.mean_sq, w, b)
    return join(updated), log_loss(updated, x, y)


def newton_step(vector: np.ndarray, gradient: np.ndarray, hessian: np.ndarray) -> np.ndarray:
    """``vector`` after one Newton step on the pooled objective, from its gradient and Hessian
    (``curvature``, averaged by the engine) at ``vector``."""
    parts = split(vector)
    size = parts.coef.size + 1
    # A whisker of damping keeps the step finite when every training row is predicted with
    # certainty (the intercept's curvature vanishes); it does not move the optimum.
    damped = np.reshape(hessian, (size, size)) + 1e-9 * np.eye(size)
    theta = np.append(parts.coef, parts.intercept) - np.linalg.solve(damped, gradient)
    return join(Parts(parts.mean, parts.mean_sq, theta[:-1], float(theta[-1])))


def curvature(vector: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """This participant's gradient and Hessian (flattened) of the objective at ``vector``,
    coefficients first, the intercept last: averaged by row counts, the pooled objective's."""
    parts = split(vector)
    z = np.hstack([(x - parts.mean) / parts.scale, np.ones((len(y), 1))])
    p = _sigmoid(z @ np.append(parts.coef, parts.intercept))
    penalty = np.append(np.full(parts.coef.size, ALPHA), 0.0)
    gradient = z.T @ (p - y) / len(y) + penalty * np.append(parts.coef, 0.0)
    hessian = (z * (p * (1 - p))[:, None]).T @ z / len(y) + np.diag(penalty)
    return gradient, hessian.ravel()


def predict_proba(parts: Parts, x: np.ndarray) -> np.ndarray:
    return _sigmoid(((x - parts.mean) / parts.scale) @ parts.coef + parts.intercept)


def log_loss(parts: Parts, x: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(predict_proba(parts, x), 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def to_estimator(vector: np.ndarray, classes: list, feature_names: list[str] | None = None):
    """The global model as a fitted scikit-learn LogisticRegression on the raw features."""
    from sklearn.linear_model import LogisticRegression

    parts = split(vector)
    coef = parts.coef / parts.scale
    model = LogisticRegression(C=1.0)
    model.coef_ = coef.reshape(1, -1)
    model.intercept_ = np.array([parts.intercept - float(coef @ parts.mean)])
    model.classes_ = np.asarray(classes)
    model.n_features_in_ = coef.size
    if feature_names is not None:
        model.feature_names_in_ = np.asarray(feature_names, dtype=object)
    return model


def pooled_estimator(x: np.ndarray, y: np.ndarray):
    """The same objective fitted on pooled rows: the anchor a federation is compared with."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        StandardScaler(), LogisticRegression(C=1.0 / (ALPHA * len(y)), max_iter=5000)
    ).fit(x, y)


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(t, -35, 35)))
