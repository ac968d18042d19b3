"""docs/federated.md runs as written: two organisations and a coordinator, each with its own
store, train one model on the engine; every federation command is documented."""

from __future__ import annotations

import re
from pathlib import Path

import loopml
from loopml.cli import federation

DOC = Path(__file__).parents[2] / "docs" / "federated.md"


def test_the_walkthrough_runs_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    try:
        for block in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S):
            exec(compile(block, str(DOC), "exec"), namespace)
    finally:
        loopml.configure(home=tmp_path / "after")
    assert namespace["accuracy"] > 0.7
    assert namespace["gate"]["passed"]


def test_every_federation_command_is_documented():
    text = (DOC.parent / "cli.md").read_text()
    for command in federation.app.registered_commands:
        assert f"`loopml federation {command.name}" in text
