"""search_runs: the filter language, ordering, limits, and errors on bad filters."""

import math

import pytest

import loopml


@pytest.fixture
def runs(ctx) -> dict[str, str]:
    """Five runs of experiment "demand" and one of "other"; name -> run id."""
    specs = [
        ("ridge-a", {"model": "ridge", "alpha": "0.1"}, {"mae": 3.0, "r2": 0.8}, {"team": "ops"}),
        ("ridge-b", {"model": "ridge", "alpha": "1.0"}, {"mae": 2.0}, {"team": "planning"}),
        ("lasso-a", {"model": "lasso", "alpha": "0.1"}, {"mae": 4.5, "r2": 0.6}, {"team": "ops"}),
        ("tree", {"model": "tree"}, {"mae": 1.5, "r2": 0.9}, {}),
        ("no-metrics", {"model": "forest"}, {}, {"team": "ops"}),
    ]
    ids = {}
    for name, params, metrics, tags in specs:
        with loopml.start_run(experiment="demand", name=name, tags=tags) as run:
            loopml.log_params(params)
            if metrics:
                loopml.log_metrics(metrics)
        ids[name] = run.id
    with loopml.start_run(experiment="other", name="elsewhere") as run:
        loopml.log_params({"model": "ridge"})
        loopml.log_metric("mae", 0.1)
    ids["elsewhere"] = run.id
    with pytest.raises(RuntimeError), loopml.start_run(experiment="demand", name="crashed"):
        loopml.log_metric("mae", 9.0)
        raise RuntimeError("boom")
    return ids


def names(frame) -> set[str]:
    return set(frame["name"])


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ("metrics.mae < 3", {"ridge-b", "tree"}),
        ("metrics.mae <= 3", {"ridge-a", "ridge-b", "tree"}),
        ("metrics.mae >= 4.5", {"lasso-a", "crashed"}),
        ("metrics.r2 > 0.7 and metrics.mae != 1.5", {"ridge-a"}),
        ("params.alpha = '0.1'", {"ridge-a", "lasso-a"}),
        ("params.model = 'ridge' and params.alpha = '1.0'", {"ridge-b"}),
        ("params.model != 'ridge'", {"lasso-a", "tree", "no-metrics"}),
        ("params.model LIKE 'r%'", {"ridge-a", "ridge-b"}),
        ("params.model ilike 'R%'", {"ridge-a", "ridge-b"}),
        ("params.model IN ('tree', 'forest')", {"tree", "no-metrics"}),
        ("params.model not in ('ridge', 'lasso')", {"tree", "no-metrics"}),
        ("tags.team = 'ops' AND metrics.mae < 4", {"ridge-a"}),
        ("status = 'failed'", {"crashed"}),
        ("attributes.status = 'finished' and name like 'ridge%'", {"ridge-a", "ridge-b"}),
        ('params.alpha = "0.1" and metrics.mae < 3.5', {"ridge-a"}),
        ("metrics.`mae` < 2", {"tree"}),
        ("", {"ridge-a", "ridge-b", "lasso-a", "tree", "no-metrics", "crashed"}),
    ],
)
def test_filters_select_the_matching_runs(runs, filter, expected):
    assert names(loopml.search_runs("demand", filter=filter)) == expected


def test_a_frame_has_attributes_params_latest_metrics_and_tags(runs):
    frame = loopml.search_runs("demand", filter="params.model = 'ridge'", order_by=["name"])
    assert list(frame["name"]) == ["ridge-a", "ridge-b"]
    first = frame.iloc[0]
    assert first["run_id"] == runs["ridge-a"]
    assert first["experiment"] == "demand" and first["status"] == "finished"
    assert first["params.alpha"] == "0.1" and first["metrics.mae"] == 3.0
    assert first["tags.team"] == "ops"
    assert math.isnan(frame.iloc[1]["metrics.r2"])  # ridge-b never logged r2


def test_order_by_a_metric_puts_runs_without_it_last(runs):
    ascending = loopml.search_runs("demand", order_by=["metrics.mae asc"])
    assert list(ascending["name"]) == [
        "tree",
        "ridge-b",
        "ridge-a",
        "lasso-a",
        "crashed",
        "no-metrics",
    ]
    descending = loopml.search_runs("demand", order_by=["metrics.mae DESC"])
    assert list(descending["name"]) == [
        "crashed",
        "lasso-a",
        "ridge-a",
        "ridge-b",
        "tree",
        "no-metrics",
    ]


