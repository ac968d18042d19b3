"""Honest runs on a table nobody here wrote: scikit-learn's diabetes data, as a CSV
with an R-style row index and a categorical segment column."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

import loopml
from loopml.cli import main
from loopml.monitoring import service as monitoring


@pytest.fixture
def diabetes_csv(tmp_path):
    """The table sorted by the target, as exports often are, with R's row names column."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame.sort_values("target", kind="stable")
    frame["sex"] = frame["sex"].map({1.0: "female", 2.0: "male"})
    frame.insert(0, "rownames", range(1, len(frame) + 1))
    path = tmp_path / "diabetes.csv"
    frame.to_csv(path, index=False)
    return path


def project(folder, **settings):
    path = folder / "loopml.yaml"
    base = {
        "name": "diabetes",
        "data": "diabetes.csv",
        "target": "target",
        "segment_by": "sex",
        "model": "ridge",
        "execution": {"max_workers": 1},
    }
    path.write_text(yaml.safe_dump({**base, **settings}))
    return path


def test_features_all_leaves_out_the_row_index_and_says_so(
    sqlite_ctx, tmp_path, diabetes_csv, capsys
):
    main(["run", "--file", str(project(tmp_path))])
    out = capsys.readouterr().out
    assert "features: all left out 'rownames': a row number (unique, in steps of 1)" in out
    for segment in ("sex=female", "sex=male"):
        version = loopml.get_model_version("diabetes", alias="champion", segment=segment)
        assert "rownames" not in version.signature.names
        # ridge on these ten features explains about half of the variance, not 99.9%
        assert 0.2 < version.metrics["r2"] < 0.75


def test_monitors_added_later_are_declared_although_nothing_retrains(
    sqlite_ctx, tmp_path, diabetes_csv, capsys
):
    main(["run", "--file", str(project(tmp_path))])
    capsys.readouterr()
    drift = {"name": "diabetes-drift", "kind": "drift", "window": "1d"}
    main(["run", "--file", str(project(tmp_path, monitoring=[drift]))])
    out = capsys.readouterr().out
    assert "nothing was trained" in out and "Monitors created or updated: diabetes-drift" in out
    assert "Nothing changed" not in out
    (monitor,) = monitoring.list_monitors(sqlite_ctx.store, model="diabetes")
    assert monitor.name == "diabetes-drift" and monitor.spec.window == pd.Timedelta("1d")
    main(["run", "--file", str(project(tmp_path, monitoring=[drift]))])
    assert "Nothing changed" in capsys.readouterr().out
