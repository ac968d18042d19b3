"""The project file: what `loopml init` writes, and errors that name the line and the fix."""

import pytest

from loopml import InvalidInput, ProjectSpec, load_project
from loopml.cli import main
from loopml.pipeline.project import parse_project
from loopml.pipeline.template import TEMPLATE


def test_init_writes_a_commented_file_that_loads(tmp_path, capsys):
    path = tmp_path / "loopml.yaml"
    main(["init", "--file", str(path)])
    text = path.read_text()
    assert text.count("\n#") >= 10  # commented for people who do not read docs first
    spec = load_project(path)
    assert spec.segment_by == ["store", "sku"] and spec.task == "forecast"
    assert len(ProjectSpec.model_fields) <= 15
    assert "Wrote" in capsys.readouterr().out


def test_init_does_not_overwrite_without_force(tmp_path, capsys):
    path = tmp_path / "loopml.yaml"
    path.write_text("name: mine\n")
    with pytest.raises(SystemExit):
        main(["init", "--file", str(path)])
    assert "--force" in capsys.readouterr().err
    assert path.read_text() == "name: mine\n"
    main(["init", "--file", str(path), "--force"])
    assert path.read_text() == TEMPLATE


def line_of(text: str, start: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(start))


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [("segmnet_by:", "segment_by"), ("  test_siz:", "test_size"), ("  max_worker:", "max_workers")],
)
def test_a_typo_in_a_key_names_its_line_and_the_right_key(typo, suggestion):
    key = typo.strip().rstrip(":")
    right = f"{' ' * (len(typo) - len(typo.lstrip()))}{suggestion}:"
    text = TEMPLATE.replace(right, typo, 1)
    assert text != TEMPLATE
    line = line_of(text, typo)
    with pytest.raises(InvalidInput) as error:
        parse_project(text)
    assert f"line {line}" in error.value.message
    assert repr(key) in error.value.message or f".{key}'" in error.value.message
    assert error.value.hint == f"Did you mean {suggestion!r}?"


def test_an_estimator_path_that_does_not_import_is_refused_with_the_fix():
    with pytest.raises(InvalidInput) as error:
        parse_project(TEMPLATE.replace("model: ridge", "model: sklearn.linear_model.Ridgee"))
    assert f"line {line_of(TEMPLATE, 'model:')}" in error.value.message
    assert "Ridgee" in error.value.message and "sklearn.linear_model.Ridge" in error.value.message
    with pytest.raises(InvalidInput, match="not installed"):
        parse_project(TEMPLATE.replace("model: ridge", "model: {estimator: nolib.Model}"))


def test_an_unknown_preset_suggests_the_closest():
    with pytest.raises(InvalidInput, match="did you mean 'lightgbm'"):
        parse_project(TEMPLATE.replace("model: ridge", "model: lightgmb"))


def test_a_missing_setting_and_bad_yaml_are_named():
    with pytest.raises(InvalidInput, match="'target' is missing"):
        parse_project("name: demand\ndata: sales.csv\n")
    with pytest.raises(InvalidInput, match="line 3"):
        parse_project("name: demand\ndata: sales.csv\ntarget: [units\n")


def test_forecast_lags_shorter_than_the_horizon_would_leak():
    text = TEMPLATE.replace("horizon: 1", "horizon: 3")
    with pytest.raises(InvalidInput, match=r"lags \[1\] are shorter than the horizon 3"):
        parse_project(text)


def test_a_forecast_needs_a_time_column_and_metrics_fit_the_task():
    base = {"name": "d", "data": "sales.csv", "target": "units"}
    with pytest.raises(InvalidInput, match=r"data\.time"):
        parse_project("name: d\ndata: sales.csv\ntarget: units\ntask: forecast\n")
    with pytest.raises(InvalidInput, match="line 4: 'accuracy' is not a regression metric"):
        parse_project("name: d\ndata: sales.csv\ntarget: units\nmetrics: [mae, accuracy]\n")
    assert ProjectSpec.model_validate(base).metric_names == ["mae", "rmse", "r2"]


def test_monitors_and_policies_default_to_the_project_model():
    text = TEMPLATE.replace(
        "monitoring: []", "monitoring:\n  - {name: demand-drift, kind: drift, window: 1d}"
    ).replace(
        "policies: []",
        "policies:\n  - {name: recover, triggers: [{when: alert, monitor: demand-drift}]}",
    )
    spec = parse_project(text)
    assert spec.monitoring[0].model == "demand" and spec.policies[0].model == "demand"


