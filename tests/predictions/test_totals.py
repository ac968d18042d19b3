"""Each prediction-log file's per-segment totals, kept beside it so a summary of the log
reads a few bytes a file: the numbers must be those of the rows themselves."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sklearn.datasets import load_diabetes

from loopml import PredictionLog, read_predictions
from loopml.predictions import reader
from loopml.predictions.reader import summarize

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)


def _log_diabetes(root: str) -> int:
    """The diabetes patients as predictions of a model per sex, over five hours, in three
    flushes (so hours hold several files), with a model CPU time on all but the first flush."""
    frame = load_diabetes(as_frame=True).frame
    with PredictionLog(root, flush_interval=60) as log:
        for part, rows in enumerate((frame.iloc[:150], frame.iloc[150:300], frame.iloc[300:])):
            log.append(
                {
                    "prediction_id": f"p{i}",
                    "time": T0 + timedelta(minutes=int(i) * 300 // len(frame)),
                    "model": "progression",
                    "version": 1 + part % 2,
                    "segment": {"sex": "m" if row.sex > 0 else "f"},
                    "inputs": {"bmi": row.bmi},
                    "prediction": row.target,
                    "cpu_ms": None if part == 0 else 0.25,
                }
                for i, row in rows.iterrows()
            )
            log.flush()
    return len(frame)


def _expected(root: str) -> list[tuple]:
    rows = read_predictions(root, "progression").to_pandas()
    grouped = rows.groupby(["segment", "version"]).agg(
        n=("prediction_id", "size"),
        first=("event_time", "min"),
        last=("event_time", "max"),
        cpu=("cpu_ms", lambda c: None if c.isna().all() else c.sum() / 1000),
    )
    return [
        (segment, version, r.n, r.first.to_pydatetime(), r.last.to_pydatetime(), _ms(r.cpu))
        for (segment, version), r in grouped.iterrows()
    ]


def _shown(summary) -> list[tuple]:
    return [
        (s.segment, s.version, s.predictions, s.first, s.last, _ms(s.cpu_seconds)) for s in summary
    ]


def _ms(seconds: float | None) -> float | None:
    """To the microsecond: sums of the same numbers in another order differ in the last bits."""
    return None if seconds is None else round(seconds, 6)


@pytest.fixture(autouse=True)
def _fresh_process():
    """Each test starts as a server just started: nothing read yet."""
    reader._kept_totals.cache_clear()
    reader._file_totals.cache_clear()


def test_every_log_file_has_its_totals_beside_it_and_the_summary_reads_only_those(tmp_path):
    root = str(tmp_path)
    patients = _log_diabetes(root)
    files = sorted(tmp_path.rglob("*.parquet"))
    assert len(files) > 5  # five hours, three flushes
    assert all(f.with_suffix(".totals").exists() for f in files)
    assert not list(tmp_path.rglob(".*.partial"))

    summary = summarize(root, "progression")
    assert _shown(summary) == _expected(root)
    assert sum(s.predictions for s in summary) == patients
    # Both sexes, versions 1 and 2; the first flush logged no CPU, the others 0.25 ms a row.
    assert {(s.segment, s.version) for s in summary} == {
        (f"sex={x}", v) for x in "fm" for v in (1, 2)
    }
    assert reader._file_totals.cache_info().misses == 0  # no Parquet file was read


def test_files_kept_without_totals_are_summed_from_their_rows_alike(tmp_path):
    root = str(tmp_path)
    _log_diabetes(root)
    with_totals = _shown(summarize(root, "progression"))
    kept = sorted(tmp_path.rglob("*.totals"))
    for path in kept[::2]:  # as if written before totals were kept
        path.unlink()
    reader._kept_totals.cache_clear()

    assert _shown(summarize(root, "progression")) == with_totals
    assert reader._file_totals.cache_info().misses == len(kept[::2])
