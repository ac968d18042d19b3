"""The arithmetic each participant runs, checked without the engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from organisations import objective, pooled_optimum
from sklearn.datasets import load_diabetes
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from loopml.federated import linear


def _average(vectors, weights):
    return sum(v * w for v, w in zip(vectors, weights, strict=True)) / sum(weights)


def _federate(
    shares, rounds: int, mu: float = 0.0, newton: bool = False, family: str = linear.LOGISTIC
) -> np.ndarray:
    """What the engine's weighted FedAvg does with the participants' replies, in a loop
    (``site.reply``'s arithmetic): every participant runs gradient descent on its own rows
    and the engine averages the vectors (fedavg, fedprox); or, with ``newton``, it averages
    their vectors, gradients and Hessians, and every participant takes the Newton step from
    the averages."""
    weights = [len(y) for _, y in shares]
    vector = np.array(linear.initial_vector(shares[0][0].shape[1], family))
    vector = _average([linear.with_moments(vector, x, y) for x, y in shares], weights)
    pooled = None
    for _ in range(rounds):
        if not newton:
            vector = _average([linear.train(vector, x, y, mu)[0] for x, y in shares], weights)
            continue
        if pooled is not None:
            vector = linear.newton_step(vector, *pooled)
        found = [linear.curvature(vector, x, y) for x, y in shares]
        pooled = tuple(_average(arrays, weights) for arrays in zip(*found, strict=True))
    return vector


def test_averaged_moments_are_the_pooled_mean_and_spread_of_features_and_target():
    rng = np.random.default_rng(0)
    shares = [
        rng.normal(loc, scale, size=(n, 4))
        for loc, scale, n in [(0, 1, 50), (5, 2, 200), (-3, 0.5, 10)]
    ]
    vector = np.array(linear.initial_vector(3, linear.RIDGE))
    averaged = _average(
        [linear.with_moments(vector, x[:, :3], x[:, 3]) for x in shares], [len(x) for x in shares]
    )
    pooled = np.vstack(shares)
    parts = linear.split(averaged)
    np.testing.assert_allclose(parts.mean, pooled[:, :3].mean(axis=0))
    np.testing.assert_allclose(parts.scale, pooled[:, :3].std(axis=0))
    # a regression's target is standardised with its pooled moments too
    assert parts.target[0] == pytest.approx(pooled[:, 3].mean())
    assert parts.target_scale == pytest.approx(pooled[:, 3].std())
    assert not linear.split(linear.initial_vector(3)).regression


def _accuracy(model, x, y) -> float:
    return float(np.mean(model.predict(x) == y))


def _loss(model, x, y) -> float:
    return float(log_loss(y, model.predict_proba(x)[:, 1]))


def test_generated_data_with_controlled_skew_comes_near_the_pooled_model():
    # One true model; three organisations whose features sit in different ranges, so their
    # label balance differs too (covariate shift: the same P(y | x) everywhere).
    rng = np.random.default_rng(1)
    beta = np.array([1.5, -1.0, 0.8, 0.0, 0.5, -0.7])
    shifts = [-1.5, 0.0, 1.5]
    xs = [rng.normal(shift, 1.0, size=(700, 6)) * [1, 1, 10, 1, 100, 1] for shift in shifts]
    ys = [
        (rng.random(700) < 1 / (1 + np.exp(-(x / [1, 1, 10, 1, 100, 1]) @ beta))).astype(float)
        for x in xs
    ]
    x_test = np.vstack([x[500:] for x in xs])
    y_test = np.concatenate([y[500:] for y in ys])
    shares = [(x[:500], y[:500]) for x, y in zip(xs, ys, strict=True)]
    assert max(y.mean() for _, y in shares) - min(y.mean() for _, y in shares) > 0.3
    model = linear.to_estimator(_federate(shares, 10), [0, 1])
    x_train, y_train = np.vstack([x for x, _ in shares]), np.concatenate([y for _, y in shares])
    pooled = linear.pooled_estimator(x_train, y_train)
    # Shifts this strong make FedAvg's many local steps drift (1-2 points of accuracy here).
    assert abs(_accuracy(model, x_test, y_test) - _accuracy(pooled, x_test, y_test)) <= 0.02
    assert _loss(model, x_test, y_test) - _loss(pooled, x_test, y_test) < 0.01
    # Newton steps from the pooled gradient and Hessian do not drift: the pooled model.
    newton = linear.to_estimator(_federate(shares, 10, newton=True), [0, 1])
    assert abs(_accuracy(newton, x_test, y_test) - _accuracy(pooled, x_test, y_test)) <= 0.005
    assert abs(_loss(newton, x_test, y_test) - _loss(pooled, x_test, y_test)) < 1e-3


def test_a_real_dataset_split_by_a_categorical_column_matches_the_pooled_model():
    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame["high"] = (frame["target"] > frame["target"].median()).astype(int)
    features = [c for c in frame.columns if c not in ("target", "high", "sex")]
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["high"])
    shares = [
        (g[features].to_numpy(float), g["high"].to_numpy(float)) for _, g in train.groupby("sex")
    ]
    x_test, y_test = test[features].to_numpy(float), test["high"].to_numpy()
    federated = _accuracy(linear.to_estimator(_federate(shares, 5), [0, 1]), x_test, y_test)
    pooled = _accuracy(
        linear.pooled_estimator(train[features].to_numpy(float), train["high"]), x_test, y_test
    )
    assert abs(federated - pooled) <= 0.01
    assert all(
        _accuracy(linear.pooled_estimator(x, y), x_test, y_test) < federated for x, y in shares
    )


def _breast_cancer_by_radius():
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    order = np.argsort(x[:, 0], kind="stable")  # by mean radius: label balance 0.97 ... 0.11
    return [(x[part], y[part].astype(float)) for part in np.array_split(order, 3)]


def _diabetes_by_sex():
    x, y = load_diabetes(return_X_y=True)
    high = (y > np.median(y)).astype(float)
    return [(np.delete(x[x[:, 1] == s], 1, axis=1), high[x[:, 1] == s]) for s in np.unique(x[:, 1])]


@pytest.mark.parametrize("shares", [_breast_cancer_by_radius(), _diabetes_by_sex()])
def test_newton_reaches_the_pooled_optimum_where_averaged_local_steps_drift(shares):
    optimum = pooled_optimum(shares)
    newton = objective(_federate(shares, 10, newton=True), shares) - optimum
    fedavg = objective(_federate(shares, 10), shares) - optimum
    fedprox = objective(_federate(shares, 10, mu=0.1), shares) - optimum
    assert newton < 1e-4 < min(fedavg, fedprox), (newton, fedavg, fedprox)


def test_fedprox_keeps_a_participants_update_near_the_global_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    y = (x @ [1.0, -2.0, 0.5, 0.0] > 0).astype(float)
    start = linear.with_moments(np.array(linear.initial_vector(4)), x, y)
    drift = {
        mu: np.linalg.norm(linear.split(linear.train(start, x, y, mu)[0]).coef) for mu in (0.0, 1.0)
    }
    assert drift[1.0] < 0.8 * drift[0.0]


def test_the_estimator_predicts_what_the_coefficients_say():
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(10, 3, size=(100, 2)), columns=["a", "b"])
    y = (x["a"] > 10).to_numpy(float)
    vector = linear.with_moments(np.array(linear.initial_vector(2)), x.to_numpy(), y)
    vector, _ = linear.train(vector, x.to_numpy(), y)
    model = linear.to_estimator(vector, [0, 1], ["a", "b"])
    np.testing.assert_allclose(
        model.predict_proba(x)[:, 1], linear.predict_proba(linear.split(vector), x.to_numpy())
    )


def _diabetes_by_bmi():
    """scikit-learn's diabetes data (a numeric target): a pooled holdout, and the training rows
    in three shares by body mass index, so they differ in feature range and target level."""
    x, y = load_diabetes(return_X_y=True, scaled=False)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, random_state=0)
    order = np.argsort(x_train[:, 2], kind="stable")
    return [(x_train[p], y_train[p]) for p in np.array_split(order, 3)], (x_test, y_test)


def _rmse(model, x, y) -> float:
    from loopml import metrics

    return metrics.rmse(y, model.predict(x))


def test_ridge_newton_reaches_the_pooled_ridge_in_one_step_and_fedavg_comes_near():
    shares, (x_test, y_test) = _diabetes_by_bmi()
    assert np.ptp([y.mean() for _, y in shares]) > 50  # the shares' target levels differ
    x, y = np.vstack([x for x, _ in shares]), np.concatenate([y for _, y in shares])
    pooled = linear.pooled_estimator(x, y, linear.RIDGE)
    # Squared error is quadratic: the first Newton step (round 2) lands on the pooled optimum.
    newton = linear.to_estimator(_federate(shares, 2, newton=True, family=linear.RIDGE), None)
    np.testing.assert_allclose(newton.predict(x_test), pooled.predict(x_test), atol=1e-4)
    assert _rmse(newton, x_test, y_test) == pytest.approx(_rmse(pooled, x_test, y_test), rel=1e-6)
    # Averaged local gradient steps stop short of it, but near in holdout error (1.5% here:
    # below it, as stopping early regularises the collinear serum columns).
    for mu in (0.0, 0.1):
        fedavg = linear.to_estimator(_federate(shares, 10, mu=mu, family=linear.RIDGE), None)
        assert _rmse(fedavg, x_test, y_test) == pytest.approx(
            _rmse(pooled, x_test, y_test), rel=0.03
        )
    # No share alone is as good on the pooled holdout.
    assert all(
        _rmse(linear.pooled_estimator(x, y, linear.RIDGE), x_test, y_test)
        > _rmse(newton, x_test, y_test)
        for x, y in shares
    )


def test_ridge_on_a_target_in_the_millions_recovers_the_true_coefficients():
    # A known model whose target is in the millions: standardised with its pooled moments,
    # gradient descent from zero takes the same steps as on a target near 1.
    rng = np.random.default_rng(2)
    beta = np.array([2e5, -1e5, 0.0, 5e4])
    shares = []
    for shift in (-1.0, 0.0, 2.0):
        x = rng.normal(shift, 1.0, size=(300, 4)) * [1, 10, 1, 100]
        shares.append((x, 3e6 + (x / [1, 10, 1, 100]) @ beta + rng.normal(0, 1e4, 300)))
    model = linear.to_estimator(_federate(shares, 10, family=linear.RIDGE), None)
    np.testing.assert_allclose(model.coef_ * [1, 10, 1, 100], beta, atol=2e3)
    assert model.intercept_ == pytest.approx(3e6, rel=1e-3)


def test_the_ridge_estimator_predicts_what_the_coefficients_say():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(10, 3, size=(100, 2)), columns=["a", "b"])
    y = 40 + 3 * x["a"].to_numpy() + rng.normal(0, 1, 100)
    vector = linear.with_moments(np.array(linear.initial_vector(2, linear.RIDGE)), x.to_numpy(), y)
    vector, loss = linear.train(vector, x.to_numpy(), y)
    model = linear.to_estimator(vector, None, ["a", "b"])
    assert isinstance(model, Ridge)
    np.testing.assert_allclose(model.predict(x), linear.predict(linear.split(vector), x.to_numpy()))
    assert loss == pytest.approx(np.mean((model.predict(x) - y) ** 2))  # the local loss is the MSE
