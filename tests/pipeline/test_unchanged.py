"""A rerun with nothing changed answers from the source's metadata, without reading it."""

import os

import numpy as np
import pandas as pd
from tests.pipeline.conftest import write_project

import loopml


def _same_metadata_other_rows(sales) -> None:
    """Change a value in place, keeping the file's size and modification time: only a
    run that reads the rows can tell."""
    stat = sales.stat()
    text = sales.read_text()
    last = text.rstrip("\n")[-1]
    sales.write_text(text.rstrip("\n")[:-1] + ("1" if last != "1" else "2") + "\n")
    os.utime(sales, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert sales.stat().st_size == stat.st_size


def test_an_unchanged_rerun_answers_from_metadata_without_reading_the_data(sqlite_ctx, project):
    first = loopml.Pipeline.from_file(project).run()  # infers and stores the data's rules
    _same_metadata_other_rows(project.parent / "sales.csv")
    again = loopml.Pipeline.from_file(project).run()
    assert again.up_to_date and again.count("cached") == 4
    assert {(o.segment_key, o.version) for o in again.segments} == {
        (o.segment_key, o.version) for o in first.segments
    }
    assert set(again.steps.values()) == {"cached"}
    assert loopml.Pipeline.from_file(project).run(force=True).count("trained") == 4


def test_new_metadata_with_the_same_rows_hashes_them_and_trains_nothing(sqlite_ctx, project):
    loopml.Pipeline.from_file(project).run()
    sales = project.parent / "sales.csv"
    stat = sales.stat()
    os.utime(sales, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    again = loopml.Pipeline.from_file(project).run()
    assert again.up_to_date and again.count("cached") == 4
    _same_metadata_other_rows(sales)  # and the new metadata is remembered
    assert loopml.Pipeline.from_file(project).run().up_to_date


def test_changed_rows_train_only_their_segments_after_a_shortcut(sqlite_ctx, project):
    loopml.Pipeline.from_file(project).run()
    loopml.Pipeline.from_file(project).run()
    sales = project.parent / "sales.csv"
    frame = pd.read_csv(sales)
    frame.loc[frame["product"] == "rice", "demand"] += 1.0
    frame.to_csv(sales, index=False)
    result = loopml.Pipeline.from_file(project).run()
    assert (result.count("trained"), result.count("cached")) == (1, 3)


def test_a_changed_project_file_or_parquet_rows_plan_in_full(sqlite_ctx, tmp_path, sales):
    frame = pd.read_csv(sales)
    frame.to_parquet(tmp_path / "sales.parquet", index=False)
    project = write_project(tmp_path, data={"path": "sales.parquet", "time": "date"})
    loopml.Pipeline.from_file(project).run()
    changed = write_project(
        tmp_path,
        data={"path": "sales.parquet", "time": "date"},
        split={"method": "time", "min_rows": 21},
    )
    assert loopml.Pipeline.from_file(changed).run().count("trained") == 4
    store = frame["store"] == frame["store"].iloc[0]
    frame.loc[store, "demand"] += 1.0
    frame.to_parquet(tmp_path / "sales.parquet", index=False)
    expected = frame[store]["product"].nunique()
    assert loopml.Pipeline.from_file(changed).run().count("trained") == expected


def test_a_failed_segment_is_retried_by_the_next_run(sqlite_ctx, tmp_path, sales):
    frame = pd.read_csv(sales)
    frame.loc[frame["product"] == "pasta", "price"] = np.nan  # Ridge refuses missing values
    frame.to_csv(sales, index=False)
    project = write_project(tmp_path, model={"preset": "ridge", "missing": "keep"})
    assert loopml.Pipeline.from_file(project).run().count("failed") == 1
    again = loopml.Pipeline.from_file(project).run()
    assert not again.up_to_date and again.count("failed") == 1 and again.count("cached") == 3
