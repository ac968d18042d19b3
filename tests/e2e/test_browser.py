"""An operator and a viewer in a real browser: sign in, walk the queue, open a model,
call an alert a false alarm and watch the monitor's precision change, approve a cohort,
roll back, and a viewer who cannot approve."""

from __future__ import annotations

import base64
import re
import time

import pytest
from playwright.sync_api import expect
from tests.ui import world as world_module
from tests.ui.conftest import PASSWORD

pytestmark = pytest.mark.slow


def sign_in(page, base: str, name: str) -> None:
    page.goto(f"{base}/ui/")
    expect(page).to_have_url(re.compile(r"/ui/login"))
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")  # the keyboard alone signs in
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()


def _serve_west(page, base: str) -> None:
    """Score the west clinic's rows through the server, as an application would."""
    X, _ = next((X, y) for key, X, y in world_module.clinics() if key == "region=west")
    token = base64.b64encode(f"olive:{PASSWORD}".encode()).decode()
    answer = page.request.post(
        f"{base}/v1/models/progression/predict",
        data={"records": X.assign(region="west").to_dict("records")},
        headers={"Authorization": f"Basic {token}"},
    )
    assert answer.status == 200
    # The prediction log is written about once a second, later on a busy machine: wait
    # until the log holds the west clinic's served rows with their CPU.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log = page.request.get(
            f"{base}/api/v1/models/progression/predictions",
            headers={"Authorization": f"Basic {token}"},
        ).json()
        if any(p["segment"] == "region=west" and p["cpu_seconds"] for p in log["parts"]):
            return
        time.sleep(0.2)
    raise AssertionError(f"the west clinic's predictions never reached the log: {log}")


def test_sign_in_and_walk_the_home_queue(site, page, camera):
    base, _ = site
    page.goto(f"{base}/ui/login")
    camera.shot("sign-in")
    sign_in(page, base, "olive")
    expect(page.get_by_role("heading", name="Needs you")).to_be_visible()
    items = page.locator("ol.queue > li")
    expect(items).to_have_count(8)  # 4 alerts (mae and drift at two clinics) and 4 approvals
    expect(items.first).to_contain_text("Progression at region north: the average error is")
    expect(page.locator("time").first).not_to_contain_text("UTC")  # shown in the viewer's zone
    camera.shot("home")
    items.first.get_by_role("link", name="Look and resolve").click()
    expect(
        page.get_by_role("heading", name=re.compile("Open Progression at region north"))
    ).to_be_visible()
    page.locator(".js-plotly-plot").first.wait_for()
    camera.shot("alert")
    _serve_west(page, base)
    page.get_by_role("link", name="Health").click()
    expect(page.get_by_text("drift in bmi")).to_be_visible()
    west = page.locator("tr", has_text="region=west")
    expect(west.locator("td").last).not_to_have_text(re.compile(r"/ —$"))  # served: its CPU shows
    camera.shot("health")
    page.locator("select[name=status]").select_option("action")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"status=action"))
    camera.shot("health-filtered")


def test_open_a_model_and_roll_back(site, page, camera):
    base, world = site
    sign_in(page, base, "olive")
    page.goto(f"{base}/ui/approvals/{world.approvals[1]}")
    camera.shot("approval")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("is now champion")
    page.get_by_role("link", name="Models").click()
    page.get_by_role("link", name="progression").click()
    camera.shot("model")
    page.get_by_role("link", name="region=north").click()
    expect(page.get_by_role("heading", name="Versions of region=north")).to_be_visible()
    lineage = page.locator("table", has=page.get_by_role("columnheader", name="Prediction log"))
    expect(lineage).to_contain_text("predictions,")  # the champion's logged traffic
    expect(
        page.get_by_role("link", name="GET /api/v1/models/progression/predictions")
    ).to_be_visible()
    camera.shot("model-segment")
    page.get_by_role("button", name="Roll back the champion").click()  # no reason: the browser asks
    expect(page).to_have_url(re.compile(r"segment=region%3Dnorth$"))
    page.get_by_label(re.compile("Why roll back")).fill("worse than v2 on live data")
    page.get_by_role("button", name="Roll back the champion").click()
    expect(page.get_by_role("status")).to_contain_text("champion v6 → v2")
    expect(page.locator("table").last).to_contain_text("worse than v2 on live data")
    camera.shot("rolled-back")


