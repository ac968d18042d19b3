"""The docs cannot fall behind the code: every setting and command is documented,
and the Python examples run as written."""

import re
from pathlib import Path

import pytest
import typer.main

from loopml.cli import app
from loopml.config import Settings

DOCS = Path(__file__).parent.parent / "docs"


def top_level_commands() -> list[str]:
    group = typer.main.get_command(app)
    return sorted(group.list_commands(typer.Context(group)))


def test_the_readme_links_every_page_of_the_docs():
    readme = (DOCS.parent / "README.md").read_text()
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)\)", readme))
    assert linked == {page.name for page in DOCS.glob("*.md")}


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_documented_with_its_variable(field):
    variable = f"LOOPML_{field.upper()}"
    page = (DOCS / "configuration.md").read_text()
    assert f"| `{field}` | `{variable}` |" in page, f"document {variable} in docs/configuration.md"


@pytest.mark.parametrize("command", top_level_commands())
def test_every_command_is_documented(command):
    assert f"`loopml {command}" in (DOCS / "cli.md").read_text(), (
        f"document `loopml {command}` in docs/cli.md"
    )


def subcommands() -> list[str]:
    group = typer.main.get_command(app)
    found = []
    for name in top_level_commands():
        command = group.load(name)
        found += [f"{name} {sub}" for sub in getattr(command, "commands", {})]
    return found


@pytest.mark.parametrize("command", subcommands())
def test_every_subcommand_is_documented(command):
    assert (
        f"`loopml {command}" in (DOCS / "cli.md").read_text()
        or f"\nloopml {command}" in (DOCS / "cli.md").read_text()
    ), f"document `loopml {command}` in docs/cli.md"


def test_the_documented_commands_exist():
    documented = set(re.findall(r"^## `loopml (\w[\w-]*)`", (DOCS / "cli.md").read_text(), re.M))
    assert documented == set(top_level_commands())


def python_blocks(page: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", (DOCS / page).read_text(), re.S | re.M)


@pytest.mark.parametrize("page", ["tracking.md", "metrics.md", "ui.md"])
def test_the_examples_of_a_page_run_in_order(sqlite_ctx, page):
    namespace: dict = {}
    blocks = python_blocks(page)
    assert blocks
    for block in blocks:
        exec(compile(block, f"docs/{page}", "exec"), namespace)
