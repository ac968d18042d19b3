"""The command line's start: ``loopml --help`` and ``loopml GROUP --help``.

loopml's lazy command groups against their anchor in the same run: every command
module imported at start, with the libraries those modules imported at their
top before (what ``loopml --help`` did; it took about 7 s on an idle laptop-class
machine). Each figure is the median wall time and the least CPU time (user +
system) of several fresh processes. Target: under 0.5 s.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.report import markdown_table, write_section

RUNS = 5
LOOPML = str(Path(sys.executable).parent / "loopml")
# The start of the eager command line: every command module and what each imported
# at its top (services, pandas, SQLAlchemy, pydantic), then the whole group built.
EAGER = """
import loopml._context, loopml.tracking.service, loopml.tracking.query, loopml.data.service
import loopml.registry.promotion, loopml.monitoring.service, loopml.monitoring.fluent
import loopml.audit, pandas, yaml, pydantic, rich.panel, typer.main
from loopml.cli import COMMANDS, app, main
group = typer.main.get_command(app)
for name in COMMANDS:
    group.load(name)
main(sys.argv[1:])
"""


def measure(command: list[str]) -> tuple[float, float]:
    """Median wall seconds and least CPU seconds of ``RUNS`` fresh processes."""
    walls, cpus = [], []
    for _ in range(RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, timeout=120)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), min(cpus)


def main() -> None:
    rows = []
    for args in (["--help"], ["runs", "--help"], ["models", "--help"]):
        lazy_wall, lazy_cpu = measure([LOOPML, *args])
        eager_wall, eager_cpu = measure([sys.executable, "-c", "import sys\n" + EAGER, *args])
        rows.append(
            [
                f"`loopml {' '.join(args)}`",
                f"{lazy_wall:.2f} s",
                f"{lazy_cpu:.2f} s",
                f"{eager_wall:.2f} s",
                f"{eager_cpu:.2f} s",
                f"{eager_cpu / lazy_cpu:.1f}x",
                "< 0.5 s",
                "pass" if lazy_cpu < 0.5 else "FAIL",
            ]
        )
    headers = [
        "command",
        "lazy: wall",
        "lazy: CPU",
        "eager: wall",
        "eager: CPU",
        "CPU eager ÷ lazy",
        "target",
        "result",
    ]
    body = (
        "## Command line start\n\n"
        "`loopml --help` and `loopml GROUP --help` with command modules imported on demand, "
        "against the eager start they replace (every command module and the libraries they "
        f"imported at their top, loaded before parsing), {RUNS} fresh processes each, in one "
        "run. Wall time is the median, CPU time (user + system) the least: on a shared "
        "machine wall time mostly measures the other processes. The result is judged on CPU.\n\n"
        + markdown_table(headers, rows)
    )
    write_section("cli", body)
    print(body)


if __name__ == "__main__":
    main()
