"""A sample of live predictions keeps its largest contributions in the prediction log:
load_breast_cancer scored by a served LightGBM classifier."""

from __future__ import annotations

import lightgbm
import pytest
from fastapi.testclient import TestClient
from sklearn.datasets import load_breast_cancer

import loopml
from loopml.predictions.reader import read_predictions


@pytest.fixture
def tumours(ctx):
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = lightgbm.LGBMClassifier(n_estimators=50, n_jobs=1, verbose=-1).fit(X, y)
    version = loopml.log_model(model, "tumour", input_example=X.head())
    loopml.set_alias("tumour", "champion", version.version)
    return X, model


def _serve(ctx, records, **settings):
    from loopml.server import create_app

    ctx.settings = ctx.settings.model_copy(update=settings)
    with TestClient(create_app(context=ctx)) as client:
        for start in range(0, len(records), 50):  # requests of 50 rows
            answer = client.post(
                "/v1/models/tumour/predict", json={"records": records[start : start + 50]}
            )
            assert answer.status_code == 200, answer.text
    return read_predictions(ctx.settings.resolved_artifact_uri, "tumour").to_pandas()


def test_a_capped_sample_of_rows_keeps_its_top_contributions(ctx, tumours):
    X, _ = tumours
    logged = _serve(
        ctx,
        X.to_dict(orient="records"),
        serving_attribution_rate=0.5,
        serving_attribution_rows=40,
        serving_attribution_top=3,
    )

    explained = logged[logged["attributions"].notna()]
    assert len(logged) == len(X)
    assert len(explained) == 40  # half of 569 rows would be more: the hour's cap holds
    loaded = loopml.load_model("models:/tumour@champion")
    for _, row in explained.head(10).iterrows():
        inputs = {c.removeprefix("input."): [row[c]] for c in logged if c.startswith("input.")}
        expected = loopml.explain_rows(loaded, inputs).top(0, 3)
        kept = [(a["feature"], a["contribution"]) for a in row["attributions"]]
        assert [f for f, _ in kept] == [f for f, _ in expected]
        assert [c for _, c in kept] == pytest.approx([c for _, c in expected], abs=1e-9)
        assert abs(kept[0][1]) >= abs(kept[1][1]) >= abs(kept[2][1])


def test_no_rows_are_explained_at_rate_zero(ctx, tumours):
    X, _ = tumours
    logged = _serve(ctx, X.head(100).to_dict(orient="records"), serving_attribution_rate=0.0)
    assert len(logged) == 100
    assert logged["attributions"].isna().all()
