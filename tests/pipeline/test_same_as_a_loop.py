"""The models ``loopml run`` registers are the ones a plain loop over the segments fits."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from tests.pipeline.conftest import write_project

import loopml


@pytest.fixture
def diabetes():
    frame = load_diabetes(as_frame=True).frame
    frame.insert(0, "group", np.where(frame.pop("sex") > 0, "m", "f"))
    return frame


def run(tmp_path, frame, **execution):
    loopml.log_dataset(frame, "diabetes")
    project = write_project(
        tmp_path,
        name="progression",
        data={"dataset": "diabetes"},
        target="target",
        segment_by=["group"],
        split={"method": "random"},
        execution={"max_workers": 1, **execution},
    )
    return loopml.Pipeline.from_file(project).run()


def test_each_segment_model_is_the_plain_fit_of_its_rows(sqlite_ctx, tmp_path, diabetes):
    result = run(tmp_path, diabetes, chunk_size=2)
    assert result.count("trained") == 2
    features = [c for c in diabetes.columns if c not in ("group", "target")]
    for group, rows in diabetes.groupby("group"):
        plain = Ridge().fit(rows[features], rows["target"])  # refit: the model knows every row
        model = loopml.load_model("models:/progression@champion", segment={"group": group})
        native = model.native
        assert np.array_equal(native.coef_, plain.coef_) and native.intercept_ == plain.intercept_
        assert list(native.feature_names_in_) == features and native.n_features_in_ == 9
        assert np.array_equal(model.predict(rows), plain.predict(rows[features]))
        version = loopml.get_model_version(
            "progression", alias="champion", segment=f"group={group}"
        )
        assert 0.2 < version.metrics["r2"] < 0.8  # ridge explains part of the progression


def test_each_segments_drift_reference_summarizes_its_own_rows(sqlite_ctx, tmp_path, diabetes):
    run(tmp_path, diabetes, chunk_size=2)
    features = [c for c in diabetes.columns if c not in ("group", "target")]
    for group, rows in diabetes.groupby("group"):
        version = loopml.get_model_version(
            "progression", alias="champion", segment=f"group={group}"
        )
        assert version.reference_digest == version.artifact_digest  # one file per segment
        stored = loopml.load_reference(version.reference_digest).summary
        plain = loopml.make_reference(rows[features]).summary
        assert stored.rows == len(rows) and list(stored.columns) == features
        assert stored.to_dict() == plain.to_dict()
