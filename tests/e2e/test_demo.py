"""The demo's store in a real browser, as an operator who never used loopml meets it:
sign in with the password the demo printed, find the segments the shock hit, see why on
an alert's page, call one alert a false alarm, approve the recovering challengers
together, roll one back with a reason, and find each of these in the audit log under
the operator's name."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.sync_api import expect

from loopml.config import Settings
from loopml.demo.scenario import OPERATOR, Plan, how_to_sign_in, run
from loopml.ui.reasons import place

pytestmark = pytest.mark.slow

# Small, and long enough for the flour challengers to wait for a person; a day lasts a
# second so that a busy machine's scheduler still sees the two-day till outage.
PLAN = Plan(segment_count=20, shocked_count=4, calm_days=6, shocked_days=22, day_seconds=1.0)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo")
    story = run(PLAN, Settings(home=home, actor="demo"), say=lambda _: None, keep_serving=True)
    said: list[str] = []
    how_to_sign_in(story, home, said.append, serving=True)
    yield story, "\n".join(said)
    story.stop()


def printed(text: str, field: str) -> str:
    return re.search(rf"^\s*{field}:\s+(\S+)", text, re.M).group(1)


def go(page, where: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=where).click()


def test_an_operator_new_to_loopml_handles_the_demand_shock(demo, page, camera):
    story, said = demo
    address, password = printed(said, "address"), printed(said, "password")
    base = address.removesuffix("/ui/")
    by_hand = sorted(s for s in story.shocked if "product=flour" in s)
    assert len(by_hand) == 2 and set(story.awaiting) == set(by_hand)
    assert story.glitched in story.detected_day  # the till outage raised its false alarm

    # Sign in with what the demo printed, with the keyboard.
    page.goto(address)
    camera.shot("sign-in")
    page.get_by_label("User name").fill(printed(said, "user"))
    page.get_by_label("Password").fill(password)
    page.keyboard.press("Enter")
    expect(page.get_by_text(f"Signed in as {OPERATOR}")).to_be_visible()

    # The home queue names the segments the shock hit, and what waits for a decision.
    queue = page.locator("ol.queue > li")
    for segment in by_hand:
        where = place("demand", segment)  # "Demand at product flour, store north"
        expect(queue.filter(has_text=f"{where}: the average error relative")).to_have_count(1)
        expect(queue.filter(has_text=f"{where}: a new version")).to_have_count(1)
    camera.shot("home")

    # The health table, filtered to what needs action, lists them too; one incident groups them.
    go(page, "Health")
    page.locator("select[name=status]").select_option("action")
    page.get_by_role("button", name="Show").click()
    segments = page.locator("table").last.locator("tbody tr td:nth-child(3)")
    expect(segments.filter(has_text=by_hand[0])).to_have_count(1)
    listed = set(segments.all_inner_texts())
    assert set(by_hand) <= listed <= set(story.shocked)  # the shock's, and no calm segment
    camera.shot("health")

    # Why: the alert page shows the error over time, far above its threshold since the shock.
    go(page, "Needs you")
    where = place("demand", by_hand[0])
    queue.filter(has_text=f"{where}: the average error relative").get_by_role("link").click()
    expect(page.get_by_role("heading", name=re.compile(f"Open {re.escape(where)}"))).to_be_visible()
    expect(page.get_by_role("heading", name="demand-mape over time")).to_be_visible()
    page.locator("#series.js-plotly-plot").wait_for()
    camera.shot("alert")

    # The till outage's alert (closed on its own by now, unless the machine is slow): the
    # operator sees the two-day spike and tells the monitor it was a false alarm.
    go(page, "Alerts")
    page.locator("select[name=state]").select_option("all")
    page.get_by_role("button", name="Show").click()
    page.get_by_role(
        "link", name=re.compile(re.escape(place("demand", story.glitched)))
    ).first.click()
    page.locator("#series.js-plotly-plot").wait_for()
    camera.shot("false-alarm-before")
    page.get_by_label("Note (optional)").fill("till outage at the store: sales were under-recorded")
    page.get_by_role("button", name="False alarm").click()
    expect(page.get_by_role("status")).to_contain_text("right 0% of the time (1 answered)")
    camera.shot("false-alarm")

    # The flour challengers recover from the shock: approve them together.
    go(page, "Approvals")
    page.get_by_label("Select all of demand").check()
    page.get_by_label("Reason (needed to reject)").fill("recovers from the shock")
    camera.shot("cohort")
    page.get_by_role("button", name="Approve the ticked segments").click()
    expect(page.get_by_role("status").first).to_contain_text("2 of 2 segments approved together")
    camera.shot("cohort-approved")

    # Roll one back, with a reason.
    go(page, "Models")
    page.get_by_role("link", name="demand", exact=True).click()
    page.get_by_role("link", name=by_hand[0], exact=True).click()
    camera.shot("model-segment")
    page.get_by_label(re.compile("Why roll back")).fill("the store's own count disagrees")
    page.get_by_role("button", name="Roll back the champion").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"champion v{story.awaiting[by_hand[0]]} → v"
    )
    camera.shot("rolled-back")

    # Each of these is in the audit log under the operator's name.
    events: dict[str, list[dict]] = {}
    for event in audited(base, password):
        assert event["actor"] == OPERATOR
        events.setdefault(event["action"], []).append(event)
    assert events["user.sign_in"]
    [label] = events["alert.label"]
    assert "false_alarm" in json.dumps(label) and "till outage" in label["reason"]
    [cohort] = events["approval.cohort"]
    assert len(events["approval.approve"]) == 2 and "recovers from the shock" in cohort["reason"]
    [rollback] = events["alias.rollback"]
    assert rollback["reason"] == "the store's own count disagrees"
    assert by_hand[0] in json.dumps(rollback)


def audited(base: str, password: str) -> list[dict]:
    answer = httpx.get(
        f"{base}/api/v1/audit", params={"actor": OPERATOR, "limit": 1000}, auth=(OPERATOR, password)
    )
    answer.raise_for_status()
    return answer.json()["events"]
