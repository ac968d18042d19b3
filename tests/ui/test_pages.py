"""What an operator sees and does on each page, on the diabetes clinics' world."""

from __future__ import annotations

from tests.ui.conftest import csrf, sign_in
from tests.ui.world import clinics, loop_did_not_confirm

import loopml
from loopml import audit
from loopml.monitoring import service as monitoring
from loopml.registry import service as registry


def test_home_ranks_untaken_alerts_before_approvals_each_with_a_reason(browser, world):
    page = sign_in(browser, "olive").text
    alerts = page.index("Progression at region north: the average error is")
    approval = page.index("a new version (v")
    assert alerts < approval
    assert "% above the" in page and "allowed, since" in page and "Look and resolve" in page
    assert page.count("Review and decide") == 4
    assert '<time datetime="' in page


def test_the_health_table_filters_sorts_pages_and_groups_alerts_by_cause(browser, world):
    sign_in(browser, "olive")
    page = browser.get("/ui/health").text
    assert "drift in bmi" in page and "mae worse than its threshold" in page
    assert page.count("Action needed") >= 4
    one = browser.get("/ui/health?q=north").text
    assert "region=north" in one and "region=east" not in one.split("<tbody>")[-1]
    assert "0 segments match" in browser.get("/ui/health?status=healthy").text
    assert browser.get("/ui/health?sort=live&desc=true&page=9").status_code == 200
    assert browser.get("/ui/health?page=0").status_code == 422


def test_resolving_a_false_alarm_keeps_an_episode_and_changes_the_monitors_precision(
    ctx, browser, world
):
    page = sign_in(browser, "olive")
    alert = world.alerts["region=south"]
    before = browser.get(f"/ui/alerts/{alert}").text
    assert "This monitor is right" in before and "0 false alarms so far" in before
    answer = browser.post(
        f"/ui/alerts/{alert}/resolve",
        data={
            "csrf": csrf(page.text),
            "resolution": "false_alarm",
            "reason": "a lab recalibration",
        },
    )
    assert "resolved as a false alarm" in answer.text and "right 0% of the time" in answer.text
    assert monitoring.get_alert(ctx.store, alert).resolution == "false_alarm"
    event = audit.list_events(ctx.store, action="alert.resolve", entity_id=str(alert))[0]
    assert event.actor == "olive" and event.after["resolution"] == "false_alarm"
    listing = browser.get("/ui/alerts?state=resolved").text
    assert (
        "False alarm" in listing
        and "Waiting for evidence: 0 real changes and 1 false alarms" in listing
    )


