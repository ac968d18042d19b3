import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import loopml
from loopml import audit
from loopml.data import service
from loopml.errors import InvalidInput, NotFound


def sales(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "price": rng.normal(10, 2, n),
            "store": rng.choice(["a", "b", "c"], n),
            "qty": rng.integers(0, 50, n),
        }
    )


def test_log_load_round_trip_with_schema_and_profile(ctx):
    frame = sales()
    version = loopml.log_dataset(frame, "sales")
    assert len(version.id) == 32 and version.version == 1
    assert (version.num_rows, version.num_columns) == (200, 3)
    assert version.schema == [
        {"name": "price", "type": "float"},
        {"name": "store", "type": "string"},
        {"name": "qty", "type": "integer"},
    ]
    assert version.profile["columns"]["store"]["distinct"] == 3
    pd.testing.assert_frame_equal(loopml.load_dataset("sales"), frame)
    assert loopml.get_dataset("sales") == version
    assert ctx.artifacts.exists(version.digest)


def test_same_content_is_the_same_version_and_no_copy(ctx):
    first = loopml.log_dataset(sales(), "sales")
    objects = sorted(p for p in (ctx.settings.home).rglob("*") if p.is_file())
    again = loopml.log_dataset(sales(), "sales")  # an equal frame built again
    assert again == first
    assert sorted(p for p in ctx.settings.home.rglob("*") if p.is_file()) == objects
    assert [v.version for v in service.list_versions(ctx.store, "sales")] == [1]


def test_new_content_is_a_new_version_and_refs_resolve(ctx):
    first = loopml.log_dataset(sales(seed=1), "sales")
    second = loopml.log_dataset(sales(seed=2), "sales")
    assert second.version == 2 and second.digest != first.digest
    assert loopml.get_dataset("sales").id == second.id
    assert loopml.get_dataset("sales", 1).id == first.id
    assert service.resolve_version(ctx.store, "sales@1").id == first.id
    assert service.resolve_version(ctx.store, first.id).id == first.id
    assert loopml.get_dataset("sales@latest").id == second.id
    assert len(loopml.load_dataset("sales", 1)) == 200


def test_arrow_parquet_and_csv_inputs(ctx, tmp_path):
    frame = sales()
    frame.to_parquet(tmp_path / "sales.parquet", index=False)
    frame.to_csv(tmp_path / "sales.csv", index=False)
    from_file = loopml.log_dataset(tmp_path / "sales.parquet", "sales")
    assert from_file.source.endswith("sales.parquet")
    from_csv = loopml.log_dataset(str(tmp_path / "sales.csv"), "sales_csv")
    assert from_csv.num_rows == 200 and from_csv.schema[1]["type"] == "string"
    arrow = loopml.log_dataset(pa.table({"x": [1, 2, 3]}), "small")
    assert loopml.load_dataset("small")["x"].tolist() == [1, 2, 3]
    assert arrow.source == "arrow"


def test_unknown_names_and_versions_say_what_exists(ctx):
    loopml.log_dataset(sales(), "sales")
    with pytest.raises(NotFound, match="No dataset named 'sale'") as error:
        loopml.get_dataset("sale")
    assert "sales" in error.value.hint
    with pytest.raises(NotFound, match="no version 7"):
        loopml.get_dataset("sales", 7)
    with pytest.raises(InvalidInput):
        loopml.get_dataset("sales@x")
    with pytest.raises(InvalidInput, match="not a dataset name"):
        loopml.log_dataset(sales(), "bad@name")


def test_runs_record_the_datasets_they_log_and_load(ctx):
    with loopml.start_run() as producer:
        version = loopml.log_dataset(sales(), "sales")
    assert version.run_id == producer.id
    with loopml.start_run() as consumer:
        loopml.load_dataset("sales")
        loopml.load_dataset("sales")  # used twice, recorded once
    loopml.load_dataset("sales")  # no active run: nothing recorded
    other = loopml.log_dataset(sales(seed=3), "other")
    service.record_run_input(ctx.store, consumer.id, other.id)
    assert [r.id for r in loopml.runs_of_dataset("sales")] == [producer.id, consumer.id]
    assert [r.id for r in loopml.runs_of_dataset("sales", 1)] == [producer.id, consumer.id]
    assert [v.ref for v in loopml.datasets_of_run(consumer.id)] == ["sales@1", "other@1"]
    assert loopml.datasets_of_run(producer) == [version]
    with pytest.raises(NotFound):
        loopml.datasets_of_run("0" * 32)
    with pytest.raises(NotFound, match="no version 2"):
        loopml.runs_of_dataset("sales", 2)


def test_logging_same_content_in_another_run_records_it_as_input(ctx):
    first = loopml.log_dataset(sales(), "sales")
    with loopml.start_run() as run:
        again = loopml.log_dataset(sales(), "sales")
    assert again.id == first.id and again.run_id is None
    assert [r.id for r in loopml.runs_of_dataset("sales")] == [run.id]


def test_an_unknown_run_leaves_no_version(ctx):
    with pytest.raises(NotFound, match="No run"):
        loopml.log_dataset(sales(), "sales", run="f" * 32)
    assert loopml.list_datasets() == []


def test_every_new_version_is_an_audit_event(ctx):
    loopml.log_dataset(sales(), "sales")
    loopml.log_dataset(sales(), "sales")
    events = audit.list_events(ctx.store, entity_type="dataset")
    assert sorted(e.action for e in events) == ["dataset.create", "dataset.log"]


def test_stored_rules_round_trip_and_audit(ctx):
    version = loopml.log_dataset(sales(), "sales")
    with pytest.raises(NotFound, match="no validation rules"):
        loopml.get_dataset_rules("sales")
    rules = loopml.infer_rules(version)
    loopml.set_dataset_rules("sales", rules, reason="first rules")
    assert loopml.get_dataset_rules("sales") == rules
    assert loopml.list_datasets()[0].has_rules
    events = audit.list_events(ctx.store, entity_type="dataset")
    assert "dataset.rules.set" in {e.action for e in events}
