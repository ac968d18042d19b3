"""Every built-in flavor keeps the same contract: save → load → the same predictions."""

import functools
import io
import time
import zipfile

import lightgbm
import numpy as np
import pandas as pd
import pytest
import xgboost
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor, VotingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeRegressor
from tests.models.hostile import ATTACKS, hostile_package, hostile_skops

from loopml.errors import ArtifactCorrupt, InvalidInput, LoopmlError, UntrustedModel
from loopml.models import pack, unpack
from loopml.models.flavors import FLAVORS, Flavor
from loopml.models.package import Package
from loopml.models.signature import infer
from loopml.models.trust import allowed_types

rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
y_reg = X["a"] * 2 + X["b"] + rng.normal(0, 0.1, 200)
y_cls = (X["a"] > 0).astype(int)


class Doubler:
    def predict(self, frame):
        return frame.iloc[:, 0].to_numpy() * 2


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


# Real bundled data: what a user would train on ------------------------------------------

diabetes = load_diabetes(as_frame=True)
cancer = load_breast_cancer(as_frame=True)
REAL = {
    "sklearn": (lambda: make_pipeline(StandardScaler(), Ridge()), diabetes, False),
    "sklearn-forest": (
        lambda: RandomForestRegressor(n_estimators=5, random_state=0),
        diabetes,
        False,
    ),
    "sklearn-histgb": (lambda: HistGradientBoostingClassifier(max_iter=10), cancer, False),
    "lightgbm": (lambda: lightgbm.LGBMClassifier(n_estimators=10, verbose=-1), cancer, False),
    "xgboost": (lambda: xgboost.XGBRegressor(n_estimators=10), diabetes, False),
    "pyfunc": (lambda: Doubler(), diabetes, True),
}
FLAVOR_OF = {"sklearn-forest": "sklearn", "sklearn-histgb": "sklearn"}


@functools.cache  # the models are only read
def _fitted(kind):
    build, data, trusted = REAL[kind]
    model = build()
    if hasattr(model, "fit"):
        model.fit(data.data, data.target)
    return model, data, trusted


def _round_trip(model, data, trusted):
    package = Package.from_bytes(pack(model, infer(data.data), trusted=trusted).to_bytes())
    return package, unpack(package, trusted=trusted)


@pytest.mark.parametrize("kind", [k for k in REAL if k != "pyfunc"])
def test_a_loaded_model_is_the_real_estimator_it_clones_and_refits(kind):
    model, data, trusted = _fitted(kind)
    package, loaded = _round_trip(model, data, trusted)
    assert package.flavor == FLAVOR_OF.get(kind, kind)
    assert type(loaded) is type(model)  # the library's own class, not a loopml stand-in
    np.testing.assert_allclose(loaded.predict(data.data), model.predict(data.data), rtol=1e-6)
    fresh = clone(loaded)  # what a retrain of the champion does, as check_estimator checks
    assert repr(fresh) == repr(model)  # the same estimator and parameters
    refit = fresh.fit(data.data, data.target)
    expected = clone(model).fit(data.data, data.target).predict(data.data)
    np.testing.assert_allclose(refit.predict(data.data), expected, rtol=1e-6)


def test_the_lightgbm_preset_pipeline_with_a_text_column_loads_without_trust():
    """What `model: lightgbm` builds for a table with a text column."""
    rows = diabetes.data.assign(sex=np.where(diabetes.data["sex"] > 0, "f", "m"))
    encode = ColumnTransformer(
        [("text", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["sex"])],
        remainder="passthrough",
    )
    model = Pipeline(
        [("encode", encode), ("model", lightgbm.LGBMRegressor(n_estimators=20, verbose=-1))]
    ).fit(rows, diabetes.target)
    package = pack(model, infer(rows), trusted=False)
    loaded = unpack(Package.from_bytes(package.to_bytes()), trusted=False)
    np.testing.assert_allclose(loaded.predict(rows), model.predict(rows), rtol=1e-9)
    assert clone(loaded).fit(rows, diabetes.target).predict(rows).shape == (len(rows),)


