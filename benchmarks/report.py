"""BENCHMARKS.md: one section per benchmark, each replaced whole on every run."""

from __future__ import annotations

import platform
import re
from datetime import datetime, timezone
from pathlib import Path

import psutil

REPORT = Path(__file__).parent.parent / "BENCHMARKS.md"
HEADER = """# Benchmarks

Every figure below was measured by `make bench` (or `python -m benchmarks NAME`),
loopml and its anchor side by side in the same run on the same machine. Ratios
are what the targets in the issues are about; absolute numbers move with the
machine.
"""


def machine() -> str:
    cores = psutil.cpu_count(logical=True)
    memory = psutil.virtual_memory().total / 2**30
    return f"{platform.processor() or platform.machine()}, {cores} cores, {memory:.0f} GiB, Python {platform.python_version()}"


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section of benchmark ``name`` in BENCHMARKS.md."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- bench:{name} -->\n{body.strip()}\n\n"
        f"_Measured {stamp} on {machine()}._\n<!-- /bench:{name} -->"
    )
    text = REPORT.read_text() if REPORT.exists() else HEADER
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = f"{text.rstrip()}\n\n{section}\n"
    REPORT.write_text(text if text.endswith("\n") else text + "\n")


def markdown_table(headers: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