def test_an_alert_page_shows_its_evidence(browser, world):
    sign_in(browser, "olive")
    page = browser.get(f"/ui/alerts/{world.alerts['region=north']}").text
    assert "progression-mae over time" in page and 'id="series-data"' in page
    assert "/ui/vendor/plotly.min.js" in page
    assert (
        browser.get("/ui/vendor/plotly.min.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )


def test_a_cohort_approval_is_one_parent_event_and_one_child_per_segment(ctx, browser, world):
    page = sign_in(browser, "olive").text
    chosen = world.approvals[:3]
    answer = browser.post(
        "/ui/approvals/cohort",
        data={
            "csrf": csrf(page),
            "approval": [str(i) for i in chosen],
            "decision": "approve",
            "reason": "recovers from the shock",
        },
    )
    assert "3 of 3 segments approved together" in answer.text
    parent = audit.list_events(ctx.store, action="approval.cohort")
    assert (
        len(parent) == 1 and parent[0].after["approvals"] == chosen and parent[0].actor == "olive"
    )
    children = audit.list_events(ctx.store, action="approval.approve")
    assert len(children) == 3 and {c.after["cohort"] for c in children} == {parent[0].entity_id}
    champions = {
        s["segment"]: s["aliases"]["champion"]
        for s in registry.list_segments(ctx.store, "progression")
    }
    assert champions["region=east"] == 5 and champions["region=west"] == 4


def test_rollback_asks_for_a_reason_and_moves_the_champion_back(ctx, browser, world):
    page = sign_in(browser, "olive").text
    browser.post(
        "/ui/approvals/cohort",
        data={"csrf": csrf(page), "approval": str(world.approvals[1]), "decision": "approve"},
    )
    target = "/ui/models/progression/rollback"
    missing = browser.post(target, data={"csrf": csrf(page), "segment": "region=north"})
    assert missing.status_code == 422 and "needs a reason" in missing.text
    done = browser.post(
        target, data={"csrf": csrf(page), "segment": "region=north", "reason": "worse than v2 live"}
    )
    assert "champion v6 → v2" in done.text
    move = registry.alias_history(
        ctx.store, "progression", alias="champion", segment="region=north"
    )[0]
    assert (move.to_version, move.actor, move.reason) == (2, "olive", "worse than v2 live")
    assert "rollback" in browser.get("/ui/models/progression?segment=region%3Dnorth").text


def test_a_version_page_shows_its_card(browser, world):
    sign_in(browser, "vera")
    page = browser.get("/ui/models/progression/versions/1").text
    assert "Model card: progression v1" in page and "Gate results" in page and "Lineage" in page
    assert browser.get("/ui/models/nope").status_code == 404


def test_a_version_page_draws_its_evaluation_plots(browser, world):
    _, X, y = next(clinics())  # version 1 is the first clinic's
    loopml.evaluate("models:/progression/1", X.assign(progression=y), target="progression")
    sign_in(browser, "vera")
    page = browser.get("/ui/models/progression/versions/1").text
    scatter = page[page.index("<svg class='residual-scatter'") :]
    assert scatter[: scatter.index("</svg>")].count("<circle") == len(X)
    assert "<svg class='histogram'" in page and "&lt;svg" not in page  # drawn, not escaped


def test_acknowledged_alerts_move_down_the_queue_and_snoozed_ones_leave_it(ctx, browser, world):
    page = sign_in(browser, "olive").text
    north, south = world.alerts["region=north"], world.alerts["region=south"]
    browser.post(f"/ui/alerts/{north}/acknowledge", data={"csrf": csrf(page)})
    snoozed = browser.post(f"/ui/alerts/{south}/snooze", data={"csrf": csrf(page), "for": "1d"})
    assert "snoozed for 1d" in snoozed.text
    home = browser.get("/ui/").text
    assert "region south: the average error" not in home
    north_alert = home.index("Progression at region north: the average error")
    assert north_alert > home.index("a new version (v8)")  # after the approvals
    assert monitoring.get_alert(ctx.store, north).acknowledged_by == "olive"
    assert audit.list_events(ctx.store, action="alert.snooze")[0].actor == "olive"
    wrong = browser.post(f"/ui/alerts/{south}/snooze", data={"csrf": csrf(page), "for": "1y"})
    assert wrong.status_code == 422 and "Choose how long" in wrong.text


def test_an_alarm_the_loop_did_not_confirm_says_so_and_a_person_may_still_label_it(
    ctx, browser, world
):
    alert = world.alerts["region=north"]
    loop_did_not_confirm(ctx.store, alert)
    page = sign_in(browser, "olive")
    shown = browser.get(f"/ui/alerts/{alert}").text
    assert "Resolved by <strong>loop</strong>" in shown and "Not confirmed" in shown
    assert "after it, t = 0.41 &lt; 1.367." in shown  # the loop's reason, escaped
    assert "the labelled rows after the alarm did not confirm it" in shown
    assert "0 real changes, 0 false alarms so far" in shown  # the loop's word is no episode
    assert 'value="real_change"' in shown and 'value="false_alarm"' in shown
    assert "Not confirmed" in browser.get("/ui/alerts?state=resolved").text
    answer = browser.post(
        f"/ui/alerts/{alert}/resolve",
        data={"csrf": csrf(page.text), "resolution": "real_change", "reason": "it was real"},
    )
    assert "resolved as a real change" in answer.text
    assert monitoring.get_alert(ctx.store, alert).resolution == "real_change"
    event = audit.list_events(ctx.store, action="alert.label", entity_id=str(alert))[0]
    assert event.actor == "olive" and event.after == {"resolution": "real_change"}
