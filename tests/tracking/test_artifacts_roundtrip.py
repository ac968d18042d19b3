"""log_artifact, log_dict, log_text and log_figure store files that come back unchanged."""

import json
from pathlib import Path

import pytest
import yaml

import loopml


def test_a_file_comes_back_byte_for_byte(ctx, tmp_path):
    source = tmp_path / "model.bin"
    source.write_bytes(bytes(range(256)) * 100)
    with loopml.start_run() as run:
        loopml.log_artifact(str(source))
        loopml.log_artifact(str(source), "copies/model-again.bin")
    assert loopml.load_artifact(run.id, "model.bin") == source.read_bytes()
    stored = {a.path: a for a in loopml.get_run(run.id).artifacts}
    assert set(stored) == {"model.bin", "copies/model-again.bin"}
    assert stored["model.bin"].digest == stored["copies/model-again.bin"].digest  # stored once
    assert stored["model.bin"].size == 25_600
    copy = loopml.download_artifact(run.id, "model.bin", str(tmp_path / "out" / "m.bin"))
    assert Path(copy).read_bytes() == source.read_bytes()


def test_a_folder_is_stored_file_by_file(ctx, tmp_path):
    folder = tmp_path / "report"
    (folder / "plots").mkdir(parents=True)
    (folder / "summary.txt").write_text("ok")
    (folder / "plots" / "a.csv").write_text("x\n1\n")
    with loopml.start_run() as run:
        loopml.log_artifact(str(folder))
    paths = [a.path for a in loopml.get_run(run.id).artifacts]
    assert paths == ["report/plots/a.csv", "report/summary.txt"]
    assert loopml.load_artifact(run.id, "report/plots/a.csv") == b"x\n1\n"


def test_log_dict_writes_json_or_yaml_by_extension(ctx):
    config = {"alpha": 0.1, "features": ["lag_1", "lag_7"], "nested": {"depth": 3}}
    with loopml.start_run() as run:
        loopml.log_dict(config, "config.json")
        loopml.log_dict(config, "config.yaml")
        loopml.log_text("hello", "notes/readme.txt")
    assert json.loads(loopml.load_artifact(run.id, "config.json")) == config
    assert yaml.safe_load(loopml.load_artifact(run.id, "config.yaml")) == config
    assert loopml.load_artifact(run.id, "notes/readme.txt") == b"hello"


def test_log_figure_stores_a_matplotlib_image(ctx):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.plot([0, 1, 2], [3, 1, 2])
    with loopml.start_run() as run:
        loopml.log_figure(figure, "plots/loss.png")
        loopml.log_figure(figure, "plots/loss.svg")
    plt.close(figure)
    assert loopml.load_artifact(run.id, "plots/loss.png").startswith(b"\x89PNG\r\n\x1a\n")
    assert b"<svg" in loopml.load_artifact(run.id, "plots/loss.svg")


def test_log_figure_refuses_what_is_not_a_figure(sqlite_ctx):
    with loopml.start_run(), pytest.raises(loopml.InvalidInput, match="log_figure got a dict"):
        loopml.log_figure({"not": "a figure"}, "x.png")


def test_a_missing_artifact_lists_what_the_run_has(ctx, tmp_path):
    with loopml.start_run() as run:
        loopml.log_text("a", "a.txt")
    with pytest.raises(loopml.NotFound) as raised:
        loopml.load_artifact(run.id, "b.txt")
    assert "has no artifact 'b.txt'" in raised.value.message and "a.txt" in raised.value.hint
    with pytest.raises(loopml.NotFound, match="No file at"):
        loopml.log_artifact(str(tmp_path / "missing.csv"))
