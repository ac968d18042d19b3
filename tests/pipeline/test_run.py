"""`loopml run` end to end: a CSV with segments in, gated champions per segment out."""

import re

import numpy as np
import pandas as pd
import pytest
from tests.pipeline.conftest import write_project

import loopml
from loopml import InvalidInput
from loopml.cli import main
from loopml.registry import service as registry
from loopml.tracking import service as tracking


def versions(name="demand"):
    try:
        return loopml.list_model_versions(name)
    except loopml.NotFound:
        return []


def test_run_trains_registers_and_promotes_one_model_per_segment(ctx, project, capsys):
    main(["run", "--file", str(project)])
    out = capsys.readouterr().out
    assert "4 trained" in out and "4 promoted" in out
    segments = loopml.list_segments("demand")
    assert len(segments) == 4
    assert all(s["aliases"] == {"champion": s["latest"]} for s in segments)
    model = loopml.load_model(
        "models:/demand@champion", segment={"store": "north", "product": "rice"}
    )
    rows = pd.read_csv(project.parent / "sales.csv").head(3)
    assert model.predict(rows).shape == (3,)
    assert set(model.signature.names) == {"day_of_week", "promo", "price"}


def test_every_step_is_a_tracked_run_with_lineage(ctx, project):
    result = loopml.Pipeline.from_file(project).run()
    assert result.steps == {"load": "ran", "validate": "ran", "register": "ran", "train": "ran"}
    version = versions()[0]
    segment_run = loopml.get_run(version.run_id)
    assert segment_run.tags["loopml.segment"] == version.segment_key
    assert segment_run.metrics["mae"] == pytest.approx(version.metrics["mae"])
    assert segment_run.cpu_seconds > 0
    train = loopml.get_run(segment_run.parent_run_id)
    assert train.name == "train" and train.parent_run_id == result.run_id
    assert version.dataset_version_ids == (result.dataset_version_id,)
    assert loopml.get_dataset("demand").id == result.dataset_version_id
    pipeline = loopml.get_run(result.run_id)
    assert pipeline.metrics["segments_trained"] == 4
    assert pipeline.cpu_seconds >= pipeline.metrics["segment_cpu_seconds"] > 0


def test_a_rerun_with_nothing_changed_does_nothing_and_says_so(ctx, project, capsys):
    main(["run", "--file", str(project)])
    before = (len(versions()), len(loopml.search_runs("demand")))
    capsys.readouterr()
    main(["run", "--file", str(project)])
    assert "Nothing changed" in capsys.readouterr().out
    assert (len(versions()), len(loopml.search_runs("demand"))) == before
    main(["run", "--file", str(project), "--force"])
    assert "4 trained" in capsys.readouterr().out
    assert len(versions()) == 8


def test_only_the_segments_whose_rows_changed_train_again(sqlite_ctx, project):
    loopml.Pipeline.from_file(project).run()
    sales = project.parent / "sales.csv"
    frame = pd.read_csv(sales)
    frame.loc[frame["product"] == "rice", "demand"] += 1.0
    frame.to_csv(sales, index=False)
    result = loopml.Pipeline.from_file(project).run()
    assert (result.count("trained"), result.count("cached")) == (1, 3)
    assert [o.segment_key for o in result.segments if o.status == "trained"] == [
        "product=rice,store=north"
    ]


def test_a_changed_gate_judges_cached_versions_again(sqlite_ctx, tmp_path, sales):
    strict = write_project(tmp_path, gate={"thresholds": {"r2": ">= 0.999"}})
    first = loopml.Pipeline.from_file(strict).run()
    assert first.promotions() == {"gate failed": 4}
    assert "r2 >= 0.999" in first.segments[0].gate
    assert all("champion" not in s["aliases"] for s in loopml.list_segments("demand"))
    relaxed = write_project(tmp_path, gate={"thresholds": {"r2": ">= -10"}})
    second = loopml.Pipeline.from_file(relaxed).run()
    assert (second.count("cached"), second.promotions()) == (4, {"promoted": 4})
    assert len(versions()) == 4


def test_promotion_can_ask_for_approval_or_only_register(sqlite_ctx, tmp_path, sales):
    project = write_project(tmp_path, serving={"promote": "approval"})
    result = loopml.Pipeline.from_file(project).run()
    assert result.promotions() == {"approval requested": 4}
    assert len(loopml.list_approvals(name="demand")) == 4


