"""``loopml init --data``: a project file that fits a real table, and loads as written."""

from __future__ import annotations

import pytest

from loopml import InvalidInput, load_project
from loopml.cli import main


@pytest.fixture
def wine_csv(tmp_path):
    """scikit-learn's wine table with text classes, written with pandas' index column."""
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    frame["lab"] = "turin"  # the same in every row
    path = tmp_path / "wine.csv"
    frame.to_csv(path)  # the index becomes an unnamed first column
    return path


@pytest.fixture
def diabetes_csv(tmp_path):
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame["sex"] = frame["sex"].map({1.0: "female", 2.0: "male"})
    frame["visit"] = [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(len(frame))]
    frame["patient_id"] = [f"p{i:04d}" for i in range(len(frame))]
    path = tmp_path / "diabetes.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_class_target_with_text_labels_gives_a_classification_project(tmp_path, wine_csv, capsys):
    path = tmp_path / "loopml.yaml"
    main(["init", "--data", str(wine_csv), "--file", str(path)])
    spec = load_project(path)
    assert spec.task == "classification" and spec.target == "target"
    assert spec.data.path == "wine.csv" and spec.data.time is None
    assert spec.split_method == "random" and spec.segment_by == []
    assert "alcohol" in spec.features and "proline" in spec.features
    assert "Unnamed: 0" not in spec.features and "lab" not in spec.features
    text = path.read_text()
    assert '# left out "Unnamed: 0": a row number (unique, in steps of 1)' in text
    assert '# left out "lab": one value in every row' in text
    assert "guessed" in text  # the target was not given
    assert "classification of 'target' from 13 feature(s)" in capsys.readouterr().out


def test_an_amount_target_a_time_column_ids_and_segments(tmp_path, diabetes_csv):
    path = tmp_path / "loopml.yaml"
    main(
        [
            "init",
            "--data",
            str(diabetes_csv),
            "--file",
            str(path),
            "--target",
            "target",
            "--segment-by",
            "sex",
        ]
    )
    spec = load_project(path)
    assert spec.task == "regression" and spec.segment_by == ["sex"]
    assert spec.data.time == "visit" and spec.split_method == "time"
    assert "patient_id" not in spec.features and "bmi" in spec.features
    assert "named like an identifier" in path.read_text()
    assert "2 segment(s)" in path.read_text()


def test_a_column_that_is_not_there_is_named_with_the_closest(tmp_path, diabetes_csv):
    with pytest.raises(InvalidInput) as error:
        from loopml.pipeline.starter import init_from_data

        init_from_data(diabetes_csv, file=tmp_path / "x.yaml", target="targt")
    assert "no column 'targt'" in error.value.message and "'target'" in error.value.hint
    assert not (tmp_path / "x.yaml").exists()
