"""How the CLI prints: Rich tables, friendly values, and errors with their fix."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from loopml.errors import InvalidInput, LoopmlError

# Piped output (files, CI logs) gets wide lines instead of Rich's default 80 columns.
_PIPED_WIDTH = 160
console = Console(width=None if sys.stdout.isatty() else _PIPED_WIDTH)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else _PIPED_WIDTH)


def print_error(error: LoopmlError) -> None:
    errors.print(f"[bold red]Error:[/] [bold]{error.message}[/]", highlight=False)
    if error.hint:
        errors.print(f"[yellow]Fix:[/] {error.hint}", highlight=False)


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    result = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        result.add_column(column, overflow="fold")
    for row in rows:
        result.add_row(*(show(value) for value in row))
    return result


COLUMNS = typer.Option(
    None, "--columns", "-c", help="Comma-separated columns to show instead of the default ones."
)
JSON = typer.Option(False, "--json", help="Every column of every row, as JSON.")


def print_list(
    rows: Sequence[Mapping[str, Any]],
    *,
    default: Sequence[str],
    columns: str | None = None,
    as_json: bool = False,
    title: str | None = None,
    empty: str = "Nothing to show.",
    cells: Mapping[str, Callable[[Any], Any]] | None = None,
) -> None:
    """A list as a readable table of its ``default`` columns, of the ``--columns``
    asked for, or as JSON with every column (``--json``). ``cells`` shorten values
    for the table only (ids, durations); JSON keeps them whole."""
    if as_json:
        console.print_json(json.dumps([{k: _plain(v) for k, v in r.items()} for r in rows]))
        return
    if not rows:
        console.print(empty)
        return
    chosen = pick_columns(columns, default, list(rows[0]))
    shorten = cells or {}
    values = [[shorten.get(c, _same)(row.get(c)) for c in chosen] for row in rows]
    console.print(table(title, chosen, values))


def pick_columns(wanted: str | None, default: Sequence[str], known: Sequence[str]) -> list[str]:
    """The columns named in ``--columns``, each checked, or the default ones."""
    if wanted is None:
        return list(default)
    chosen = [c.strip() for c in wanted.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise InvalidInput(
            f"No column {unknown[0]!r} in this list.", hint=f"Columns: {', '.join(known)}."
        )
    return chosen


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _same(value: Any) -> Any:
    return value


def _plain(value: Any) -> Any:
    """A JSON value: times as ISO 8601, NaN as null."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (str, int, float, bool, type(None), list, dict)):
        return value
    return str(value)


def show(value: Any) -> str:
    """A value as a person wants to read it in a table cell."""
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.6g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)}m{int(seconds):02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)}h{int(minutes):02d}m"


def size(num_bytes: int | None) -> str:
    if num_bytes is None:
        return "—"
    value = float(num_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


class ProgressBar:
    """A Rich bar counting ``label``; shown only once there is something to count."""

    def __init__(self, label: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self._label = label
        self._bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        if self._task is not None:
            self._bar.stop()

    def update(self, done: int, total: int) -> None:
        if self._task is None:
            self._bar.start()
            self._task = self._bar.add_task(self._label, total=total)
        self._bar.update(self._task, completed=done)
