"""A real change, confirmed on its alert page, retrains the segment from the change point."""

from __future__ import annotations

import pytest
from tests.ui import world as world_module
from tests.ui.conftest import csrf, sign_in

from loopml import audit
from loopml.automation import actions, loop, timeline
from loopml.monitoring import service as monitoring

POLICY = """\
name: clinics
data: clinics.csv
target: progression
policies:
  - name: clinics-recover
    model: progression
    triggers: [{when: alert, monitor: progression-mae}]
    min_labels: 20
    cooldown: 1h
"""


@pytest.fixture
def project(ctx, tmp_path):
    path = tmp_path / "loopml.yaml"
    path.write_text(POLICY)
    return path


@pytest.fixture
def site(ctx, world, project):
    """The UI of a server whose project file has a policy for the clinics' model."""
    from fastapi.testclient import TestClient

    from loopml._context import Context
    from loopml.server import create_app

    settings = ctx.settings.model_copy(update={"auth": True, "project_file": project})
    context = Context(settings)
    with TestClient(
        create_app(context=context),
        base_url="http://127.0.0.1",
        headers={"Accept": "text/html"},
        raise_server_exceptions=False,
    ) as client:
        yield client
    context.close()


def _real_change(client, alert: int):
    page = sign_in(client, "olive")
    client.post(
        f"/ui/alerts/{alert}/resolve", data={"csrf": csrf(page.text), "resolution": "real_change"}
    )
    return client.get(f"/ui/alerts/{alert}")


def test_the_change_point_is_where_the_alerting_run_of_windows_began(ctx, world):
    alert = monitoring.get_alert(ctx.store, world.alerts["region=north"])
    first = min(
        r.window_start
        for r in monitoring.monitor_results(ctx.store, alert.monitor, segment=alert.segment)
        if r.status == "alert"
    )
    assert loop.change_point(ctx.store, alert) == first < alert.opened_at


def test_a_real_change_retrains_from_the_change_point_and_shows_on_the_timeline(ctx, site, world):
    rows = world_module.log_shocked_traffic(ctx, "region=north")
    alert = world.alerts["region=north"]
    page = _real_change(site, alert)
    assert "Retrain from the change point" in page.text and "clinics-recover" in page.text
    answer = site.post(
        f"/ui/alerts/{alert}/retrain", data={"csrf": csrf(page.text), "reason": "a new lab"}
    )
    assert answer.status_code == 200 and "Retrain of progression region=north" in answer.text
    [action] = actions.list_actions(ctx.store, model="progression")
    assert action.segment == "region=north" and action.challenger_version is not None
    since = loop.change_point(ctx.store, monitoring.get_alert(ctx.store, alert))
    assert f"since {since:%Y-%m-%d %H:%M}: a new lab" in action.trigger
    # It learnt from the shocked rows alone, so it removes most of the shock the champion
    # misses (judged in a rolling-origin backtest on the same rows).
    assert action.details["train_rows"] == rows
    assert action.details["champion_error"] > 0.9 * world_module.SHOCK
    assert (
        action.details["expected_error"] < action.details["champion_error"] - world_module.SHOCK / 3
    )
    started = audit.list_events(ctx.store, action="policy.retraining", entity_id="progression")
    assert [e.actor for e in started] == ["olive"]
    story = timeline.timeline(ctx.store, "progression", segment="region=north")
    assert any(e.kind == "retrain" and e.actor == "olive" for e in story)
    assert "policy clinics-recover" in site.get("/ui/models/progression").text
    again = site.get(f"/ui/alerts/{alert}").text
    assert (
        "A retrain of region=north is under way" in again
        and "Retrain region=north from" not in again
    )


def test_without_enough_labels_since_the_change_it_waits_and_says_so(ctx, site, world):
    alert = world.alerts["region=south"]  # no traffic logged since its change
    page = _real_change(site, alert)
    answer = site.post(f"/ui/alerts/{alert}/retrain", data={"csrf": csrf(page.text)})
    assert "waits for evidence: 0 of 20 labelled rows" in answer.text
    assert actions.list_actions(ctx.store, model="progression") == []


def test_without_a_policy_for_the_model_it_is_refused_in_words(ctx, browser, world):
    alert = world.alerts["region=north"]
    page = _real_change(browser, alert)
    assert "No policy of the project file keeps progression" in page.text
    answer = browser.post(f"/ui/alerts/{alert}/retrain", data={"csrf": csrf(page.text)})
    assert answer.status_code == 404 and "No policy keeps model" in answer.text


def test_a_viewer_cannot_start_a_retrain_and_a_forged_form_is_refused(ctx, site, world):
    alert = world.alerts["region=north"]
    _real_change(site, alert)
    site.post("/ui/logout", data={"csrf": csrf(site.get("/ui/").text)})
    page = sign_in(site, "vera")
    assert "Retrain from the change point" not in site.get(f"/ui/alerts/{alert}").text
    assert (
        site.post(f"/ui/alerts/{alert}/retrain", data={"csrf": csrf(page.text)}).status_code == 403
    )
    assert site.post(f"/ui/alerts/{alert}/retrain", data={}).status_code == 403
    assert actions.list_actions(ctx.store, model="progression") == []