def test_a_failing_segment_never_stops_the_others_and_the_run_exits_1_naming_it(
    sqlite_ctx, tmp_path, sales, capsys
):
    frame = pd.read_csv(sales)
    frame.loc[frame["product"] == "pasta", "price"] = np.nan  # Ridge refuses missing values
    frame.to_csv(sales, index=False)
    project = write_project(tmp_path, model={"preset": "ridge", "missing": "keep"})
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--file", str(project)])
    assert exit_.value.code == 1
    captured = capsys.readouterr()
    assert "3 trained" in captured.out and "1 failed" in captured.out
    assert "product=pasta,store=north" in captured.out and "NaN" in captured.out
    assert "1 segment(s) of 'demand' failed: product=pasta,store=north" in captured.err
    assert len(loopml.list_segments("demand")) == 3
    failed = loopml.search_runs("demand", filter="status = 'failed'")
    assert len(failed) == 1 and "NaN" in loopml.get_run(failed.run_id[0]).error


def test_missing_values_are_filled_by_default_and_refused_on_request(
    sqlite_ctx, tmp_path, sales, capsys
):
    frame = pd.read_csv(sales)
    frame.loc[frame.sample(11, random_state=0).index, "price"] = np.nan
    frame.loc[frame["product"] == "pasta", "price"] = np.nan  # one segment has no price at all
    frame.to_csv(sales, index=False)
    refuse = write_project(tmp_path, model={"preset": "ridge", "missing": "refuse"})
    with pytest.raises(InvalidInput, match=r"feature values are missing: 'price' \(\d+\)"):
        loopml.Pipeline.from_file(refuse).run()
    assert registry.list_models(sqlite_ctx.store) == []  # refused before anything was written
    result = loopml.Pipeline.from_file(write_project(tmp_path, model="linear")).run()
    assert result.count("trained") == 4 and not result.failures()
    model = loopml.load_model("models:/demand@champion", segment="product=pasta,store=north")
    rows = frame[frame["product"] == "pasta"].head(3)
    predictions = model.predict(rows[["day_of_week", "promo", "price"]])
    assert np.isfinite(np.asarray(predictions, dtype=float)).all()


def test_a_segment_with_too_few_rows_is_skipped_with_the_reason(
    sqlite_ctx, tmp_path, sales, capsys
):
    frame = pd.read_csv(sales)
    frame = frame[(frame["product"] != "oil") | (frame.index % 10 == 0)]
    frame.to_csv(sales, index=False)
    main(["run", "--file", str(write_project(tmp_path))])
    out = capsys.readouterr().out
    assert "3 trained" in out and "1 skipped" in out
    assert "6 rows, fewer than split.min_rows = 20" in out
    assert len(loopml.list_segments("demand")) == 3


def test_missing_target_is_refused_before_anything_is_written(ctx, tmp_path, sales):
    project = write_project(tmp_path, target="units")
    with pytest.raises(InvalidInput) as error:
        loopml.Pipeline.from_file(project).run()
    assert "target: the column 'units' is not in sales.csv" in error.value.message
    assert "demand" in error.value.hint  # the columns it has
    assert_nothing_written()


def test_a_time_column_that_does_not_parse_is_refused_naming_the_rows(sqlite_ctx, tmp_path, sales):
    frame = pd.read_csv(sales)
    frame.loc[7, "date"] = "next tuesday"
    frame.to_csv(sales, index=False)
    with pytest.raises(InvalidInput) as error:
        loopml.Pipeline.from_file(write_project(tmp_path)).run()
    assert "row 8: 'next tuesday'" in error.value.message
    assert "time_format" in error.value.hint
    assert_nothing_written()


def test_data_that_breaks_the_stored_rules_registers_nothing(sqlite_ctx, tmp_path, sales):
    project = write_project(tmp_path)
    loopml.Pipeline.from_file(project).run()
    frame = pd.read_csv(sales)
    frame["price"] = frame["price"] * 100  # a unit change upstream
    frame.to_csv(sales, index=False)
    with pytest.raises(InvalidInput, match="validation rule"):
        loopml.Pipeline.from_file(project).run()
    assert len(versions()) == 4


