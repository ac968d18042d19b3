"""The ``loopml`` command as a user runs it: tables to read, errors with their fix."""

import pytest
from sqlalchemy import create_engine, text

import loopml
from loopml.cli import main
from loopml.config import Settings
from loopml.store.migrate import HEAD


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch):
    """A terminal wide enough that table cells are not folded over several lines."""
    from loopml.cli import output

    for console in (output.console, output.errors):
        monkeypatch.setattr(console, "_width", 200)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exit:
        code = exit.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def two_runs(ctx):
    with loopml.start_run(experiment="demand", name="ridge") as first:
        loopml.log_params({"alpha": 0.1, "model": "ridge"})
        loopml.log_metrics({"mae": 3.25, "r2": 0.5})
    with loopml.start_run(experiment="demand", name="lasso") as second:
        loopml.log_params({"alpha": 1.0, "model": "ridge"})
        loopml.log_metrics({"mae": 2.5})
        loopml.log_text("hi", "notes.txt")
    with loopml.start_run(experiment="other", name="elsewhere"):
        pass
    return first, second


def test_version(capsys):
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.strip() == f"loopml {loopml.__version__}"


def test_experiments_list(two_runs, capsys):
    code, out, _ = run_cli(capsys, "experiments", "list")
    assert code == 0
    assert "Experiments in project 'default'" in out
    demand = next(line for line in out.splitlines() if "demand" in line)
    assert "│ 2 " in demand
    assert "other" in out


def test_experiments_list_on_an_empty_store(ctx, capsys):
    code, out, _ = run_cli(capsys, "experiments", "list")
    assert code == 0 and "No experiments yet" in out


def test_runs_list_filters_and_shows_metrics(two_runs, capsys):
    first, second = two_runs
    code, out, _ = run_cli(capsys, "runs", "list", "-e", "demand", "-f", "metrics.mae < 3")
    assert code == 0
    assert second.id[:12] in out and first.id[:12] not in out
    assert "lasso" in out and "2.5" in out
    code, out, _ = run_cli(capsys, "runs", "list", "--order-by", "metrics.mae desc", "-n", "1")
    assert first.id[:12] in out and second.id[:12] not in out


def test_runs_list_when_nothing_matches(two_runs, capsys):
    code, out, _ = run_cli(capsys, "runs", "list", "-f", "metrics.mae > 100")
    assert code == 0 and "No runs match." in out


def test_runs_show(two_runs, capsys):
    _, second = two_runs
    code, out, _ = run_cli(capsys, "runs", "show", second.id)
    assert code == 0
    assert "lasso" in out and "finished" in out and "demand" in out
    for expected in ("Params", "alpha", "Metrics", "mae", "Artifacts", "notes.txt"):
        assert expected in out


def test_runs_compare_puts_runs_side_by_side(two_runs, capsys):
    first, second = two_runs
    code, out, _ = run_cli(capsys, "runs", "compare", first.id, second.id)
    assert code == 0
    assert first.id[:8] in out and second.id[:8] in out
    alpha = next(line for line in out.splitlines() if "alpha" in line)
    assert "0.1" in alpha and "1.0" in alpha
    r2 = next(line for line in out.splitlines() if "r2" in line)
    assert "0.5" in r2 and "—" in r2  # the second run never logged r2


def test_db_upgrade_creates_a_fresh_store_and_is_safe_to_repeat(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'fresh' / 'loopml.db'}"
    loopml.configure(Settings(home=tmp_path, store_url=url, auto_upgrade=False))
    for _ in range(2):
        code, out, _ = run_cli(capsys, "db", "upgrade")
        assert code == 0 and "is up to date" in out
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == HEAD
    engine.dispose()


def test_db_upgrade_on_a_current_store(ctx, capsys):
    code, out, _ = run_cli(capsys, "db", "upgrade")
    assert code == 0 and "is up to date" in out


def test_an_error_prints_a_headline_and_a_fix_without_traceback(ctx, capsys):
    code, out, err = run_cli(capsys, "runs", "show", "0" * 32)
    assert code == 1
    assert f"Error: No run with id {'0' * 32}." in err
    assert "Fix: `loopml runs list` shows the runs." in err
    assert "Traceback" not in err and out == ""