def test_order_by_several_keys(runs):
    frame = loopml.search_runs(
        "demand", filter="params.alpha IN ('0.1', '1.0')", order_by=["params.alpha", "name desc"]
    )
    assert list(frame["name"]) == ["ridge-a", "lasso-a", "ridge-b"]


def test_default_order_is_newest_first_and_max_results_limits(runs):
    frame = loopml.search_runs("demand", max_results=2)
    assert list(frame["name"]) == ["crashed", "no-metrics"]
    assert len(loopml.search_runs("demand", max_results=None)) == 6


def test_search_spans_experiments_when_none_is_named(runs):
    assert names(loopml.search_runs(filter="metrics.mae < 1")) == {"elsewhere"}
    both = loopml.search_runs(["demand", "other"], filter="params.model = 'ridge'")
    assert names(both) == {"ridge-a", "ridge-b", "elsewhere"}


def test_no_match_gives_an_empty_frame(runs):
    frame = loopml.search_runs("demand", filter="metrics.mae > 100")
    assert frame.empty and "run_id" in frame.columns


def test_search_by_parent_run(ctx):
    with loopml.start_run(experiment="tuning") as parent:
        for alpha in (0.1, 1.0):
            with loopml.start_run(name=f"alpha={alpha}") as child:
                loopml.log_param("alpha", alpha)
    frame = loopml.search_runs("tuning", filter=f"parent_run_id = '{parent.id}'")
    assert names(frame) == {"alpha=0.1", "alpha=1.0"}
    assert set(frame["parent_run_id"]) == {parent.id}
    assert child.id in set(frame["run_id"])


@pytest.mark.parametrize(
    ("filter", "problem"),
    [
        ("metrics.mae < 3 or metrics.mae > 5", "expected 'and' but found 'or'"),
        ("mae < 3", "unknown name 'mae'"),
        ("metrics.mae", "a condition ends without an operator"),
        ("metrics.mae <", "a condition ends without a value"),
        ("metrics.mae ~ 3", "cannot read '~ 3'"),
        ("metrics.mae = '3'", "metrics.mae is a number; write the value without quotes"),
        ("metrics.mae like '3%'", "metrics.mae is a number"),
        ("params.alpha < '1'", "params.alpha is text; use =, !=, LIKE or IN"),
        ("params.alpha = 0.1", "params.alpha is text; quote the value: '0.1'"),
        ("params.model in 'ridge'", "IN takes a list in parentheses"),
        ("params.model in ('ridge'", "a list is missing its closing parenthesis"),
        ("metrics.mae = and", "expected a value such as 3 or 'text' but found 'and'"),
        ("= 3", "expected a name such as metrics.mae, found '='"),
    ],
)
def test_a_bad_filter_says_what_is_wrong_and_shows_an_example(ctx, filter, problem):
    with pytest.raises(loopml.InvalidInput) as raised:
        loopml.search_runs(filter=filter)
    assert problem in raised.value.message
    assert repr(filter) in raised.value.message
    assert "metrics.mae < 3 and params.alpha = '0.1'" in raised.value.hint


def test_a_bad_order_by_is_refused(ctx):
    with pytest.raises(loopml.InvalidInput, match="unknown name 'accuracy'"):
        loopml.search_runs(order_by=["accuracy desc"])


def test_an_unknown_experiment_lists_the_known_ones(runs):
    with pytest.raises(loopml.NotFound) as raised:
        loopml.search_runs("demnad")
    assert "No experiment named 'demnad'" in raised.value.message
    assert "demand, other" in raised.value.hint


def test_backticks_quote_keys_with_spaces_or_dots(sqlite_ctx):
    with loopml.start_run(experiment="keys", name="spaced"):
        loopml.log_metrics({"val loss": 0.2, "val.acc": 0.9})
    assert names(loopml.search_runs("keys", filter="metrics.`val loss` < 0.5")) == {"spaced"}
    assert names(loopml.search_runs("keys", filter="metrics.val.acc > 0.5")) == {"spaced"}


def test_start_time_compares_with_a_quoted_date(sqlite_ctx):
    with loopml.start_run(experiment="times", name="now"):
        pass
    assert names(loopml.search_runs("times", filter="start_time > '2020-01-01'")) == {"now"}
    assert loopml.search_runs("times", filter="end_time < '2020-01-01T00:00+02:00'").empty
    with pytest.raises(loopml.InvalidInput, match="start_time takes a quoted date or time"):
        loopml.search_runs("times", filter="start_time > 'yesterday'")
    with pytest.raises(loopml.InvalidInput, match="start_time takes a quoted date or time"):
        loopml.search_runs("times", filter="start_time > 2020")
