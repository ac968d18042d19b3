"""loopml.autolog() tracks scikit-learn, LightGBM and XGBoost fits on bundled datasets."""

from __future__ import annotations

import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import loopml


@pytest.fixture
def autologging(sqlite_ctx):
    loopml.autolog()
    yield sqlite_ctx
    loopml.autolog(disable=True)


def _only_run():
    runs = loopml.search_runs("default")
    assert len(runs) == 1
    return loopml.get_run(runs["run_id"][0])


def test_a_fit_is_a_run_with_params_score_fingerprint_and_model(autologging):
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=500)).fit(X, y)
    run = _only_run()  # the pipeline's inner fits are part of its run
    assert run.name == "Pipeline.fit" and run.status.value == "finished"
    assert run.params["steps"]  # the pipeline's own parameters
    assert run.metrics["training_score"] == pytest.approx(model.score(X, y))
    assert run.tags["dataset.shape"] == "569x30"
    stored = loopml.load_artifact(run.id, "model/loopml-model.zip")
    from loopml.models import Package, unpack

    again = unpack(Package.from_bytes(stored), trusted=False)
    assert (again.predict(X) == model.predict(X)).all()

    with loopml.start_run(name="mine") as mine:
        LogisticRegression(solver="liblinear").fit(X, y)
        LogisticRegression(solver="liblinear").fit(X.iloc[:100], y.iloc[:100])
    print_same, print_other = run.tags["dataset.fingerprint"], loopml.get_run(mine.id).tags
    assert print_other["dataset.fingerprint"] != print_same  # the last fit: other rows
    assert loopml.get_run(mine.id).params["C"] == "1.0"


def test_boosters_log_their_evaluation_history(autologging):
    import lightgbm
    import xgboost

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    lightgbm.LGBMRegressor(n_estimators=15, verbose=-1).fit(
        X_train, y_train, eval_X=(X_test,), eval_y=(y_test,)
    )
    lgbm = _only_run()
    history = loopml.get_metric_history(lgbm.id, "valid_0-l2")
    assert [p.step for p in history] == list(range(15))
    assert history[-1].value < history[0].value  # the booster learned
    xgboost.XGBRegressor(n_estimators=10).fit(
        X_train, y_train, eval_set=[(X_test, y_test)], verbose=False
    )
    runs = loopml.search_runs("default", filter="name = 'XGBRegressor.fit'")
    assert len(loopml.get_metric_history(runs["run_id"][0], "validation_0-rmse")) == 10


def test_registered_model_and_disable(sqlite_ctx):
    X, y = load_breast_cancer(return_X_y=True)
    loopml.autolog(registered_model_name="cancer")
    try:
        LogisticRegression(solver="liblinear").fit(X, y)
    finally:
        loopml.autolog(disable=True)
    version = loopml.get_model_version("cancer")
    assert version.run_id == _only_run().id
    LogisticRegression(solver="liblinear").fit(X, y)  # not tracked any more
    assert len(loopml.search_runs("default")) == 1
