"""Batch scoring of files and frames, through the CLI and Python."""

import pandas as pd
import pyarrow.parquet as pq
import pytest
from tests.serving.models import FEATURES, churn_rows

import loopml
from loopml.cli import main


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_cli_scores_a_file_in_chunks(churn, tmp_path, suffix, capsys):
    model, version = churn[0]
    rows = churn_rows(2_500, seed=4)[FEATURES]
    source = tmp_path / f"rows.{suffix}"
    rows.to_parquet(source) if suffix == "parquet" else rows.to_csv(source, index=False)
    output = tmp_path / "scored.parquet"
    main(
        [
            "predict",
            "churn",
            "--input",
            str(source),
            "--output",
            str(output),
            "--chunk-rows",
            "1000",
        ]
    )
    scored = pd.read_parquet(output)
    assert scored["prediction"].tolist() == model.predict(rows).tolist()
    assert set(scored["version"]) == {version.version}
    assert "2,500 rows" in capsys.readouterr().out
    if suffix == "parquet":
        assert pq.ParquetFile(output).metadata.num_row_groups == 3  # written chunk by chunk


def test_python_api_scores_a_frame(churn):
    model, _ = churn[0]
    rows = churn_rows(300, seed=6)[FEATURES]
    scored = loopml.predict_batch("churn", rows, chunk_rows=128)
    assert scored["prediction"].tolist() == model.predict(rows).tolist()
    assert scored["proba"].round(9).tolist() == model.predict_proba(rows)[:, 1].round(9).tolist()


def test_bad_batch_input_names_the_fix(churn, tmp_path):
    with pytest.raises(loopml.InvalidInput, match="output"):
        loopml.predict_batch("churn", tmp_path / "rows.parquet")
    with pytest.raises(loopml.InvalidInput, match="does not exist"):
        loopml.predict_batch("churn", tmp_path / "rows.parquet", tmp_path / "out.parquet")
    frame = churn_rows(5)[["tenure"]]
    with pytest.raises(loopml.InvalidInput, match="monthly"):
        loopml.predict_batch("churn", frame)
    assert not (tmp_path / "out.parquet").exists()


def test_a_chunk_the_model_refuses_stops_the_file_and_leaves_no_output(churn, tmp_path):
    rows = churn_rows(2_500, seed=4)[FEATURES]
    rows.loc[1_600:, "monthly"] = None  # the second of three chunks: the first is written by then
    folder = tmp_path / "batch"
    folder.mkdir()
    source, output = folder / "rows.parquet", folder / "scored.parquet"
    rows.to_parquet(source)
    with pytest.raises(loopml.InvalidInput, match="cannot score these rows"):
        loopml.predict_batch("churn", source, output, chunk_rows=1000)
    assert [p.name for p in folder.iterdir()] == ["rows.parquet"]


def test_a_scored_table_keeps_its_event_times_in_utc_and_refuses_times_without_a_zone(churn):
    from loopml.errors import InvalidInput

    model, _ = churn[0]
    rows = churn_rows(3, seed=2)[FEATURES]
    rows["event_time"] = ["2015-03-01T00:00:00+01:00", "2015-03-02T00:00:00Z", None]
    with pytest.raises(InvalidInput, match="time zone"):
        loopml.predict_batch("churn", rows)
    rows["event_time"] = [
        "2015-03-01T00:00:00+01:00",
        "2015-03-02T00:00:00Z",
        "2015-03-03T00:00:00Z",
    ]
    scored = loopml.predict_batch("churn", rows)
    assert scored["prediction"].tolist() == model.predict(rows[FEATURES]).tolist()
    assert [t.isoformat() for t in scored["event_time"]] == [
        "2015-02-28T23:00:00+00:00",
        "2015-03-02T00:00:00+00:00",
        "2015-03-03T00:00:00+00:00",
    ]
    rows["event_time"] = ["2015-03-01", "2015-03-02", "2015-03-03"]
    with pytest.raises(InvalidInput, match="without a time zone"):
        loopml.predict_batch("churn", rows)
