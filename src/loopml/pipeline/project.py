"""Reading ``loopml.yaml``: a bad setting is reported with its line and the fix.

loopml.yaml, line 7: unknown setting 'segmnet_by'. Did you mean 'segment_by'?
"""

from __future__ import annotations

import difflib
import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from loopml.errors import InvalidInput, LoopmlError, NotFound
from loopml.pipeline.spec import ProjectSpec, SettingProblems

Loc = tuple[Any, ...]


def load_project(path: str | Path = "loopml.yaml") -> ProjectSpec:
    """The project file at ``path``, validated."""
    path = Path(path)
    if not path.is_file():
        raise NotFound(
            f"No project file at {str(path)!r}.",
            hint="Write one with `loopml init`, or pass --file.",
        )
    return parse_project(path.read_text(), source=str(path))


def parse_project(text: str, *, source: str = "loopml.yaml") -> ProjectSpec:
    import yaml

    try:
        data = yaml.load(text, Loader=yaml_loader())
        lines = _line_numbers(yaml.compose(text, Loader=yaml_loader()))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        context = getattr(error, "context_mark", None)
        if context is not None and mark is not None and context.line != mark.line:
            problem += f" ({error.context} on line {context.line + 1})"
        raise InvalidInput(
            f"{source}{where} is not valid YAML: {problem}.",
            hint="Check the indentation and the colon after each setting's name.",
        ) from None
    if not isinstance(data, dict):
        raise InvalidInput(
            f"{source} should be a mapping of settings, not {type(data).__name__}.",
            hint="Start from the file `loopml init` writes.",
        )
    return validate_project(data, source=source, lines=lines)


def validate_project(
    data: Mapping[str, Any], *, source: str = "project", lines: Mapping[Loc, int] | None = None
) -> ProjectSpec:
    """The settings as a ``ProjectSpec``; every problem at once in a ``ProjectFileError``."""
    try:
        return ProjectSpec.model_validate(dict(data))
    except ValidationError as error:
        problems = [p for e in error.errors() for p in _problems(e, lines or {})]
        problems.sort(key=lambda p: p.line or 0)  # in the order a reader meets them
        raise ProjectFileError(source, problems) from None


@dataclass(frozen=True)
class Problem:
    """One wrong setting: where it is, what is wrong, and what to do."""

    setting: str
    message: str
    fix: str
    line: int | None = None


class ProjectFileError(InvalidInput):
    """Every problem of a project file, each with its line and its fix."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.problems = problems
        if len(problems) == 1:
            (only,) = problems
            super().__init__(f"{_where(source, only)}: {only.message}.", hint=only.fix)
            return
        listed = "\n".join(f"  {_where(source, p)}: {p.message}. Fix: {p.fix}" for p in problems)
        super().__init__(
            f"{source} has {len(problems)} problems:\n{listed}",
            hint="Fix them all, then run again; docs/project-file.md describes every setting.",
        )


def _where(source: str, problem: Problem) -> str:
    return f"{source}, line {problem.line}" if problem.line else source


_SEE_DOCS = "See docs/project-file.md for every setting."


def _problems(error: Any, lines: Mapping[Loc, int]) -> list[Problem]:
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, SettingProblems):  # cross-setting checks, each with its own place
        return [
            Problem(".".join(map(str, loc)), message, fix, _line_of(loc, lines))
            for loc, message, fix in cause.problems
        ]
    loc = tuple(error["loc"])
    line = _line_of(loc, lines)
    setting = ".".join(str(p) for p in loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        known = _fields_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        fix = (
            f"Did you mean {close[0]!r}?" if close else f"Known settings here: {', '.join(known)}."
        )
        return [Problem(setting, f"unknown setting {setting!r}", fix, line)]
    if error["type"] == "missing":
        fix = "Add it; see docs/project-file.md for what it means."
        return [Problem(setting, f"the setting {setting!r} is missing", fix, line)]
    if isinstance(cause, LoopmlError):  # a check that knows its own fix
        return [
            Problem(
                setting, f"{setting}: {cause.message.rstrip('.')}", cause.hint or _SEE_DOCS, line
            )
        ]
    message = str(error["msg"]).removeprefix("Value error, ").rstrip(".")
    fix = _SEE_DOCS
    return [Problem(setting, f"{setting}: {message}", fix, line)]


@functools.cache
def yaml_loader() -> type:
    """YAML 1.2 booleans: only true and false. YAML 1.1 would read the key of
    ``{on: alert}`` (a policy trigger) as True, and a store named ``no`` as False."""
    import re

    import yaml

    class ProjectLoader(yaml.SafeLoader):
        pass

    ProjectLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    ProjectLoader.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )
    return ProjectLoader


def _line_numbers(node: Any, loc: Loc = ()) -> dict[Loc, int]:
    """The 1-based line of every setting's key (or of each list item)."""
    import yaml

    lines: dict[Loc, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[(*loc, key.value)] = key.start_mark.line + 1
            lines.update(_line_numbers(value, (*loc, key.value)))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*loc, index)] = item.start_mark.line + 1
            lines.update(_line_numbers(item, (*loc, index)))
    return lines


def _line_of(loc: Loc, lines: Mapping[Loc, int]) -> int | None:
    """The line of the setting, or of the nearest enclosing one that is in the file."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _fields_at(loc: Loc) -> list[str]:
    """The setting names valid at ``loc`` (for suggesting the intended one)."""
    model: Any = ProjectSpec
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if _is_model(model) else None
        if field is None:
            return []
        model = _model_in(field.annotation)
        if model is None:
            return []
    return list(model.model_fields) if _is_model(model) else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if _is_model(annotation):
        return annotation
    if typing.get_origin(annotation) in (list, typing.Union, types.UnionType):
        for argument in typing.get_args(annotation):
            found = _model_in(argument)
            if found is not None:
                return found
    return None


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)
