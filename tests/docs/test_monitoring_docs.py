"""The Python examples in docs/monitoring.md run as written, and every CLI command is documented."""

from __future__ import annotations

import re
from pathlib import Path

import loopml
from loopml.cli import alerts, monitor, report

DOC = Path(__file__).parents[2] / "docs" / "monitoring.md"


def test_examples_run(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOPML_HOME", str(tmp_path / "home"))
    loopml.configure(home=tmp_path / "home")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    namespace: dict = {}
    try:
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)
    finally:
        loopml.configure(home=tmp_path / "home")
    assert namespace["report"].columns


def test_every_monitoring_command_is_documented():
    text = DOC.read_text()
    for group, app in (("monitor", monitor.app), ("alerts", alerts.app), ("report", report.app)):
        for command in app.registered_commands:
            assert f"loopml {group} {command.name}" in text
