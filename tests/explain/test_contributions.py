"""Per-row explanations add up to the model's output, for every flavor, on real data."""

from __future__ import annotations

import sys

import lightgbm
import numpy as np
import pandas as pd
import pytest
import xgboost
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.tree import DecisionTreeRegressor
from tests.explain.conftest import raw_output, wine

import loopml
from loopml.errors import InvalidInput, MissingExtra


def test_contributions_plus_base_value_equal_the_models_output(sqlite_ctx, flavor):
    name, model, X, _, method = flavor
    version = loopml.log_model(model, name.replace(" ", "-"), input_example=X.head())
    loaded = loopml.load_model(f"models:/{version.name}/{version.version}")
    rows = X.sample(2 if "sampled" in method else 40, random_state=3)

    explanation = loopml.explain_rows(loaded, rows, background=X)

    expected = raw_output(model, rows)
    # XGBoost computes in float32: its own output is exact to 1e-6 of its size.
    scale = np.maximum(1.0, np.abs(expected)) if "xgboost" in name else 1.0
    assert np.all(np.abs(explanation.outputs - expected) / scale <= 1e-6)
    assert method in explanation.method
    assert explanation.features == tuple(X.columns)
    assert explanation.values.shape == rows.shape
    records = explanation.records()
    assert sum(records[0]["contributions"].values()) + records[0]["base_value"] == pytest.approx(
        records[0]["output"]
    )


class Progression:
    """A Python-function model: a hand-written rule with an interaction, no library behind it."""

    def predict(self, X):
        X = pd.DataFrame(X)
        return (150 + 900 * X["bmi"] + 700 * X["s5"] + 4e4 * X["bmi"] * X["bp"]).to_numpy()


def test_a_python_function_model_adds_up_too(sqlite_ctx):
    from tests.explain.conftest import diabetes

    X, _ = diabetes()
    loopml.log_model(Progression(), "rule", input_example=X.head(), trusted=True)
    loaded = loopml.load_model("models:/rule/1", trusted=True)
    rows = X.sample(3, random_state=3)

    explanation = loopml.explain_rows(loaded, rows, background=X)

    assert loaded.flavor == "pyfunc" and "permutation explainer" in explanation.method
    assert np.all(np.abs(explanation.outputs - Progression().predict(rows)) <= 1e-6)
    unused = [explanation.features.index(c) for c in ("age", "s1", "s6")]
    assert np.all(explanation.values[:, unused] == 0)  # features the rule never reads


def test_classifier_outputs_are_named(sqlite_ctx, flavor):
    name, model, X, _, _ = flavor
    version = loopml.log_model(model, name.replace(" ", "-"), input_example=X.head())
    loaded = loopml.load_model(f"models:/{version.name}/{version.version}")
    explanation = loopml.explain_rows(loaded, X.head(3), background=X)
    if hasattr(model, "predict_proba"):
        assert "class 1" in explanation.output
        assert any(word in explanation.output for word in ("log-odds", "probability", "margin"))
    else:
        assert explanation.output == "prediction"


def test_the_sampled_explainer_states_its_sample_sizes(sqlite_ctx):
    from sklearn.neighbors import KNeighborsRegressor
    from tests.explain.conftest import diabetes

    X, y = diabetes()
    version = loopml.log_model(
        KNeighborsRegressor(algorithm="brute").fit(X, y), "knn", input_example=X.head()
    )
    loaded = loopml.load_model("models:/knn/1")
    explanation = loopml.explain_rows(loaded, X.head(2), background=X)
    assert "100 background rows" in explanation.method
    assert "10 permutations per row" in explanation.method
    assert version.version == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda: lightgbm.LGBMClassifier(n_estimators=30, n_jobs=1, verbose=-1),
        lambda: xgboost.XGBClassifier(n_estimators=30, n_jobs=1),
        lambda: RandomForestClassifier(20, random_state=0),
    ],
)
def test_a_multiclass_row_is_explained_for_its_predicted_class(sqlite_ctx, make):
    X, y = wine()
    model = make().fit(X, y)
    loopml.log_model(model, "wine", input_example=X.head())
    explanation = loopml.explain_rows(loopml.load_model("models:/wine/1"), X)
    assert list(explanation.classes) == model.predict(X).tolist()
    if isinstance(model, RandomForestClassifier):
        chosen = model.predict_proba(X)[np.arange(len(X)), model.predict(X)]
    elif isinstance(model, lightgbm.LGBMModel):
        chosen = model.predict(X, raw_score=True)[np.arange(len(X)), model.predict(X)]
    elif isinstance(model, xgboost.XGBModel):
        chosen = model.predict(X, output_margin=True)[np.arange(len(X)), model.predict(X)]
    assert np.allclose(explanation.outputs, chosen, atol=1e-5)
    assert "predicted class" in explanation.output


