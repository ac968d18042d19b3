"""Every built-in flavor keeps the same contract: save → load → the same predictions."""

import lightgbm
import numpy as np
import pandas as pd
import pytest
import xgboost
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import VotingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from loopml.errors import InvalidInput
from loopml.models import pack, unpack
from loopml.models.flavors import FLAVORS, Flavor
from loopml.models.package import Package
from loopml.models.signature import infer

rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
y_reg = X["a"] * 2 + X["b"] + rng.normal(0, 0.1, 200)
y_cls = (X["a"] > 0).astype(int)


class Doubler:
    def predict(self, frame):
        return frame["a"].to_numpy() * 2


MODELS = {
    "sklearn-ridge": (lambda: Ridge().fit(X, y_reg), False),
    "sklearn-pipeline": (
        lambda: make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y_cls),
        False,
    ),
    "lightgbm-regressor": (
        lambda: lightgbm.LGBMRegressor(n_estimators=10, verbose=-1).fit(X, y_reg),
        False,
    ),
    "lightgbm-classifier": (
        lambda: lightgbm.LGBMClassifier(n_estimators=10, verbose=-1).fit(X, y_cls),
        False,
    ),
    "xgboost-regressor": (lambda: xgboost.XGBRegressor(n_estimators=10).fit(X, y_reg), False),
    "xgboost-classifier": (lambda: xgboost.XGBClassifier(n_estimators=10).fit(X, y_cls), False),
    "pyfunc": (lambda: Doubler(), True),
}


@pytest.mark.parametrize("kind", MODELS)
def test_flavor_round_trip_gives_identical_predictions(kind):
    build, trusted = MODELS[kind]
    model = build()
    package = Package.from_bytes(pack(model, infer(X), trusted=trusted).to_bytes())
    assert isinstance(FLAVORS[package.flavor], Flavor)
    assert package.requirements and all(isinstance(r, str) for r in package.requirements)
    loaded = unpack(package, trusted=trusted)
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-6)
    if hasattr(model, "predict_proba"):
        np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=1e-5)
    else:
        assert not hasattr(loaded, "predict_proba")


def test_flavors_are_chosen_by_model_kind():
    assert pack(Ridge().fit(X, y_reg), None, trusted=False).flavor == "sklearn"
    assert pack(MODELS["lightgbm-regressor"][0](), None, trusted=False).flavor == "lightgbm"
    assert pack(MODELS["xgboost-regressor"][0](), None, trusted=False).flavor == "xgboost"


def test_an_arbitrary_object_is_pickled_only_when_trusted():
    with pytest.raises(InvalidInput, match="trusted=True"):
        pack(Doubler(), None, trusted=False)
    package = pack(Doubler(), None, trusted=True)
    with pytest.raises(InvalidInput, match="runs code"):
        unpack(package, trusted=False)


def test_an_object_without_predict_is_refused():
    with pytest.raises(InvalidInput, match="no predict method"):
        pack(object(), None, trusted=True)


@pytest.mark.parametrize("kind", MODELS)
def test_matrix_form_predicts_as_the_table_and_leaves_the_model_alone(kind):
    build, trusted = MODELS[kind]
    model = build()
    package = Package.from_bytes(pack(model, infer(X), trusted=trusted).to_bytes())
    loaded = unpack(package, trusted=trusted)
    matrix = FLAVORS[package.flavor].matrix_form(loaded, list(X.columns))
    if kind == "pyfunc":
        assert matrix is None  # user code may read columns by name
        return
    assert matrix is not None
    values = X.to_numpy()  # warnings are errors here: no complaint about missing names
    np.testing.assert_allclose(matrix.predict(values), loaded.predict(X), rtol=1e-9)
    if hasattr(loaded, "predict_proba"):
        np.testing.assert_allclose(matrix.predict_proba(values), loaded.predict_proba(X), rtol=1e-9)
    loaded.predict(X)  # the table path still checks its column names
    assert FLAVORS[package.flavor].matrix_form(loaded, ["c", "b", "a"]) is None


@pytest.mark.parametrize(
    "build",
    [
        lambda: make_pipeline(
            ColumnTransformer([("scale", StandardScaler(), ["a", "b"])], remainder="drop"),
            Ridge(),
        ),
        lambda: make_pipeline(FunctionTransformer(lambda f: f[["a"]] * 2), Ridge()),
        lambda: VotingRegressor([("r", Ridge()), ("l", LinearRegression())]),
    ],
    ids=["column-transformer", "function-transformer", "voting"],
)
def test_models_that_read_columns_by_name_keep_their_table(build):
    assert FLAVORS["sklearn"].matrix_form(build().fit(X, y_reg), list(X.columns)) is None
