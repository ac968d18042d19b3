"""The Python examples in docs/datasets.md run as written, and every dataset command is documented."""

from __future__ import annotations

import re
from pathlib import Path

from loopml.cli import datasets

DOC = Path(__file__).parents[2] / "docs" / "datasets.md"


def test_examples_run_in_order(sqlite_ctx):
    namespace: dict = {}
    for block in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S):
        exec(compile(block, str(DOC), "exec"), namespace)
    assert not namespace["report"].ok
    assert namespace["flags"][0] == ["out_of_range:price", "unseen_category:store"]


def test_every_dataset_command_is_documented():
    text = DOC.read_text()
    for command in datasets.app.registered_commands:
        assert f"`loopml datasets {command.name}" in text
