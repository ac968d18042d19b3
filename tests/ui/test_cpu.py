"""CPU seconds spent training and serving each segment, as the health table shows them."""

from __future__ import annotations

import re
import time
from itertools import pairwise

import pytest
from tests.ui import world as world_module
from tests.ui.conftest import PASSWORD, sign_in

from loopml.predictions.reader import read_predictions, summarize
from loopml.registry import service as registry
from loopml.tracking import service as tracking


def _cell(page: str, segment: str) -> str:
    row = next(r for r in page.split("<tr>") if f"<td>{segment}</td>" in r)
    return re.findall(r'<td class="num">([^<]*)</td>', row)[-1]


def _total(cell: str) -> float:
    """Seconds of a "training / serving" cell such as "870 ms / 1.2 s" or "3 s / —"."""
    seconds = 0.0
    for part in cell.split(" / "):
        if part != "—":
            value, unit = part.split()
            seconds += float(value.replace(",", "")) / (1000 if unit == "ms" else 1)
    return seconds


def test_serving_cpu_is_the_model_calls_thread_time_logged_per_row(ctx, app, browser, world):
    X, _ = next((X, y) for key, X, y in world_module.clinics() if key == "region=east")
    records = X.assign(region="east").to_dict("records")
    process = time.process_time()
    for start in range(0, len(records), 10):
        answer = browser.post(
            "/v1/models/progression/predict",
            auth=("olive", PASSWORD),
            json={"records": records[start : start + 10]},
        )
        assert answer.status_code == 200, answer.text
    spent = time.process_time() - process
    app.state.serving.flush_log()
    logged = read_predictions(ctx.settings.resolved_artifact_uri, "progression").to_pandas()
    assert len(logged) == len(records) and (logged["cpu_ms"] > 0).all()
    # The model's calls are a part of the requests' CPU, not all of it.
    serving = logged["cpu_ms"].sum() / 1000
    assert 0 < serving < spent
    [part] = summarize(ctx.settings.resolved_artifact_uri, "progression")
    assert (part.segment, part.predictions) == ("region=east", len(records))
    assert abs(part.cpu_seconds - serving) < 1e-9

    sign_in(browser, "olive")
    page = browser.get("/ui/health").text
    assert "CPU s</abbr> training / serving" in page
    shown = _cell(page, "region=east").split(" / ")
    assert shown[1] != "—" and _cell(page, "region=west").endswith("/ —")
    # Sorted by CPU, the rows come in the order of their training + serving totals as shown.
    ranked = browser.get("/ui/health?sort=cpu&desc=true").text
    segments = re.findall(r"<td>(region=\w+)</td>", ranked)
    totals = [_total(_cell(ranked, segment)) for segment in segments]
    # Each part is shown to 3 significant digits, so neighbours may differ by that rounding.
    assert len(totals) >= 2
    assert all(a >= b * 0.99 for a, b in pairwise(totals)), totals


def test_training_cpu_is_the_fits_thread_time_summed_over_the_segments_runs(ctx, world):
    from tests.ui.test_retrain import POLICY

    from loopml.automation import loop
    from loopml.monitoring import service as monitoring
    from loopml.pipeline.project import parse_project

    before = registry.training_cpu(ctx.store, "progression")
    world_module.log_shocked_traffic(ctx, "region=north")
    alert = monitoring.get_alert(ctx.store, world.alerts["region=north"])
    report = loop.retrain_from_change(
        ctx.store,
        ctx.artifacts,
        ctx.settings.resolved_artifact_uri,
        parse_project(POLICY).policies,
        alert,
        actor="olive",
    )
    [action] = report.started
    version = registry.resolve(ctx.store, "progression", version=action.challenger_version)
    run = tracking.get_run(ctx.store, version.run_id)
    # 8 backtest fits and a final one of a ridge on ~100 rows: CPU, but well under a second
    assert 0 < run.cpu_seconds < 1
    after = registry.training_cpu(ctx.store, "progression")
    assert after["region=north"] - before["region=north"] == pytest.approx(run.cpu_seconds)
    assert {k: v for k, v in after.items() if k != "region=north"} == {
        k: v for k, v in before.items() if k != "region=north"
    }
