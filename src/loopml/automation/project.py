"""Policies as written in a project file's ``policies:`` section."""

from __future__ import annotations

from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from loopml.automation.spec import PolicySpec
from loopml.errors import InvalidInput, NotFound
from loopml.pipeline.project import yaml_loader


def load_policies(path: Path | str) -> list[PolicySpec]:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise NotFound(
            f"No project file at {str(path)!r}.", hint="Pass --file, or run `loopml init`."
        )
    try:
        data = yaml.load(path.read_text(), Loader=yaml_loader()) or {}
    except yaml.YAMLError as error:
        raise InvalidInput(
            f"{path} is not valid YAML: {error}", hint="Fix the line it names."
        ) from None
    try:
        return TypeAdapter(list[PolicySpec]).validate_python(data.get("policies") or [])
    except ValidationError as error:
        first = error.errors()[0]
        where = "policies." + ".".join(str(p) for p in first["loc"])
        raise InvalidInput(
            f"{path}: {where}: {first['msg']}.",
            hint="See docs/closed-loop.md for the policy settings.",
        ) from None
