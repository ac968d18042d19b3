"""Bad input gets a clear error, or is handled correctly; never a half-written version."""

import numpy as np
import pandas as pd
import pytest

import loopml
from loopml.errors import InvalidInput, NotFound


def nothing_written(ctx):
    assert loopml.list_datasets() == []
    objects = ctx.settings.home / "artifacts"
    assert not objects.exists() or not any(p.is_file() for p in objects.rglob("*"))


def test_truncated_parquet_file(sqlite_ctx, tmp_path):
    path = tmp_path / "cut.parquet"
    pd.DataFrame({"x": range(1000)}).to_parquet(path)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(InvalidInput, match=r"Cannot read .*cut\.parquet") as error:
        loopml.log_dataset(path, "cut")
    assert "truncated" in error.value.hint
    nothing_written(sqlite_ctx)


def test_unreadable_csv_file(sqlite_ctx, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,4,5,6\n7")
    with pytest.raises(InvalidInput, match="Cannot read"):
        loopml.log_dataset(path, "bad")
    nothing_written(sqlite_ctx)


def test_missing_file_and_unknown_format(sqlite_ctx, tmp_path):
    with pytest.raises(NotFound, match="No file"):
        loopml.log_dataset(tmp_path / "nope.parquet", "x")
    other = tmp_path / "data.xlsx"
    other.write_bytes(b"PK")
    with pytest.raises(InvalidInput, match="format"):
        loopml.log_dataset(other, "x")
    with pytest.raises(InvalidInput, match="Cannot use a list"):
        loopml.log_dataset([1, 2, 3], "x")
    nothing_written(sqlite_ctx)


def test_mixed_type_column_is_named(sqlite_ctx):
    frame = pd.DataFrame({"ok": [1, 2, 3], "mixed": [1, "two", 3.0]})
    with pytest.raises(
        InvalidInput, match=r"Column 'mixed' mixes types \(float, int, str\)"
    ) as error:
        loopml.log_dataset(frame, "mixed")
    assert "astype(str)" in error.value.hint
    nothing_written(sqlite_ctx)


def test_ints_and_floats_in_one_object_column_are_numbers(sqlite_ctx):
    frame = pd.DataFrame({"x": pd.Series([1, 2.5, None], dtype=object)})
    version = loopml.log_dataset(frame, "numbers")
    assert version.schema == [{"name": "x", "type": "float"}]


def test_empty_frames(sqlite_ctx):
    with pytest.raises(InvalidInput, match="no columns"):
        loopml.log_dataset(pd.DataFrame(), "empty")
    nothing_written(sqlite_ctx)
    no_rows = pd.DataFrame({"x": pd.Series([], dtype="float64"), "s": pd.Series([], dtype="str")})
    version = loopml.log_dataset(no_rows, "no_rows")
    assert version.num_rows == 0
    assert version.profile["columns"]["x"]["min"] is None
    assert loopml.load_dataset("no_rows").shape == (0, 2)
    with pytest.raises(InvalidInput, match="no rows"):
        loopml.infer_rules(version)


def test_ten_thousand_columns(sqlite_ctx):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(5, 10_000)), columns=[f"c{i}" for i in range(10_000)])
    version = loopml.log_dataset(frame, "wide")
    assert version.num_columns == 10_000 and len(version.profile["columns"]) == 10_000
    assert loopml.get_dataset("wide").schema[-1] == {"name": "c9999", "type": "float"}
    assert loopml.load_dataset("wide").shape == (5, 10_000)
    assert loopml.validate(frame, loopml.infer_rules(version)).ok


def test_non_string_column_names_become_text(sqlite_ctx):
    frame = pd.DataFrame([[1, "a", True], [2, "b", False]], columns=[0, 2.5, "x"])
    version = loopml.log_dataset(frame, "names")
    assert version.columns == ["0", "2.5", "x"]
    assert list(loopml.load_dataset("names").columns) == ["0", "2.5", "x"]


def test_duplicate_column_names(sqlite_ctx):
    frame = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])
    with pytest.raises(InvalidInput, match="duplicate column names: 'a'"):
        loopml.log_dataset(frame, "dupes")
    clash = pd.DataFrame([[1, 2]], columns=[1, "1"])  # the same name once written as text
    with pytest.raises(InvalidInput, match="duplicate column names: '1'"):
        loopml.log_dataset(clash, "dupes")
    nothing_written(sqlite_ctx)


def test_multi_level_columns(sqlite_ctx):
    frame = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")]))
    with pytest.raises(InvalidInput, match="multi-level"):
        loopml.log_dataset(frame, "multi")
    nothing_written(sqlite_ctx)


def test_a_failure_while_storing_leaves_no_version(sqlite_ctx, tmp_path):
    """The artifact store cannot be written: no row, no version number taken."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the artifact folder should be")
    broken = sqlite_ctx.settings.model_copy(update={"artifact_uri": str(blocker / "artifacts")})
    loopml.configure(broken)
    with pytest.raises(OSError):
        loopml.log_dataset(pd.DataFrame({"x": [1]}), "stuck")
    assert loopml.list_datasets() == []
    loopml.configure(sqlite_ctx.settings)
    assert loopml.log_dataset(pd.DataFrame({"x": [1]}), "stuck").version == 1