def test_resolve_a_false_alarm_and_see_precision_change(site, page, camera):
    base, world = site
    sign_in(page, base, "olive")
    page.goto(f"{base}/ui/alerts")
    row = page.locator("#precision ~ table tr", has_text="progression-mae")
    expect(row).to_contain_text("—")
    camera.shot("alerts")
    page.goto(f"{base}/ui/alerts/{world.alerts['region=south']}")
    page.get_by_label("Note (optional)").fill("a lab recalibration, not patients")
    page.get_by_role("button", name="False alarm").click()
    expect(page.get_by_role("status")).to_contain_text("right 0% of the time (1 answered)")
    camera.shot("false-alarm")
    page.goto(f"{base}/ui/alerts/{world.alerts['region=north']}")
    page.get_by_role("button", name="Real change").click()
    expect(page.get_by_role("status")).to_contain_text("right 50% of the time (2 answered)")
    page.goto(f"{base}/ui/alerts?state=resolved")
    expect(page.locator("#precision ~ table tr", has_text="progression-mae")).to_contain_text("50%")
    camera.shot("precision")


def test_an_alarm_the_loop_did_not_confirm_can_still_be_called_real(sqlite_ctx, site, page, camera):
    base, world = site
    alert = world.alerts["region=north"]
    world_module.loop_did_not_confirm(sqlite_ctx.store, alert)
    sign_in(page, base, "olive")
    page.goto(f"{base}/ui/alerts/{alert}")
    expect(page.get_by_text("Resolved by loop")).to_contain_text("t = 0.41 < 1.367")
    expect(page.get_by_text("0 real changes, 0 false alarms so far")).to_be_visible()
    camera.shot("not-confirmed")
    page.get_by_role("button", name="Real change").click()
    expect(page.get_by_role("status")).to_contain_text("right 100% of the time (1 answered)")


def test_a_real_change_starts_a_retrain_from_the_change_point(site, page, camera):
    base, world = site
    sign_in(page, base, "olive")
    page.goto(f"{base}/ui/alerts/{world.alerts['region=north']}")
    page.get_by_role("button", name="Real change").click()
    expect(page.get_by_role("heading", name="Retrain from the change point")).to_be_visible()
    camera.shot("real-change")
    page.get_by_label("Note (optional)").fill("a new lab since the shock")
    page.get_by_role("button", name=re.compile("Retrain region=north from")).click()
    expect(page.get_by_role("status")).to_contain_text("Retrain of progression region=north")
    camera.shot("retrain-started")
    page.get_by_role("link", name="progression", exact=True).first.click()
    page.get_by_role("link", name="region=north").click()
    timeline = page.locator("table").last
    expect(timeline.locator("tr", has_text="policy clinics-recover").first).to_contain_text("olive")
    camera.shot("retrain-timeline")


def test_repeated_wrong_passwords_are_held_back(site, page, camera):
    base, _ = site
    page.goto(f"{base}/ui/login")
    for _ in range(5):
        page.get_by_label("User name").fill("otto")
        page.get_by_label("Password").fill("a wrong guess")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("were not accepted")
    page.get_by_label("User name").fill("otto")
    page.get_by_label("Password").fill(PASSWORD)  # right, but too late
    with page.expect_response(re.compile("/ui/login$")) as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 429 and int(answer.value.headers["retry-after"]) > 800
    expect(page.get_by_role("alert")).to_contain_text(
        "Too many failed sign-ins: try again in 15 minutes"
    )
    camera.shot("sign-in-held-back")


def test_approve_a_cohort(site, page, camera):
    base, _ = site
    sign_in(page, base, "otto")
    page.get_by_role("link", name="Approvals").click()
    page.get_by_label("Select all of progression").check()
    page.get_by_label("Choose region=west").uncheck()
    camera.shot("cohort")
    page.get_by_label("Reason (needed to reject)").fill("recovers from the shock")
    page.get_by_role("button", name="Approve the ticked segments").click()
    expect(page.get_by_role("status")).to_contain_text("3 of 3 segments approved together")
    expect(page.locator("table").last).to_contain_text("recovers from the shock")
    camera.shot("cohort-approved")


def test_a_viewer_cannot_approve(site, page, camera):
    base, world = site
    sign_in(page, base, "vera")
    page.goto(f"{base}/ui/approvals")
    expect(page.get_by_role("button", name=re.compile("Approve"))).to_have_count(0)
    camera.shot("viewer-approvals")
    page.goto(f"{base}/ui/approvals/{world.approvals[0]}")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    answer = page.request.post(
        f"{base}/ui/approvals/{world.approvals[0]}/decide",
        form={"csrf": csrf, "decision": "approve"},
    )
    assert answer.status == 403
    page.goto(f"{base}/ui/")
    expect(page.get_by_role("link", name="Look").first).to_be_visible()
    camera.shot("viewer-home")


@pytest.mark.parametrize("page", ["dark"], indirect=True)
def test_the_dark_theme_follows_the_system(site, page, camera):
    base, _ = site
    sign_in(page, base, "olive")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(13, 17, 23)"
    camera.shot("home-dark")
    page.goto(f"{base}/ui/health")
    camera.shot("health-dark")
