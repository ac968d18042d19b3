"""``loopml report drift`` writes a self-contained HTML report and the JSON record."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import loopml
from loopml.cli import main


@pytest.fixture
def tables(tmp_path):
    rng = np.random.default_rng(0)
    reference = pd.DataFrame(
        {"price": rng.normal(0, 1, 3000), "city": rng.choice(["a", "b"], 3000)}
    )
    current = pd.DataFrame({"price": rng.normal(1, 1, 2000), "city": rng.choice(["a", "b"], 2000)})
    reference.to_parquet(tmp_path / "ref.parquet")
    current.to_csv(tmp_path / "cur.csv", index=False)
    return tmp_path / "ref.parquet", tmp_path / "cur.csv"


def test_html_is_self_contained_and_shows_each_column(tables, tmp_path, capsys):
    reference, current = tables
    out, record = tmp_path / "report.html", tmp_path / "report.json"
    main(
        [
            "report",
            "drift",
            "--reference",
            str(reference),
            "--current",
            str(current),
            "--out",
            str(out),
            "--json",
            str(record),
        ]
    )
    page = out.read_text()
    assert page.startswith("<!doctype html>") and page.count("<svg") == 2
    assert not re.search(r"(src|href)=['\"]?https?:", page)  # nothing to fetch: works offline
    assert "<script" not in page
    data = json.loads(record.read_text())
    assert data["columns"][0]["name"] == "price" and data["columns"][0]["drifted"]
    assert "1 of 2 columns drifted" in capsys.readouterr().out


def test_a_missing_file_is_a_clear_error(tables, tmp_path, capsys):
    reference, _ = tables
    with pytest.raises(SystemExit):
        main(
            [
                "report",
                "drift",
                "--reference",
                str(reference),
                "--current",
                str(tmp_path / "no.csv"),
            ]
        )
    assert "No file at" in capsys.readouterr().err


def test_report_names_escape_html():
    frame = pd.DataFrame({"<b>x</b>": np.arange(50.0)})
    page = loopml.drift_report(frame, frame).to_html()
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
