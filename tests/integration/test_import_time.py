"""``import loopml`` stays cheap: heavy libraries load only when a function needs them."""

import subprocess
import sys

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