def test_types_off_the_list_are_refused_by_name_and_load_when_named():
    model = make_pipeline(FunctionTransformer(_halve), Ridge()).fit(X, y_reg)
    package = Package.from_bytes(pack(model, None, trusted=False).to_bytes())
    name = f"{__name__}._halve"
    with pytest.raises(UntrustedModel, match=f"{name}.*trusted=\\['{name}'\\]"):
        unpack(package, trusted=False)
    with pytest.raises(UntrustedModel):
        unpack(package, trusted=["builtins.exec"])  # naming another type trusts only that one
    loaded = unpack(package, trusted=[name])
    np.testing.assert_allclose(loaded.predict(X), model.predict(X))


def _halve(frame):
    return frame / 2


def test_the_allow_list_is_classes_and_never_a_door_to_code():
    allowed = allowed_types()
    assert "sklearn.pipeline.Pipeline" in allowed and "lightgbm.basic.Booster" in allowed
    for danger in (
        "builtins.exec",
        "builtins.eval",
        "builtins.getattr",
        "builtins.__import__",
        "builtins.open",
        "os.system",
        "subprocess.Popen",
        "functools.partial",
        "operator.attrgetter",
        "operator.methodcaller",
        "pickle.loads",
    ):
        assert danger not in allowed
    assert not any(n.startswith(("os.", "subprocess.", "operator.", "pickle.")) for n in allowed)


def test_a_tree_pointing_outside_itself_is_refused_before_it_predicts():
    model = DecisionTreeRegressor(max_depth=3, random_state=0).fit(diabetes.data, diabetes.target)
    data = pack(model, None, trusted=False)
    archive = data.files["model.skops"]
    with zipfile.ZipFile(io.BytesIO(archive)) as source:
        members = {n: source.read(n) for n in source.namelist()}
    for name, content in members.items():  # the node array is one of the .npy members
        if name.endswith(".npy"):
            array = np.load(io.BytesIO(content), allow_pickle=False)
            if array.dtype.names and "left_child" in array.dtype.names:
                array["left_child"][0] = 10_000
                buffer = io.BytesIO()
                np.save(buffer, array, allow_pickle=False)
                members[name] = buffer.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, content in members.items():
            target.writestr(name, content)
    broken = Package(data.flavor, None, data.requirements, {"model.skops": out.getvalue()})
    with pytest.raises(ArtifactCorrupt, match="points outside its tree"):
        unpack(broken, trusted=False)


# Hostile files: every flavor refuses them, and no code runs ----------------------------

HOSTILE_FLAVORS = ["sklearn", "lightgbm", "xgboost", "pyfunc"]


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.parametrize("kind", HOSTILE_FLAVORS)
def test_a_hostile_model_file_is_refused_and_runs_nothing(kind, attack, tmp_path):
    model, data, trusted = _fitted(kind)
    marker = tmp_path / "ran"
    hostile = hostile_package(pack(model, infer(data.data), trusted=trusted), attack, marker)
    with pytest.raises(LoopmlError) as refused:
        unpack(Package.from_bytes(hostile), trusted=False)
    time.sleep(0.05)  # a spawned process would have had time to write
    assert not marker.exists()
    if kind in ("sklearn", "lightgbm") and attack != "nested-pickle":
        assert isinstance(refused.value, UntrustedModel)
        assert "trusted=[" in str(refused.value)


@pytest.mark.parametrize("attack", ["exec", "eval", "os.system"])
def test_the_hostile_files_would_run_code_if_loaded_naively(attack, tmp_path):
    """The suite's files are real attacks: skops told to trust what the file names runs them."""
    import skops.io

    marker = tmp_path / "ran"
    data = hostile_skops(skops.io.dumps(Ridge().fit(X, y_reg)), attack, marker)
    skops.io.loads(data, trusted=skops.io.get_untrusted_types(data=data))
    deadline = time.monotonic() + 5
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists()
