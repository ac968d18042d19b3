"""``loopml init --data FILE``: a project file written to fit a table.

The table is read once and the file says what was inferred and why: the task
from the target's values, the time column if one parses as dates, the feature
columns listed one by one, and each column left out with the reason in a
comment (row numbers and identifiers, constant columns). The text is checked
by the project file's own validator before it is written, so it always loads.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from loopml.errors import Conflict, InvalidInput
from loopml.metrics import DEFAULT_METRICS

_TARGET_NAMES = ("target", "label", "y", "class", "outcome")
_MIN_SEGMENT_ROWS = 20  # split.min_rows' default


@dataclass
class Draft:
    """What was inferred from the table, before it becomes text."""

    name: str
    data_path: str
    target: str
    target_guessed: bool
    task: str
    time: str | None
    segment_by: list[str]
    features: list[str]
    left_out: dict[str, str] = field(default_factory=dict)  # column → why
    small_segments: int = 0
    segments: int = 1


def init_from_data(
    data: str | Path,
    *,
    file: str | Path = "loopml.yaml",
    target: str | None = None,
    segment_by: tuple[str, ...] = (),
    force: bool = False,
) -> tuple[Path, Draft]:
    """Read ``data``, infer a project for it, and write the project file at ``file``."""
    from loopml.pipeline.project import parse_project
    from loopml.pipeline.source import read_table

    file, data = Path(file), Path(data)
    if file.exists() and not force:
        raise Conflict(
            f"{file} exists already.", hint="Edit it, or overwrite it with `loopml init --force`."
        )
    frame = read_table(data)
    draft = infer_project(
        frame,
        data_path=_relative(data, file.parent),
        target=target,
        segment_by=list(segment_by),
        name=data.stem,
    )
    text = render(draft)
    parse_project(text, source=str(file))  # what we write must load
    file.write_text(text)
    return file, draft


def infer_project(
    frame: pd.DataFrame, *, data_path: str, target: str | None, segment_by: list[str], name: str
) -> Draft:
    from loopml.data.identifiers import identifier_columns

    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    for column in [*([target] if target else []), *segment_by]:
        _check_column(column, columns)
    guessed = target is None
    target = target or _guess_target(columns)
    time = _time_column(frame, skip={target, *segment_by})
    rest = [c for c in columns if c not in {target, time, *segment_by}]
    left_out = identifier_columns(frame[rest])
    left_out |= {c: "one value in every row" for c in rest if frame[c].nunique(dropna=False) <= 1}
    sizes = (
        frame.groupby(segment_by, dropna=False).size() if segment_by else pd.Series([len(frame)])
    )
    return Draft(
        name=_project_name(name),
        data_path=data_path,
        target=target,
        target_guessed=guessed,
        task=_task(frame[target]),
        time=time,
        segment_by=segment_by,
        features=[c for c in rest if c not in left_out],
        left_out=left_out,
        small_segments=int((sizes < _MIN_SEGMENT_ROWS).sum()),
        segments=len(sizes),
    )


def render(draft: Draft) -> str:
    """The project file's text, commented for someone who has not read the docs."""
    q = json.dumps  # a JSON string is a YAML string, whatever the column is called
    lines = [
        "# loopml project file, written by `loopml init --data` to fit your table.",
        "# `loopml run` trains, evaluates, registers, gates and promotes one model per",
        "# segment from these settings. Every setting: docs/project-file.md",
        "",
        f"name: {q(draft.name)}",
        "",
        "data:",
        f"  path: {q(draft.data_path)}",
    ]
    if draft.time:
        lines.append(
            f"  time: {q(draft.time)}  # parses as dates: the newest rows are the test rows"
        )
    else:
        lines.append("  # no column parses as dates, so rows are split at random")
    lines += [
        "",
        "# The column to predict"
        + (": guessed (pass --target to choose another)." if draft.target_guessed else "."),
        f"target: {q(draft.target)}",
        "",
    ]
    lines += [*_task_lines(draft), "", *_feature_lines(draft), ""]
    if draft.segment_by:
        lines += [
            f"# One model per value of these columns: {draft.segments} segment(s).",
            f"segment_by: [{', '.join(map(q, draft.segment_by))}]",
            "",
        ]
    else:
        lines += [
            "# One model for all rows; list columns here for one model per value.",
            "segment_by: []",
            "",
        ]
    metric = DEFAULT_METRICS[draft.task][0]
    lines += [
        "# A preset (ridge, linear, lasso, logistic, random_forest, gradient_boosting,",
        "# lightgbm, xgboost) or an estimator by import path. Missing values are filled",
        "# (model.missing) when the estimator cannot take them.",
        f"model: {'ridge' if draft.task == 'regression' else 'random_forest'}",
        "",
        "# Test rows: random, or time (the newest rows). Smaller segments are skipped.",
        "split:",
        f"  method: {'time' if draft.time else 'random'}",
        "  test_size: 0.2",
        f"  min_rows: {_MIN_SEGMENT_ROWS}"
        + (
            f"  # {draft.small_segments} segment(s) have fewer rows" if draft.small_segments else ""
        ),
        "",
        "# What a version must pass before it is promoted.",
        "gate:",
        f"  beat_champion: {metric}",
        "",
        "# Monitors of the served model (docs/monitoring.md), e.g.",
        f"#   - {{name: {draft.name}-drift, kind: drift, window: 1d, schedule: 1h}}",
        "monitoring: []",
    ]
    return "\n".join(lines) + "\n"


