import lightgbm
import numpy as np
import onnxruntime
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import loopml
from loopml.errors import InvalidInput

rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(300, 4)), columns=list("abcd"))
y = X["a"] * 2 - X["b"] + rng.normal(0, 0.1, 300)


@pytest.mark.parametrize(
    "model",
    [
        make_pipeline(StandardScaler(), Ridge()).fit(X, y),
        LogisticRegression().fit(X, (y > 0).astype(int)),
        lightgbm.LGBMRegressor(n_estimators=20, verbose=-1).fit(X, y),
    ],
    ids=["sklearn-pipeline", "sklearn-classifier", "lightgbm"],
)
def test_export_matches_the_native_model_and_is_kept_with_the_run(sqlite_ctx, model):
    version = loopml.log_model(model, "demand", input_example=X.head())
    done = loopml.export_model("demand", version.version, sample=X)
    assert done.max_difference <= 1e-4 and done.rows_checked == 300
    data = loopml.load_artifact(version.run_id, done.artifact_path)
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    native = model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)
    onnx = session.run(None, {"input": X.to_numpy(np.float32)})[-1]
    np.testing.assert_allclose(np.asarray(onnx).reshape(native.shape), native, atol=1e-4)


def test_unsupported_models_and_inputs_are_refused(sqlite_ctx):
    import xgboost

    loopml.log_model(
        xgboost.XGBRegressor(n_estimators=5).fit(X, y), "boosted", input_example=X.head()
    )
    with pytest.raises(InvalidInput, match="supports scikit-learn and LightGBM"):
        loopml.export_model("boosted", 1)
    text = pd.DataFrame({"store": ["a", "b"] * 10, "x": np.arange(20.0)})
    loopml.log_model(Ridge().fit(text[["x"]], text["x"]), "texty", input_example=text)
    with pytest.raises(InvalidInput, match="takes numbers"):
        loopml.export_model("texty", 1)
    with pytest.raises(InvalidInput, match="Unknown export format"):
        loopml.export_model("texty", 1, format="tflite")