def test_every_problem_is_reported_at_once_each_with_its_line_and_fix():
    text = (
        "name: d\n"
        "data: sales.csv\n"
        "target: units\n"
        "segmnet_by: store\n"
        "split:\n"
        "  test_size: 2\n"
        "gate:\n"
        "  extra: {fairnes: {max_gap: 0.1}}\n"
    )
    with pytest.raises(InvalidInput) as error:
        parse_project(text)
    message = error.value.message
    assert message.startswith("loopml.yaml has 3 problems:")
    assert "line 4: unknown setting 'segmnet_by'. Fix: Did you mean 'segment_by'?" in message
    assert "line 6: split.test_size: Input should be less than 1" in message
    assert (
        "line 8: gate.extra: unknown gate check 'fairnes'. fix: known: fairness" in message.lower()
    )
    assert [p.line for p in error.value.problems] == [4, 6, 8]


def test_checks_across_settings_are_reported_together_with_a_fix_for_data_without_time():
    text = "name: d\ndata: rows.csv\ntarget: y\nsegment_by: [y]\nsplit:\n  method: time\n"
    with pytest.raises(InvalidInput) as error:
        parse_project(text)
    problems = {p.setting: p for p in error.value.problems}
    assert set(problems) == {"split.method", "segment_by"}
    assert problems["split.method"].line == 6
    assert "if the data has none, use split.method: random" in problems["split.method"].fix
    assert problems["segment_by"].line == 4


def test_a_gate_with_an_unknown_check_is_refused_by_the_file_check_and_the_registry(ctx):
    import loopml
    from loopml.registry import service

    with pytest.raises(InvalidInput, match=r"(?i)unknown gate check 'nope'"):
        parse_project("name: d\ndata: s.csv\ntarget: y\ngate: {extra: {nope: {}}}\n")
    with pytest.raises(InvalidInput, match=r"(?i)unknown gate check 'nope'"):
        service.set_gate(ctx.store, "d", {"extra": {"nope": {}}}, actor="me")
    with pytest.raises(loopml.NotFound):  # nothing was written
        service.get_model(ctx.store, "d")


def test_the_scheduler_reads_policies_with_the_project_model_as_their_default(tmp_path):
    from loopml.pipeline.project import load_project

    path = tmp_path / "loopml.yaml"
    path.write_text(
        "name: demand\ndata: s.csv\ntarget: y\n"
        "policies:\n  - {name: weekly, triggers: [{when: schedule, every: 7d}]}\n"
    )
    assert load_project(path).policies[0].model == "demand"


POLICY_FILE = (
    "name: demand\n"
    "data: sales.csv\n"
    "target: units\n"
    "segment_by: [store, product]\n"
    "policies:\n"
    "  - name: flour-by-hand\n"
    "    triggers: [{when: alert, monitor: demand-mape}]\n"
    "    segments:\n"
    "      - product=flour\n"
    "      - SEGMENT\n"
    "    promotion: approval\n"
)


def test_a_policy_covers_the_segments_it_names_in_canonical_form():
    spec = parse_project(POLICY_FILE.replace("SEGMENT", "store=north , product=rice"))
    [policy] = spec.policies
    assert policy.segments == ["product=flour", "product=rice,store=north"]
    assert policy.covers("product=flour,store=south")  # a partial key covers every store
    assert policy.covers("product=rice,store=north")
    assert not policy.covers("product=rice,store=south")
    assert not policy.covers("")  # a model without segments is not a flour segment
    assert (
        parse_project(
            POLICY_FILE.replace("    segments:\n      - product=flour\n      - SEGMENT\n", "")
        )
        .policies[0]
        .covers("product=oil,store=east")
    )


def test_a_malformed_segment_names_its_line_and_how_to_write_it():
    with pytest.raises(InvalidInput) as error:
        parse_project(POLICY_FILE.replace("SEGMENT", "flour"))
    [problem] = error.value.problems
    assert problem.line == 10 and problem.setting == "policies.0.segments.1"
    assert "'flour' is not of the form key=value" in problem.message
    assert problem.fix == 'Write it like "sku=A7,store=12".'
    assert f"line 10: {problem.message}." in error.value.message


def test_a_segment_of_an_unknown_column_names_its_line_the_columns_and_the_fix():
    with pytest.raises(InvalidInput) as error:
        parse_project(POLICY_FILE.replace("SEGMENT", "sku=A7,store=north"))
    [problem] = error.value.problems
    assert problem.line == 10 and problem.setting == "policies.0.segments.1"
    assert (
        "'sku'" in problem.message and "the segment columns are store, product" in problem.message
    )
    assert "add the column to segment_by" in problem.fix
    no_columns = POLICY_FILE.replace("SEGMENT", "store=north").replace(
        "segment_by: [store, product]\n", ""
    )
    with pytest.raises(InvalidInput, match=r"line 8: .*segment_by is not set"):
        parse_project(no_columns)  # the first problem, at line 8 once segment_by is gone
