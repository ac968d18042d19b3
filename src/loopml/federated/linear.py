"""Linear models trained by their coefficients: the arithmetic each participant runs.

Two families share it: logistic regression (log loss) and ridge regression (squared
error), both with the same L2 penalty per row. The engine averages one flat vector per
participant, weighted by row counts:
``[mean (d), mean of squares (d), coefficients (d), intercept (1)]``, and for ridge
regression also ``[target mean, target mean of squares]`` at its end (the vector says
which family it is). In the first round participants fill the moments of their
features (and of a regression's target), so FedAvg itself yields the pooled mean and
variance: every participant then standardises with the same numbers although none saw
another's rows. In later rounds they run gradient descent on the coefficients from the
global ones (FedProx adds ``mu/2 * |w - w_global|^2`` to keep skewed participants from
drifting).

With ``strategy="newton"`` each participant instead sends, besides the global
coefficients, the gradient and the Hessian of its objective there; weighted by
row counts, FedAvg turns them into the pooled objective's, and in the next round
every participant takes the same Newton step with them (``newton_step``), so the
global model moves as the pooled model's solver would (federated IRLS, as
DataSHIELD fits its GLMs) and reaches the pooled optimum in a few rounds however
skewed the shares are: no participant takes steps on its own rows, so none
drifts. Squared error is quadratic, so for ridge regression the first step lands on
the pooled optimum itself. The Hessian says more about a participant's feature
correlations than coefficients do (see docs/federated.md).

Standardising a regression's target too changes no optimum (the penalty on the
standardised coefficients is ridge's ``alpha = ALPHA * rows`` on standardised features,
as ``pooled_estimator`` fits), but keeps the coefficients and their changes near 1
whatever the target's units: the privacy filter's clip and gradient descent from zero
then mean the same on any target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOGISTIC, RIDGE = FAMILIES = ("logistic_regression", "ridge_regression")
ALPHA = 1e-3  # L2 penalty per row, the same at every participant and in the pooled baseline
LEARNING_RATE = 0.5
LOCAL_STEPS = 40


@dataclass(frozen=True)
class Parts:
    mean: np.ndarray
    mean_sq: np.ndarray
    coef: np.ndarray
    intercept: float
    target: tuple[float, float] | None = None  # a regression target's mean and mean square

    @property
    def scale(self) -> np.ndarray:
        return _spread(self.mean, self.mean_sq)

    @property
    def regression(self) -> bool:
        return self.target is not None

    @property
    def target_scale(self) -> float:
        mean, mean_sq = self.target or (0.0, 1.0)
        return float(_spread(np.array([mean]), np.array([mean_sq]))[0])


def _spread(mean: np.ndarray, mean_sq: np.ndarray) -> np.ndarray:
    variance = np.maximum(mean_sq - mean**2, 0.0)
    return np.where(variance > 1e-12, np.sqrt(variance), 1.0)


def initial_vector(num_features: int, family: str = LOGISTIC) -> list[float]:
    return [0.0] * (3 * num_features + (3 if family == RIDGE else 1))


def split(vector: np.ndarray) -> Parts:
    vector = np.asarray(vector, dtype=float)
    d = (vector.size - 1) // 3
    rest = vector[3 * d + 1 :]
    target = (float(rest[0]), float(rest[1])) if rest.size else None
    return Parts(vector[:d], vector[d : 2 * d], vector[2 * d : 3 * d], float(vector[3 * d]), target)


def join(parts: Parts) -> np.ndarray:
    target = list(parts.target) if parts.regression else []
    return np.concatenate([parts.mean, parts.mean_sq, parts.coef, [parts.intercept], target])


def with_moments(vector: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Round 0: this participant's moments (features, and a regression's target) in place of
    the global ones."""
    parts = split(vector)
    target = (float(y.mean()), float((y**2).mean())) if parts.regression else None
    return join(Parts(x.mean(axis=0), (x**2).mean(axis=0), parts.coef, parts.intercept, target))


def with_moments_of(vector: np.ndarray, source: np.ndarray) -> np.ndarray:
    """``vector``'s coefficients with ``source``'s moments."""
    parts, moments = split(vector), split(source)
    return join(Parts(moments.mean, moments.mean_sq, parts.coef, parts.intercept, moments.target))


def train(
    vector: np.ndarray, x: np.ndarray, y: np.ndarray, mu: float = 0.0
) -> tuple[np.ndarray, float]:
    """Local gradient descent from the global coefficients; returns the vector and the local loss."""
    parts = split(vector)
    z, t = _standardised(parts, x), _standard_target(parts, y)
    rate = _ridge_rate(z) if parts.regression else LEARNING_RATE
    w, b = parts.coef.copy(), parts.intercept
    w0, b0 = w.copy(), b
    for _ in range(LOCAL_STEPS):
        error = _mean_response(parts, z @ w + b) - t
        w -= rate * (z.T @ error / len(y) + ALPHA * w + mu * (w - w0))
        b -= rate * (error.mean() + mu * (b - b0))
    updated = Parts(parts.mean, parts.mean_sq, w, b, parts.target)
    return join(updated), local_loss(updated, x, y)


