"""``data.sensitive`` in the project file: load_diabetes's patients, "progression above the
median", with ``sex`` declared sensitive. It is no feature, yet every version's group
fairness is measured on its test rows, and the fairness gate reads it."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from tests.pipeline.conftest import write_project

import loopml
from loopml.pipeline.project import parse_project


@pytest.fixture
def patients(tmp_path):
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    frame = ((X - X.mean()) / X.std()).drop(columns="sex")
    frame["sex"] = np.where(X["sex"] > 0, "m", "f")
    frame["high"] = (y > np.median(y)).astype(int)
    frame.to_csv(tmp_path / "patients.csv", index=False)
    return tmp_path


def _project(folder, sensitive=("sex",), **settings):
    return write_project(
        folder,
        **{
            "name": "progress",
            "target": "high",
            "task": "classification",
            "model": "logistic",
            "segment_by": [],
            "split": {"method": "random", "test_size": 0.5},
            "data": {"path": "patients.csv", "sensitive": list(sensitive)},
            **settings,
        },
    )


def test_the_attribute_is_no_feature_and_each_version_is_assessed_on_its_test_rows(ctx, patients):
    loopml.Pipeline.from_file(_project(patients)).run()

    [version] = loopml.list_model_versions("progress")
    model = loopml.load_model("models:/progress/1")
    assert "sex" not in model.signature.names
    report = loopml.get_fairness("progress", version.version)
    sex = report.attribute("sex")
    assert sex.used_as_feature is False
    assert report.rows == sum(g["rows"] for g in sex.groups.values()) == 221  # half of 442
    assert {"f", "m"} == set(sex.groups)
    rates = {g: v["selection_rate"] for g, v in sex.groups.items()}
    assert sex.summary["demographic_parity_ratio"] == pytest.approx(
        min(rates.values()) / max(rates.values())
    )


def test_the_fairness_gate_blocks_the_run_with_its_numbers(ctx, patients):
    gate = {"extra": {"fairness": {}}}  # the default limit, on the project's attributes
    result = loopml.Pipeline.from_file(_project(patients, gate=gate)).run()

    [outcome] = result.segments
    assert outcome.promotion == "gate failed"
    assert "sex: demographic_parity_ratio = " in outcome.gate
    assert "(needs >= 0.8; a heuristic, not a legal standard)" in outcome.gate
    assert loopml.list_segments("progress")[0]["aliases"] == {}


def test_a_sensitive_attribute_that_is_the_target_names_its_line():
    text = (
        "name: p\ntarget: high\ndata:\n  path: patients.csv\n  sensitive:\n    - sex\n    - high\n"
    )
    with pytest.raises(loopml.InvalidInput, match=r"line 7: .*the target 'high' cannot be"):
        parse_project(text)
    with pytest.raises(loopml.InvalidInput, match="segment column 'sex' cannot be"):
        parse_project("name: p\ndata: {path: d.csv, sensitive: sex}\ntarget: y\nsegment_by: sex\n")


def test_a_sensitive_column_missing_from_the_data_is_named(ctx, patients):
    project = _project(patients, sensitive=["gender"])
    with pytest.raises(
        loopml.InvalidInput, match=r"data\.sensitive: the column 'gender' is not in"
    ):
        loopml.Pipeline.from_file(project).run()


def test_a_fairness_monitor_watches_the_one_declared_attribute():
    text = (
        "name: p\ndata: {path: d.csv, sensitive: sex}\ntarget: y\nmonitoring:\n"
        "  - {name: p-parity, kind: fairness, metric: demographic_parity_ratio, threshold: 0.8}\n"
    )
    [monitor] = parse_project(text).monitoring
    assert monitor.sensitive == "sex" and monitor.model == "p"