def test_a_bad_filter_on_the_command_line(ctx, capsys):
    code, _, err = run_cli(capsys, "runs", "list", "-f", "mae < 3")
    assert code == 1
    assert "unknown name 'mae'" in err and "Fix: Example:" in err


def test_debug_raises_the_error_for_its_traceback(ctx, capsys):
    with pytest.raises(loopml.NotFound, match="No run with id"):
        main(["--debug", "runs", "show", "0" * 32])


def test_the_short_help_of_every_command_is_its_own_first_line():
    """``loopml --help`` lists commands from cli.COMMANDS without importing them; each
    entry must say what the command itself says."""
    import typer.main

    from loopml.cli import COMMANDS, app
    from loopml.cli.lazy import LazyGroup

    group = typer.main.get_command(app)
    assert isinstance(group, LazyGroup)
    for name, lazy in COMMANDS.items():
        command = group.load(name)
        own = (command.help or "").strip().splitlines()[0]
        assert own == lazy.help, f"cli.COMMANDS[{name!r}] should read {own!r}"


def test_an_unknown_command_is_refused_with_a_suggestion(capsys):
    code, _, err = run_cli(capsys, "modles")
    assert code == 2 and "No such command 'modles'" in err and "'models'" in err


def test_runs_list_shows_a_readable_default_and_any_columns_on_request(two_runs, capsys):
    import json

    first, second = two_runs
    code, out, _ = run_cli(capsys, "runs", "list", "-e", "demand")
    header = next(line for line in out.splitlines() if "experiment" in line)
    assert [c.strip() for c in header.strip("┃ ").split("┃")] == [
        "run_id",
        "experiment",
        "name",
        "status",
        "start_time",
        "wall_seconds",
        "metrics.mae",
        "metrics.r2",
    ]
    assert "params.alpha" not in out
    code, out, _ = run_cli(capsys, "runs", "list", "-e", "demand", "--columns", "name,params.alpha")
    assert code == 0 and "params.alpha" in out and "0.1" in out and "status" not in out
    code, _, err = run_cli(capsys, "runs", "list", "--columns", "name,nope")
    assert code == 1 and "No column 'nope' in this list" in err and "params.alpha" in err
    code, out, _ = run_cli(capsys, "runs", "list", "-e", "demand", "--json")
    records = json.loads(out)
    assert {r["run_id"] for r in records} == {first.id, second.id}


def test_the_short_ids_the_cli_prints_are_accepted_back(two_runs, capsys):
    first, second = two_runs
    code, out, _ = run_cli(capsys, "runs", "show", second.id[:12])
    assert code == 0 and second.id in out and "lasso" in out
    code, out, _ = run_cli(capsys, "runs", "compare", first.id[:8], second.id[:8])
    assert code == 0 and "alpha" in out
    code, _, err = run_cli(capsys, "runs", "show", "0123456789ab")
    assert code == 1 and "No run with id 0123456789ab" in err


def test_an_ambiguous_id_prefix_names_the_candidates(ctx, monkeypatch, capsys):
    import uuid

    from loopml.tracking import service

    ids = iter(["abcdef12" + "0" * 24, "abcdef34" + "0" * 24])  # ids are random: pin two
    monkeypatch.setattr(service.uuid, "uuid4", lambda: uuid.UUID(next(ids)))
    for _ in range(2):
        with loopml.start_run(experiment="many"):
            pass
    code, _, err = run_cli(capsys, "runs", "show", "abcdef")
    assert code == 1 and "prefix 'abcdef' is ambiguous" in err and "abcdef12" in err
    assert service.get_run(ctx.store, "abcdef3").id == "abcdef34" + "0" * 24


def test_every_list_command_takes_columns_and_json(two_runs, capsys):
    import json

    code, out, _ = run_cli(capsys, "experiments", "list", "--columns", "experiment,runs")
    assert code == 0 and "demand" in out and "last_run" not in out
    for command in (
        ["experiments", "list"],
        ["models", "list"],
        ["datasets", "list"],
        ["monitor", "list"],
        ["alerts", "list"],
        ["approvals", "list"],
    ):
        code, out, err = run_cli(capsys, *command, "--json")
        assert code == 0, err
        assert isinstance(json.loads(out), list)
    experiments = json.loads(run_cli(capsys, "experiments", "list", "--json")[1])
    assert {e["experiment"]: e["runs"] for e in experiments} == {"demand": 2, "other": 1}
