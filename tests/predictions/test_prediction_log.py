"""The prediction and feedback logs: batched Parquet writes, hour partitions, label joins."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from loopml import FeedbackLog, InvalidInput, PredictionLog, read_predictions
from loopml.predictions.labels import join_feedback, read_labelled
from loopml.predictions.reader import read_feedback
from loopml.predictions.schema import inputs
from loopml.registry.segments import canonical_segment

T0 = datetime(2026, 3, 1, 10, 15, tzinfo=timezone.utc)


def _record(i: int, time: datetime, **extra):
    return {
        "prediction_id": f"p{i}",
        "time": time,
        "model": "demand",
        "version": 3,
        "segment": {"store": 12, "sku": "A7"},
        "inputs": {"price": 9.5 + i, "promo": i % 2 == 0},
        "prediction": 40.0 + i,
        "latency_ms": 1.5,
        "flags": ["out_of_range:price"] if i == 0 else [],
        **extra,
    }


def test_records_land_in_hour_partitions_and_windows_read_only_their_hours(tmp_path):
    with PredictionLog(str(tmp_path), flush_interval=60) as log:
        log.append(_record(i, T0 + timedelta(minutes=30 * i)) for i in range(6))
    folders = {str(p.parent.relative_to(tmp_path)) for p in tmp_path.rglob("*.parquet")}
    assert folders == {
        "predictions/model=demand/date=2026-03-01/hour=10",
        "predictions/model=demand/date=2026-03-01/hour=11",
        "predictions/model=demand/date=2026-03-01/hour=12",
    }
    table = read_predictions(
        str(tmp_path), "demand", T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    )
    assert table["prediction_id"].to_pylist() == ["p2", "p3"]
    row = read_predictions(str(tmp_path), "demand").to_pylist()[0]
    assert row["segment"] == "sku=A7,store=12"
    assert row["input.price"] == 9.5 and row["input.promo"] is True
    assert row["flags"] == ["out_of_range:price"] and row["shadow"] is False
    assert row["time"] == T0


def test_columns_are_selected_and_other_models_are_not_read(tmp_path):
    with PredictionLog(str(tmp_path)) as log:
        log.append([_record(0, T0), {**_record(1, T0), "model": "other"}])
    table = read_predictions(str(tmp_path), "demand", columns=["prediction", "input.price"])
    assert table.column_names == ["prediction", "input.price"]
    assert table.num_rows == 1
    assert read_predictions(str(tmp_path), "missing").num_rows == 0


def test_a_full_buffer_is_written_by_the_background_thread_without_close(tmp_path):
    log = PredictionLog(str(tmp_path), flush_size=3, flush_interval=3600)
    log.append(_record(i, T0) for i in range(3))
    deadline = time.monotonic() + 10
    while not list(tmp_path.rglob("*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert read_predictions(str(tmp_path), "demand").num_rows == 3
    log.close()


def test_bad_records_are_refused_and_lose_nothing_buffered(tmp_path):
    log = PredictionLog(str(tmp_path), flush_interval=3600)
    log.append([_record(0, T0)])
    with pytest.raises(InvalidInput, match="prediction"):
        log.append([{"prediction_id": "x", "model": "demand"}])
    with pytest.raises(InvalidInput, match="time zone"):
        log.append([_record(1, datetime(2026, 3, 1))])
    log.close()
    assert read_predictions(str(tmp_path), "demand")["prediction_id"].to_pylist() == ["p0"]


def test_late_partial_and_repeated_labels_join_by_prediction_id(tmp_path):
    with PredictionLog(str(tmp_path)) as log:
        log.append(_record(i, T0) for i in range(4))
    with FeedbackLog(str(tmp_path)) as feedback:
        feedback.append(
            [("p0", 41.0, T0 + timedelta(days=2)), ("p2", 1.0, T0 + timedelta(hours=5))]
        )
        feedback.append([{"prediction_id": "p2", "label": 43.0, "time": T0 + timedelta(hours=6)}])
        feedback.append([("unknown", 5.0, T0)])
    labels = read_feedback(str(tmp_path), start=T0)
    joined = join_feedback(read_predictions(str(tmp_path), "demand"), labels)
    assert joined["prediction_id"].to_pylist() == ["p0", "p1", "p2", "p3"]
    assert joined["label"].to_pylist() == [41.0, None, 43.0, None]


def test_canonical_segment_sorts_keys():
    assert canonical_segment("store=12, sku=A7") == "sku=A7,store=12"
    assert canonical_segment(None) == ""
    with pytest.raises(InvalidInput, match="key=value"):
        canonical_segment("store12")


def test_a_table_of_predictions_is_split_by_model_and_hour(tmp_path):
    import pyarrow as pa

    times = [T0, T0 + timedelta(minutes=50), T0 + timedelta(minutes=5)]
    table = pa.table(
        {
            "prediction_id": ["a", "b", "c"],
            "time": pa.array(times, pa.timestamp("us", tz="UTC")),
            "model": ["demand", "demand", "other"],
            "prediction": [1.0, 2.0, 3.0],
        }
    )
    with PredictionLog(str(tmp_path)) as log:
        log.append_table(table)
    folders = {str(p.parent.relative_to(tmp_path)) for p in tmp_path.rglob("*.parquet")}
    assert folders == {
        "predictions/model=demand/date=2026-03-01/hour=10",
        "predictions/model=demand/date=2026-03-01/hour=11",
        "predictions/model=other/date=2026-03-01/hour=10",
    }
    assert read_predictions(str(tmp_path), "demand")["prediction_id"].to_pylist() == ["a", "b"]
    with PredictionLog(str(tmp_path)) as log, pytest.raises(InvalidInput, match="lacks time"):
        log.append_table(table.drop_columns(["time"]))


def test_a_feature_sent_as_a_number_and_later_as_text_is_logged_as_text(tmp_path):
    with PredictionLog(str(tmp_path), flush_interval=60) as log:
        log.append([_record(0, T0, inputs={"customer": 12})])
        log.append([_record(1, T0, inputs={"customer": "12b"})])  # a second batch, own types
    rows = read_predictions(str(tmp_path), "demand").to_pylist()
    assert [r["input.customer"] for r in rows] == ["12", "12b"]
    assert len(list(tmp_path.rglob("*.parquet"))) == 1


def test_text_classes_and_text_labels_are_kept_as_sent(tmp_path):
    with PredictionLog(str(tmp_path)) as log:
        log.append([_record(0, T0, prediction="Yes"), _record(1, T0, prediction="No")])
    with FeedbackLog(str(tmp_path)) as feedback:
        feedback.append([("p0", "Yes"), ("p1", "Yes")])
    joined = read_labelled(str(tmp_path), "demand", T0, T0 + timedelta(hours=1))
    assert joined["prediction"].to_pylist() == ["Yes", "No"]
    assert joined["label"].to_pylist() == ["Yes", "Yes"]


def test_booleans_and_nan_become_numbers_and_nulls(tmp_path):
    with PredictionLog(str(tmp_path)) as log:
        log.append([_record(0, T0, prediction=True), _record(1, T0, prediction=float("nan"))])
    assert read_predictions(str(tmp_path), "demand")["prediction"].to_pylist() == [1.0, None]


def test_files_that_disagree_on_a_type_are_read_as_text(tmp_path):
    """A model whose classes became text: the older numeric files still read with the new ones."""
    for prediction in (1.0, "Yes"):
        with PredictionLog(str(tmp_path)) as log:
            log.append([_record(0, T0, prediction=prediction)])
    table = read_predictions(str(tmp_path), "demand")
    assert sorted(table["prediction"].to_pylist()) == ["1", "Yes"]


def test_inputs_are_given_back_under_their_own_names(tmp_path):
    with PredictionLog(str(tmp_path)) as log:
        log.append([_record(0, T0, inputs={"price": 9.5, "city": "a"})])
    features = inputs(read_predictions(str(tmp_path), "demand"))
    assert {name: column.to_pylist() for name, column in features.items()} == {
        "price": [9.5],
        "city": ["a"],
    }


def test_an_object_that_is_no_prediction_is_refused_with_what_to_send(tmp_path):
    with PredictionLog(str(tmp_path)) as log, pytest.raises(InvalidInput, match="class name"):
        log.append([_record(0, T0, prediction=[1, 2])])


def test_a_backfill_lands_at_its_event_time_and_older_files_read_as_their_time(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from loopml.predictions.reader import event_clock

    last_year = T0 - timedelta(days=365)
    with PredictionLog(str(tmp_path)) as log:
        log.append([{**_record(0, T0), "event_time": last_year}])
    row = read_predictions(str(tmp_path), "demand", last_year, last_year + timedelta(hours=1))
    assert row["event_time"].to_pylist() == [last_year] and row["time"].to_pylist() == [T0]
    assert read_predictions(str(tmp_path), "demand", T0).num_rows == 0  # not where it was sent
    # A file written before predictions had an event time: its time is its event time.
    old = tmp_path / "predictions/model=demand/date=2026-03-01/hour=10"
    old.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "prediction_id": ["old"],
                "model": ["demand"],
                "prediction": [1.0],
                "time": pa.array([T0], pa.timestamp("us", tz="UTC")),
            }
        ),
        old / "before.parquet",
    )
    found = read_predictions(str(tmp_path), "demand", T0, T0 + timedelta(hours=1))
    assert found["prediction_id"].to_pylist() == ["old"]
    assert found["event_time"].to_pylist() == [T0]
    assert event_clock(str(tmp_path), "demand") == T0 + timedelta(microseconds=1)


def test_one_segment_is_read_alone_with_or_without_chosen_columns(tmp_path):
    from sklearn.datasets import load_diabetes

    X = load_diabetes(as_frame=True).frame
    sexes = (X["sex"] > 0).map({True: "m", False: "f"})
    with PredictionLog(str(tmp_path)) as log:
        log.append(
            {
                "prediction_id": f"p{i}",
                "time": T0 + timedelta(minutes=i % 120),
                "model": "progression",
                "segment": {"sex": sex},
                "inputs": {"bmi": bmi},
                "prediction": target,
            }
            for i, (sex, bmi, target) in enumerate(zip(sexes, X["bmi"], X["target"], strict=True))
        )
    both = read_predictions(str(tmp_path), "progression")
    male = read_predictions(str(tmp_path), "progression", segment="sex=m")
    assert male.num_rows == int((sexes == "m").sum()) and set(male["segment"].to_pylist()) == {
        "sex=m"
    }
    assert male.schema.field("segment").type == both.schema.field("segment").type  # still text
    hour = read_predictions(
        str(tmp_path),
        "progression",
        T0,
        T0 + timedelta(hours=1),
        columns=["input.bmi"],
        segment="sex=f",
    )
    assert hour.column_names == ["input.bmi"]
    expected = [
        b for i, (s, b) in enumerate(zip(sexes, X["bmi"], strict=True)) if s == "f" and i % 120 < 60
    ]
    assert sorted(hour["input.bmi"].to_pylist()) == sorted(expected)
    assert read_predictions(str(tmp_path), "progression", segment="sex=x").num_rows == 0


def test_a_log_without_segments_is_all_of_the_empty_segment(tmp_path):
    import pyarrow as pa

    table = pa.table(
        {
            "prediction_id": ["a", "b"],
            "model": ["demand"] * 2,
            "prediction": [1.0, 2.0],
            "time": pa.array([T0, T0], pa.timestamp("us", tz="UTC")),
        }
    )
    with PredictionLog(str(tmp_path)) as log:
        log.append_table(table)
    assert (
        read_predictions(str(tmp_path), "demand", segment="", columns=["prediction"]).num_rows == 2
    )
    assert read_predictions(str(tmp_path), "demand", segment="store=1").num_rows == 0
