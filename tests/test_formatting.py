"""ruff format formats every line: no file is left unformatted, and none switches it off."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("src", "tests", "benchmarks")
SWITCH = re.compile(r"#\s*fmt:\s*(skip|off)\b")


def _sources() -> list[Path]:
    return [
        path
        for folder in FOLDERS
        for path in (ROOT / folder).rglob("*.py")
        if ".venvs" not in path.parts
    ]


def test_no_line_switches_the_formatter_off():
    switched = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _sources()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if SWITCH.search(line) and path != Path(__file__)
    ]
    assert not switched, "Remove the formatter switch and let ruff format the code: " + ", ".join(
        switched[:20]
    )


def test_every_file_is_formatted():
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *FOLDERS],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, "Run `make format`:\n" + done.stdout + done.stderr