def test_a_model_shap_cannot_explain_says_so(sqlite_ctx):
    X, y = wine()
    loopml.log_model(GradientBoostingClassifier(n_estimators=5).fit(X, y), "gb", input_example=X)
    with pytest.raises(InvalidInput, match=r"multiclass|binary"):
        loopml.explain_rows(loopml.load_model("models:/gb/1"), X.head(2))


def test_lightgbm_text_columns_become_its_categories(sqlite_ctx):
    """pandas 3 reads text as its string dtype; LightGBM takes it as the trained categories."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"plant": rng.choice(["north", "south", "east"], 600), "load": rng.uniform(0, 1, 600)}
    )
    target = frame["load"] * 3 + frame["plant"].map({"north": 5.0, "south": 0.0, "east": -2.0})
    train = frame.astype({"plant": "category"})
    model = lightgbm.LGBMRegressor(n_estimators=40, n_jobs=1, verbose=-1).fit(train, target)
    loopml.log_model(model, "plants", input_example=frame.head())

    rows = pd.DataFrame({"plant": ["south", "north"], "load": [0.5, 0.5]})
    assert pd.api.types.is_string_dtype(rows["plant"])
    explanation = loopml.explain_rows(loopml.load_model("models:/plants/1"), rows)

    expected = model.predict(rows.astype({"plant": train["plant"].dtype}))
    assert np.allclose(explanation.outputs, expected, atol=1e-9)
    plant = explanation.values[:, 0]
    assert plant[1] - plant[0] > 3  # north adds about five more than south


def test_xgboost_text_columns_become_its_categories_whatever_the_rows_hold(sqlite_ctx):
    """Rows holding only some of the trained categories code them differently; XGBoost
    must still read each by its value."""
    import xgboost

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"plant": rng.choice(["north", "south", "east"], 600), "load": rng.uniform(0, 1, 600)}
    )
    target = frame["load"] * 3 + frame["plant"].map({"north": 5.0, "south": 0.0, "east": -2.0})
    train = frame.astype({"plant": "category"})
    model = xgboost.XGBRegressor(n_estimators=40, n_jobs=1, enable_categorical=True)
    loopml.log_model(model.fit(train, target), "plants", input_example=frame.head())

    rows = pd.DataFrame({"plant": ["south", "north"], "load": [0.5, 0.5]})
    explanation = loopml.explain_rows(loopml.load_model("models:/plants/1"), rows)

    expected = model.predict(rows.astype({"plant": train["plant"].dtype}))
    assert np.allclose(explanation.outputs, expected, atol=1e-5)
    assert explanation.values[1, 0] - explanation.values[0, 0] > 3


def test_a_fairness_assessment_without_the_extra_names_the_install(sqlite_ctx, monkeypatch):
    from sklearn.linear_model import Ridge
    from tests.explain.conftest import diabetes

    X, y = diabetes()
    loopml.log_model(Ridge().fit(X, y), "ridge", input_example=X.head())
    monkeypatch.setitem(sys.modules, "fairlearn.metrics", None)  # as if fairlearn were absent
    with pytest.raises(MissingExtra) as caught:
        loopml.assess_fairness("ridge", 1, X.assign(y=y), target="y", sensitive=["sex"])
    assert "pip install 'loopml[explain]'" in str(caught.value)


def test_a_tree_explainer_refuses_text_with_what_to_do(sqlite_ctx):
    frame = pd.DataFrame({"plant": ["a", "b"] * 10, "load": np.arange(20.0)})
    model = DecisionTreeRegressor().fit(frame[["load"]], frame["load"])
    loopml.log_model(model, "tree", input_example=frame.head())  # signature: plant is text
    with pytest.raises(InvalidInput, match=r"'plant' hold text.*Pipeline"):
        loopml.explain_rows(loopml.load_model("models:/tree/1"), frame)


def test_a_linear_model_without_background_says_how_to_get_one(sqlite_ctx):
    from sklearn.linear_model import Ridge
    from tests.explain.conftest import diabetes

    X, y = diabetes()
    loopml.log_model(Ridge().fit(X, y), "ridge", input_example=X.head())
    with pytest.raises(InvalidInput, match="background") as caught:
        loopml.explain_rows(loopml.load_model("models:/ridge/1"), X.head(1))
    assert "explain_version" in caught.value.hint


def test_without_the_explain_extra_the_error_names_the_install(sqlite_ctx, monkeypatch):
    from sklearn.linear_model import Ridge
    from tests.explain.conftest import diabetes

    X, y = diabetes()
    loopml.log_model(Ridge().fit(X, y), "ridge", input_example=X.head())
    monkeypatch.setitem(sys.modules, "shap", None)  # as if shap were not installed
    with pytest.raises(MissingExtra) as caught:
        loopml.explain_rows(loopml.load_model("models:/ridge/1"), X.head(1), background=X)
    assert isinstance(caught.value, ImportError)
    assert "pip install 'loopml[explain]'" in str(caught.value)
    # Registration does not fail for want of the extra: the version comes without an
    # explanation, and its card says how to compute one later.
    version = loopml.log_model(Ridge().fit(X, y), "ridge", input_example=X.head(), explain_data=X)
    assert version.version == 2
    card = loopml.model_card("ridge", 2)
    assert "| explanation | not computed (loopml explain NAME --version V" in card


def test_the_text_columns_of_plotly_tips_are_explained_whatever_the_model(sqlite_ctx):
    """plotly's bundled tips table reads its text as pandas 3's string dtype: a scikit-learn
    pipeline that encodes it is explained by sampling, LightGBM takes it as its categories."""
    import plotly.express as px
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    tips = px.data.tips()
    text = ["day", "time", "smoker"]
    X, y = tips[["total_bill", "size", *text]], tips["tip"]
    assert all(pd.api.types.is_string_dtype(X[c]) for c in text)
    encoded = make_column_transformer((OneHotEncoder(), text), remainder="passthrough")
    pipeline = make_pipeline(encoded, Ridge()).fit(X, y)
    categories = X.astype(dict.fromkeys(text, "category"))
    booster = lightgbm.LGBMRegressor(n_estimators=30, n_jobs=1, verbose=-1).fit(categories, y)
    loopml.log_model(pipeline, "tips-pipeline", input_example=X.head())
    loopml.log_model(booster, "tips-lightgbm", input_example=X.head())
    rows = X.sample(4, random_state=0)

    sampled = loopml.explain_rows(loopml.load_model("models:/tips-pipeline/1"), rows, background=X)
    native = loopml.explain_rows(loopml.load_model("models:/tips-lightgbm/1"), rows)

    assert "permutation explainer" in sampled.method
    assert np.all(np.abs(sampled.outputs - pipeline.predict(rows)) <= 1e-6)
    assert "pred_contrib" in native.method
    raw = booster.predict(rows.astype({c: categories[c].dtype for c in text}), raw_score=True)
    assert np.all(np.abs(native.outputs - raw) <= 1e-6)
    assert native.values[:, native.features.index("total_bill")].std() > 0  # the bill matters