def _ridge_rate(z: np.ndarray) -> float:
    # Squared error's curvature is its Hessian everywhere: a step of one over its largest
    # eigenvalue is the largest that cannot overshoot on these rows, whatever their spread.
    design = np.hstack([z, np.ones((len(z), 1))])
    return 1.0 / (float(np.linalg.eigvalsh(design.T @ design / len(z)).max()) + ALPHA)


def newton_step(vector: np.ndarray, gradient: np.ndarray, hessian: np.ndarray) -> np.ndarray:
    """``vector`` after one Newton step on the pooled objective, from its gradient and Hessian
    (``curvature``, averaged by the engine) at ``vector``."""
    parts = split(vector)
    size = parts.coef.size + 1
    # A whisker of damping keeps the step finite when every training row is predicted with
    # certainty (the intercept's curvature vanishes); it does not move the optimum.
    damped = np.reshape(hessian, (size, size)) + 1e-9 * np.eye(size)
    theta = np.append(parts.coef, parts.intercept) - np.linalg.solve(damped, gradient)
    return join(Parts(parts.mean, parts.mean_sq, theta[:-1], float(theta[-1]), parts.target))


def curvature(vector: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """This participant's gradient and Hessian (flattened) of the objective at ``vector``,
    coefficients first, the intercept last: averaged by row counts, the pooled objective's."""
    parts = split(vector)
    z = np.hstack([_standardised(parts, x), np.ones((len(y), 1))])
    p = _mean_response(parts, z @ np.append(parts.coef, parts.intercept))
    # the response's derivative: 1 for squared error, p(1 - p) for the logistic link
    weight = np.ones_like(p) if parts.regression else p * (1 - p)
    penalty = np.append(np.full(parts.coef.size, ALPHA), 0.0)
    gradient = z.T @ (p - _standard_target(parts, y)) / len(y) + penalty * np.append(
        parts.coef, 0.0
    )
    hessian = (z * weight[:, None]).T @ z / len(y) + np.diag(penalty)
    return gradient, hessian.ravel()


def predict_proba(parts: Parts, x: np.ndarray) -> np.ndarray:
    return _sigmoid(_standardised(parts, x) @ parts.coef + parts.intercept)


def predict(parts: Parts, x: np.ndarray) -> np.ndarray:
    """A regression's predictions in the target's own units."""
    mean = parts.target[0] if parts.target else 0.0
    return mean + parts.target_scale * (_standardised(parts, x) @ parts.coef + parts.intercept)


def log_loss(parts: Parts, x: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(predict_proba(parts, x), 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def local_loss(parts: Parts, x: np.ndarray, y: np.ndarray) -> float:
    """Log loss, or a regression's mean squared error in the target's units."""
    if parts.regression:
        return float(np.mean((predict(parts, x) - y) ** 2))
    return log_loss(parts, x, y)


def to_estimator(vector: np.ndarray, classes: list, feature_names: list[str] | None = None):
    """The global model as a fitted scikit-learn estimator on the raw features: a
    LogisticRegression, or a Ridge for a regression's vector."""
    from sklearn.linear_model import LogisticRegression, Ridge

    parts = split(vector)
    coef = parts.coef / parts.scale
    if parts.regression:
        model = Ridge()  # fitted here: its alpha is never used
        coef = coef * parts.target_scale
        model.coef_ = coef
        model.intercept_ = (
            parts.target[0] + parts.target_scale * parts.intercept - coef @ parts.mean
        )
    else:
        model = LogisticRegression(C=1.0)
        model.coef_ = coef.reshape(1, -1)
        model.intercept_ = np.array([parts.intercept - float(coef @ parts.mean)])
        model.classes_ = np.asarray(classes)
    model.n_features_in_ = coef.size
    if feature_names is not None:
        model.feature_names_in_ = np.asarray(feature_names, dtype=object)
    return model


def pooled_estimator(x: np.ndarray, y: np.ndarray, family: str = LOGISTIC):
    """The same objective fitted on pooled rows: the anchor a federation is compared with."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if family == RIDGE:  # ALPHA per row on the standardised coefficients, as in `curvature`
        return make_pipeline(StandardScaler(), Ridge(alpha=ALPHA * len(y))).fit(x, y)
    return make_pipeline(
        StandardScaler(), LogisticRegression(C=1.0 / (ALPHA * len(y)), max_iter=5000)
    ).fit(x, y)


def _standardised(parts: Parts, x: np.ndarray) -> np.ndarray:
    return (x - parts.mean) / parts.scale


def _standard_target(parts: Parts, y: np.ndarray) -> np.ndarray:
    return (y - parts.target[0]) / parts.target_scale if parts.target else y


def _mean_response(parts: Parts, linear: np.ndarray) -> np.ndarray:
    return linear if parts.regression else _sigmoid(linear)


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(t, -35, 35)))