def test_a_custom_step_is_a_typed_function_and_is_cached(sqlite_ctx, project):
    calls = []

    def add_price_index(data: pd.DataFrame) -> pd.DataFrame:
        calls.append(len(data))
        return data.assign(price_index=data["price"] / data["price"].mean())

    first = loopml.Pipeline.from_file(project, steps=[add_price_index]).run()
    assert first.steps["add_price_index"] == "ran"
    assert "price_index" in versions()[0].signature.names
    second = loopml.Pipeline.from_file(project, steps=[add_price_index]).run()
    assert second.up_to_date and len(calls) == 1

    def untyped(data):
        return data

    with pytest.raises(
        InvalidInput, match=re.escape("def untyped(data: pd.DataFrame) -> pd.DataFrame")
    ):
        loopml.Pipeline.from_file(project, steps=[untyped])


def test_the_time_budget_skips_segments_not_started_in_time(sqlite_ctx, tmp_path, sales):
    project = write_project(tmp_path, execution={"max_workers": 1, "time_budget": 0.000001})
    result = loopml.Pipeline.from_file(project).run()
    assert result.count("skipped") == 4
    assert result.segments[0].reason == "the run's time budget was used up"
    assert versions() == []


def test_a_forecast_reports_backtest_metrics(sqlite_ctx, tmp_path, sales):
    project = write_project(
        tmp_path,
        task="forecast",
        split={"min_rows": 20},
        forecast={"lags": [1, 7], "rolling": [7], "backtest_periods": 10},
    )
    result = loopml.Pipeline.from_file(project).run()
    assert result.count("trained") == 4
    version = versions()[0]
    assert set(version.metrics) == {"mae", "mape", "wape"}
    assert 0 < version.metrics["wape"] < 0.5
    assert loopml.get_run(version.run_id).metrics["test_rows"] == 10
    assert {"lag_1", "lag_7", "rolling_mean_7", "week_of_year"} <= set(version.signature.names)


def test_monitors_of_the_project_file_are_declared(sqlite_ctx, tmp_path, sales):
    project = write_project(
        tmp_path,
        monitoring=[{"name": "demand-mae", "kind": "performance", "metric": "mae", "threshold": 9}],
    )
    loopml.Pipeline.from_file(project).run()
    from loopml.monitoring import service

    monitor = service.get_monitor(sqlite_ctx.store, "demand-mae")
    assert monitor.spec.model == "demand" and monitor.spec.threshold == 9


def assert_nothing_written():
    store = loopml._context.get_context().store
    assert registry.list_models(store) == []
    assert tracking.list_experiments(store, "default") == []


def test_classification_from_a_registered_dataset_with_listed_features(sqlite_ctx, tmp_path):
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "plant": np.repeat(["a", "b"], 150),
            "temperature": rng.normal(70, 10, 300),
            "vibration": rng.normal(1, 0.3, 300),
            "noise": rng.normal(0, 1, 300),
        }
    )
    frame["failed"] = (frame["temperature"] + 20 * frame["vibration"] > 92).astype(int)
    dataset = loopml.log_dataset(frame, "sensors")
    project = write_project(
        tmp_path,
        name="failures",
        data={"dataset": "sensors"},
        target="failed",
        task="classification",
        segment_by=["plant"],
        features=["temperature", "vibration"],
        model="logistic",
        split={"method": "random"},
        metrics=["accuracy", "roc_auc"],
    )
    result = loopml.Pipeline.from_file(project).run()
    assert result.count("trained") == 2 and result.dataset_version_id == dataset.id
    version = loopml.get_model_version("failures", alias="champion", segment="plant=a")
    assert version.metrics["accuracy"] > 0.8 and 0.5 < version.metrics["roc_auc"] <= 1
    assert version.signature.names == ["temperature", "vibration"]
    model = loopml.load_model("models:/failures@champion", segment={"plant": "b"})
    assert set(model.predict(frame.head(4))) <= {0, 1}


@pytest.mark.parametrize("preset", ["random_forest", "gradient_boosting", "lightgbm", "xgboost"])
def test_every_tree_preset_trains_and_loads(sqlite_ctx, tmp_path, sales, preset):
    params = {"n_estimators": 5} if preset != "gradient_boosting" else {"max_iter": 5}
    project = write_project(tmp_path, model={"preset": preset, "params": params})
    result = loopml.Pipeline.from_file(project).run()
    assert result.count("trained") == 4, result.failures()
    model = loopml.load_model("models:/demand@champion", segment="product=rice,store=north")
    assert model.predict(pd.read_csv(sales).head(2)).shape == (2,)
