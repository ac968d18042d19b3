"""A small demand project: a generated CSV with store × product segments and its project file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from loopml.demo.erp import demand_table


def write_project(folder: Path, **overrides) -> Path:
    """``loopml.yaml`` in ``folder`` over ``sales.csv``; ``overrides`` replace top-level settings."""
    settings = {
        "name": "demand",
        "data": {"path": "sales.csv", "time": "date"},
        "target": "demand",
        "segment_by": ["store", "product"],
        "task": "regression",
        "model": "ridge",
        "split": {"method": "time", "min_rows": 20},
        "execution": {"max_workers": 1},
        **overrides,
    }
    path = folder / "loopml.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return path


@pytest.fixture
def sales(tmp_path) -> Path:
    """60 days × 4 segments."""
    path = tmp_path / "sales.csv"
    demand_table(60, segment_count=4).to_csv(path, index=False)
    return path


@pytest.fixture
def project(tmp_path, sales) -> Path:
    return write_project(tmp_path)
