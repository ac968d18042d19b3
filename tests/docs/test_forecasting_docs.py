"""The Python example of docs/forecasting.md runs as written, in a fresh folder."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).parents[2] / "docs" / "forecasting.md"


def test_the_forecasting_example_runs(sqlite_ctx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert blocks
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), namespace)
    assert set(namespace["forecast"]["segment"]) == {"store=1", "store=2", "store=3"}