def _task_lines(draft: Draft) -> list[str]:
    why = (
        "the target holds class labels"
        if draft.task == "classification"
        else "the target holds amounts"
    )
    return [
        f"# regression or classification (forecast needs a time column): {why}.",
        f"task: {draft.task}",
    ]


def _feature_lines(draft: Draft) -> list[str]:
    lines = ["# Columns to learn from."]
    for column, why in draft.left_out.items():
        lines.append(f"# left out {json.dumps(column)}: {why}")
    if not draft.features:
        return [*lines, "features: []  # no column is left to learn from: add some to the data"]
    return [*lines, "features:", *(f"  - {json.dumps(c)}" for c in draft.features)]


def _task(target: pd.Series) -> str:
    from loopml.data.rules import is_classification

    values = target.dropna()
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    integral = numeric and bool((values == values.round()).all())
    entry = {
        "kind": "numeric" if numeric else "categorical",
        "type": "integer" if integral else "float",
        "min": float(values.min()) if numeric and len(values) else None,
        "max": float(values.max()) if numeric and len(values) else None,
    }
    return "classification" if is_classification(entry) else "regression"


def _time_column(frame: pd.DataFrame, skip: set[str]) -> str | None:
    """The first column of dates: a datetime column, or text whose values all parse."""
    for column in frame.columns:
        if column in skip:
            continue
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            return column
        if pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values):
            sample = values.dropna().astype(str).head(200)
            if len(sample) and _parses_as_dates(sample):
                return column
    return None


def _parses_as_dates(sample: pd.Series) -> bool:
    if not sample.str.contains(r"\d{1,4}[-/.]\d{1,2}").all():
        return False  # "A7" or "north" would parse under some formats; dates have separators
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when it must guess each format
        return bool(pd.to_datetime(sample, errors="coerce").notna().all())


def _guess_target(columns: list[str]) -> str:
    named = [c for c in columns if c.lower() in _TARGET_NAMES]
    return named[0] if named else columns[-1]


def _check_column(column: str, columns: list[str]) -> None:
    if column not in columns:
        import difflib

        close = difflib.get_close_matches(column, columns, n=1)
        raise InvalidInput(
            f"The table has no column {column!r}.",
            hint=(f"Did you mean {close[0]!r}? " if close else "")
            + f"Its columns: {', '.join(columns)}.",
        )


def _project_name(stem: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.") or "project"
    return name[:100]


def _relative(data: Path, folder: Path) -> str:
    try:
        return str(data.resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(data.resolve())
