"""``import loopml`` stays cheap: heavy libraries load only when a function needs them."""

import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "pandas", "numpy", "pyarrow", "pydantic", "fastapi", "typer", "rich")


def importtime(statement: str) -> dict[str, int]:
    """Cumulative import time in microseconds per module, from ``python -X importtime``."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
    )
    times = {}
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.removeprefix("import time:").split("|")
            if cumulative.strip().isdigit():
                times[name.strip()] = int(cumulative)
    return times


def test_import_loopml_takes_well_under_a_few_hundred_milliseconds():
    times = importtime("import loopml")
    assert times["loopml"] < 300_000, f"import loopml took {times['loopml'] / 1000:.0f} ms"


def test_import_loopml_loads_no_heavy_library():
    result = subprocess.run(
        [sys.executable, "-c", "import sys, loopml; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = {name.split(".")[0] for name in result.stdout.split()}
    assert not loaded & set(HEAVY), f"import loopml loaded {sorted(loaded & set(HEAVY))}"


def test_public_names_load_on_first_use():
    result = subprocess.run(
        [sys.executable, "-c", "import loopml; print(loopml.start_run.__module__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "loopml.tracking.fluent"


def cpu_seconds(*args: str) -> float:
    """CPU time (user + system) of the installed ``loopml`` command: unlike wall time it
    does not grow when other processes share the machine. The least of five runs."""
    import resource
    from pathlib import Path

    command = [str(Path(sys.executable).parent / "loopml"), *args]
    best = float("inf")
    for _ in range(5):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, capture_output=True, check=True, timeout=60)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        spent = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = min(best, spent)
    return best


def test_loopml_help_is_instant():
    assert cpu_seconds("--help") < 0.5


@pytest.mark.parametrize("group", ["runs", "models", "datasets", "monitor", "gate"])
def test_a_command_groups_help_is_instant(group):
    assert cpu_seconds(group, "--help") < 0.5


def test_help_imports_no_command_module_and_no_heavy_library():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\nfrom loopml.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\nprint(' '.join(sys.modules), file=sys.stderr)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = set(result.stderr.split())
    commands = {name for name in loaded if name.startswith("loopml.cli.")}
    assert commands <= {"loopml.cli.lazy", "loopml.cli.output"}
    assert not {name.split(".")[0] for name in loaded} & {
        "pandas",
        "sqlalchemy",
        "numpy",
        "pyarrow",
    }
