"""A drift report of Parquet and CSV files: the same report as of the loaded tables,
computed one column at a time, and a clear error for a file that cannot be read."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import loopml
from loopml.cli import main
from loopml.errors import InvalidInput, NotFound

ROWS = 12_000  # above the 10,000-point sketch, so the files' summaries are compressed too


def _frame(rows: int, shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    price = rng.normal(10 + shift, 2, rows)
    price[rng.random(rows) < 0.05] = np.nan
    city = rng.choice(["a", "b", "c", "d"], rows).astype(object)
    city[rng.random(rows) < 0.05] = None
    return pd.DataFrame(
        {
            "price": price,
            "qty": pd.array(rng.integers(0, 9, rows), dtype="Int64"),
            "city": city,
            "brand": pd.Categorical(
                rng.choice(["x", "y"], rows, p=[0.5 + shift / 4, 0.5 - shift / 4])
            ),
            "promo": rng.random(rows) < 0.3 + shift / 10,
            "when": pd.Timestamp("2026-01-01"),  # a type drift cannot compare: a data problem
        }
    )


@pytest.fixture
def files(tmp_path):
    """Reference and current Parquet files in several row groups; current lacks ``promo``."""
    reference, current = _frame(ROWS, 0.0, 1), _frame(ROWS // 2, 0.4, 2).drop(columns="promo")
    paths = tmp_path / "reference.parquet", tmp_path / "current.parquet"
    reference.to_parquet(paths[0], row_group_size=5_000)
    current.assign(extra=1.0).to_parquet(paths[1], row_group_size=5_000)
    return paths


def _same_report(from_files, from_tables):
    assert from_files.to_dict() == from_tables.to_dict()
    assert from_files.reference.to_dict() == from_tables.reference.to_dict()
    assert from_files.current.to_dict() == from_tables.current.to_dict()


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"columns": ["city", "price", "nowhere"]},
        {"methods": {"price": "ks", "city": "chi2", "qty": "psi"}, "thresholds": {"brand": 0.01}},
        {"chunks": 4, "columns": ["price", "brand", "qty"]},
    ],
    ids=["all", "columns", "methods", "chunks"],
)
def test_a_report_of_parquet_paths_is_the_report_of_the_loaded_tables(files, options):
    reference, current = files
    from_files = loopml.drift_report(str(reference), current, **options)
    from_tables = loopml.drift_report(pq.read_table(reference), pq.read_table(current), **options)
    _same_report(from_files, from_tables)
    assert from_files.columns  # something was compared, not two empty reports


def test_the_files_show_their_drift_and_data_problems(files):
    report = loopml.drift_report(*files)
    assert "price" in report.drifted_columns and "city" not in report.drifted_columns
    problems = {(p.column, p.problem) for p in report.problems}
    assert problems == {
        ("promo", "missing_column"),
        ("extra", "new_column"),
        ("when", "unsupported_type"),
    }


def test_a_reference_made_from_a_file_is_the_reference_made_from_the_table(files):
    reference, current = files
    from_file = loopml.make_reference(reference)
    assert from_file.to_dict() == loopml.make_reference(pq.read_table(reference)).to_dict()
    from_saved = loopml.drift_report(from_file, current)
    _same_report(from_saved, loopml.drift_report(pq.read_table(reference), pq.read_table(current)))


def test_a_report_of_csv_paths_is_the_report_of_the_loaded_tables(tmp_path):
    reference, current = tmp_path / "reference.csv", tmp_path / "current.csv"
    _frame(3_000, 0.0, 1).to_csv(reference, index=False)
    _frame(2_000, 0.4, 2).to_csv(current, index=False)
    from_tables = loopml.drift_report(pacsv.read_csv(reference), pacsv.read_csv(current))
    _same_report(loopml.drift_report(reference, current), from_tables)


def _peak_arrow_bytes(work) -> int:
    """The most memory Arrow held at once while ``work`` ran (a pool of its own counts it)."""
    default = pa.default_memory_pool()
    pool = pa.proxy_memory_pool(default)
    pa.set_memory_pool(pool)
    try:
        work()
    finally:
        pa.set_memory_pool(default)
    return pool.max_memory()


@pytest.fixture
def wide_files(tmp_path):
    rng = np.random.default_rng(3)
    columns = {f"n{i}": rng.normal(0, 1, 50_000) for i in range(10)}
    paths = tmp_path / "reference.parquet", tmp_path / "current.parquet"
    pq.write_table(pa.table(columns), paths[0])
    pq.write_table(pa.table(columns | {"n0": columns["n0"] + 1}), paths[1])
    return paths


def test_files_are_read_a_column_at_a_time_never_as_whole_tables(wide_files):
    table_bytes = pq.read_table(wide_files[0]).nbytes
    loaded = _peak_arrow_bytes(lambda: loopml.drift_report(*map(pq.read_table, wide_files)))
    from_files = _peak_arrow_bytes(lambda: loopml.drift_report(*wide_files))
    assert loaded >= 2 * table_bytes  # the measure sees whole tables when they are loaded
    assert from_files < table_bytes / 2  # a tenth of it is one column; two at most are held


def test_the_cli_reads_parquet_a_column_at_a_time(wide_files, tmp_path):
    reference, current = wide_files
    out = tmp_path / "report.json"
    args = ["report", "drift", "--reference", str(reference), "--current", str(current)]
    peak = _peak_arrow_bytes(lambda: main([*args, "--out", str(out)]))
    assert peak < pq.read_table(reference).nbytes / 2
    assert json.loads(out.read_text()) == loopml.drift_report(*wide_files).to_dict()


@pytest.mark.parametrize("side", ["reference", "current"])
def test_a_corrupt_parquet_file_is_a_clear_error(files, side):
    reference, current = files
    broken = reference.with_name("broken.parquet")
    broken.write_bytes(b"PAR1 these bytes are not a table" * 10)
    pair = (broken, current) if side == "reference" else (reference, broken)
    with pytest.raises(InvalidInput, match=r"Cannot read .*broken\.parquet") as error:
        loopml.drift_report(*pair)
    assert error.value.hint


def test_a_missing_file_is_not_found(files):
    with pytest.raises(NotFound, match=r"No file at .*missing\.parquet") as error:
        loopml.drift_report(files[0].with_name("missing.parquet"), files[1])
    assert error.value.hint == "Check the path."


def test_a_file_that_is_not_a_table_is_a_clear_error(files, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a table")
    with pytest.raises(InvalidInput, match="Cannot tell the format") as error:
        loopml.drift_report(files[0], notes)
    assert ".parquet or .csv" in error.value.hint


def test_the_cli_names_a_corrupt_parquet_file_without_a_traceback(files, capsys):
    broken = files[0].with_name("broken.parquet")
    broken.write_bytes(b"\x00garbage" * 50)
    with pytest.raises(SystemExit):
        main(["report", "drift", "--reference", str(files[0]), "--current", str(broken)])
    err = capsys.readouterr().err
    assert "Cannot read" in err and "broken.parquet" in err and "Traceback" not in err
