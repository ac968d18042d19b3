"""The model page traces each version back to its data and forward to its prediction log."""

from __future__ import annotations

from datetime import datetime, timedelta

from sklearn.linear_model import Ridge
from tests.ui import world as world_module
from tests.ui.conftest import PASSWORD, sign_in

import loopml
from loopml.data import service as data
from loopml.predictions.reader import read_predictions
from loopml.registry import service as registry
from loopml.store import utcnow


def _north(ctx):
    return registry.resolve(ctx.store, "progression", alias="champion", segment={"region": "north"})


def test_a_segment_page_shows_data_run_version_and_prediction_log(ctx, browser, world):
    rows = world_module.log_shocked_traffic(ctx, "region=north")
    champion = _north(ctx)
    sign_in(browser, "vera")  # a viewer may read lineage
    page = browser.get("/ui/models/progression?segment=region%3Dnorth").text
    section = page.split("Lineage of region=north")[1].split("</table>")[0]
    champion_row = next(r for r in section.split("<tr>") if f">v{champion.version}</a>" in r)
    assert f"{rows} predictions" in champion_row
    assert "CPU serving" not in champion_row  # logged by hand: no model call was timed
    logged = read_predictions(ctx.settings.resolved_artifact_uri, "progression").to_pandas()
    first = logged["event_time"].min()
    assert f'<time datetime="{first:%Y-%m-%dT%H:%M:%S}Z"' in champion_row
    other = next(r for r in section.split("<tr>")[2:] if f">v{champion.version}</a>" not in r)
    assert "none logged" in other
    assert "predictions/model=progression/" in page
    assert 'href="/api/v1/models/progression/predictions"' in page


def test_a_version_trained_on_a_dataset_version_names_it(ctx, browser, world):
    X, y = next((X, y) for key, X, y in world_module.clinics() if key == "region=north")
    table = X.assign(region="north", progression=y)
    dataset = data.log_version(ctx.store, ctx.artifacts, table, "clinics", actor="setup")
    current = _north(ctx)
    # a hand-logged version can name the data it learnt from
    model = Ridge().fit(X, y)
    version = loopml.log_model(
        model,
        "progression",
        input_example=X.head(3),
        segment={"region": "north"},
        datasets=[dataset],
    )
    sign_in(browser, "olive")
    page = browser.get("/ui/models/progression?segment=region%3Dnorth").text
    row = next(
        r for r in page.split("Lineage of")[1].split("<tr>") if f">v{version.version}</a>" in r
    )
    assert f"clinics v{dataset.version} ({len(table):,} rows, sha256 {dataset.digest[:12]})" in row
    assert current.version != version.version


def test_the_rest_summary_of_the_prediction_log(ctx, browser, world):
    rows = world_module.log_shocked_traffic(ctx, "region=north")
    champion = _north(ctx)
    answer = browser.get("/api/v1/models/progression/predictions", auth=("vera", PASSWORD))
    assert answer.status_code == 200
    body = answer.json()
    assert body["folder"].endswith("predictions/model=progression/")
    [part] = body["parts"]
    assert (part["segment"], part["version"], part["predictions"]) == (
        "region=north",
        champion.version,
        rows,
    )
    first, last = (datetime.fromisoformat(part[k]) for k in ("first", "last"))
    assert utcnow() - timedelta(days=2) < first < last < utcnow()
    missing = browser.get("/api/v1/models/nosuch/predictions", auth=("vera", PASSWORD))
    assert missing.status_code == 404 and "progression" in missing.text
