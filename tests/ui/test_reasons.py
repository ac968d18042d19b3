"""Each kind of item in the "needs you" queue reads as a plain sentence: what changed,
where, by how much (rounded) and since which day, with no metric codes, test statistics
or detector names, on the diabetes clinics' world."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pyarrow as pa
import pytest
from tests.ui import world as world_module
from tests.ui.conftest import sign_in

import loopml
from loopml.models import load_version
from loopml.monitoring import service as monitoring
from loopml.monitoring.fairness import fairness_outcome
from loopml.monitoring.spec import MonitorSpec
from loopml.registry import service as registry
from loopml.registry.segments import parse_segment
from loopml.store import utcnow

DAY = r"\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
INTERNAL = ("mae", "p=", "_", "cusum", "psi", "threshold", "statistic", "[", "region=")


def _reasons(page: str) -> list[str]:
    return [html.unescape(r) for r in re.findall(r'<span class="reason">(.*?)</span>', page)]


def _one(reasons: list[str], *words: str) -> str:
    found = [r for r in reasons if all(w in r for w in words)]
    assert len(found) == 1, (words, found, reasons)
    return found[0]


@pytest.fixture
def every_kind(ctx, world):
    """Besides the world's performance and drift alerts and approvals: a lasting shift in
    the north clinic's errors (a CUSUM monitor over the real logs), and errors uneven
    between the sexes (the fairness monitor's own rule on the diabetes rows)."""
    world_module.log_shocked_traffic(ctx, "region=north")
    loopml.create_monitor(
        name="progression-shift",
        model=world_module.MODEL,
        kind="error_drift",
        detector="cusum",
        window="3d",
        per_segment=True,
        min_rows=20,
    )
    loopml.run_monitors(names=["progression-shift"], force=True)
    spec = MonitorSpec(
        name="progression-fairness",
        model=world_module.MODEL,
        kind="fairness",
        metric="error_ratio",
        sensitive="sex",
        threshold=0.8,
        min_rows=20,
    )
    monitor = monitoring.create_monitor(ctx.store, spec, actor="setup")
    rows = _clinic_rows(ctx, "region=east")
    outcome = fairness_outcome(monitor, "region=east", rows, "progression [region=east]")
    assert outcome.status == "alert", outcome.message
    now = utcnow()
    monitoring.record_outcomes(
        ctx.store, monitor, [outcome], window=(now - timedelta(days=1), now), now=now, actor="m"
    )
    return world


def _clinic_rows(ctx, segment: str) -> pa.Table:
    """The east clinic's patients scored by its champion, with a sex label of our own
    (the clinic's data holds one sex) and labels 60 higher for one of them."""
    X, y = next((X, y) for key, X, y in world_module.clinics() if key == segment)
    version = registry.resolve(
        ctx.store, world_module.MODEL, alias="champion", segment=parse_segment(segment)
    )
    predicted = load_version(ctx.artifacts, version).predict(X)
    sex = ["f" if i % 2 else "m" for i in range(len(X))]
    label = [t + (60.0 if s == "f" else 0.0) for t, s in zip(y, sex, strict=True)]
    return pa.table({"prediction": predicted.astype(float), "label": label, "input.sex": sex})


def test_every_kind_of_queue_item_reads_as_a_plain_sentence(browser, every_kind):
    reasons = _reasons(sign_in(browser, "olive").text)
    assert len(reasons) >= 4 + 2 + 2 + 1 + 1, reasons
    for reason in reasons:
        lowered = reason.lower()
        assert not [w for w in INTERNAL if w in lowered], reason
        assert re.search(r"(since|in place of) ", reason), reason
        for number in re.findall(r"\d[\d,]*\.\d+", reason):  # rounded: 3 digits at most
            assert len(number.replace(",", "").replace(".", "").lstrip("0")) <= 3, reason

    performance = _one(reasons, "north", "average error is", "allowed")
    assert re.fullmatch(
        rf"Progression at region north: the average error is [\d.,]+, \d+% above the "
        rf"[\d.,]+ allowed, since {DAY}",
        performance,
    ), performance

    drift = _one(reasons, "north", "data it is asked about")
    assert re.fullmatch(
        rf"Progression at region north: the data it is asked about has changed: bmi no "
        rf"longer looks like the data it was trained on \(1 of \d+ inputs\), since {DAY}",
        drift,
    ), drift

    shift = _one(reasons, "north", "actual values")
    # the logged truth is 100 above the model's: the shift is up, dated when it began
    assert re.fullmatch(
        rf"Progression at region north: actual values have run above what the model "
        rf"predicts since {DAY}, a lasting shift, not a blip \([\d,]+ predictions since it "
        r"began\)",
        shift,
    ), shift

    fairness = _one(reasons, "east", "errors")
    assert re.fullmatch(
        r"Progression at region east: the size of its errors differs between sex groups: the "
        rf"lowest is \d+% of the highest, below the 80% required, since {DAY}",
        fairness,
    ), fairness

    approval = _one(reasons, "region west", "new version")
    assert re.fullmatch(
        r"Progression at region west: a new version \(v\d+\) waits for your decision to "
        r"become champion, in place of v\d+: its average error is \d+% lower \(better\): "
        r"[\d.,]+ against [\d.,]+ for the champion",
        approval,
    ), approval


def test_the_alerts_list_and_an_alerts_page_say_it_the_same_way(browser, every_kind):
    sign_in(browser, "olive")
    listed = browser.get("/ui/alerts").text
    assert "Progression at region north: actual values have run above" in html.unescape(listed)
    north = every_kind.alerts["region=north"]
    page = html.unescape(browser.get(f"/ui/alerts/{north}").text)
    assert "Progression at region north: the average error is" in page


def test_an_alert_back_within_its_limit_says_it_went_past_it_and_where_it_is_now(ctx, world):
    from dataclasses import replace

    from loopml.ui.reasons import alert_reason

    alert = monitoring.get_alert(ctx.store, next(iter(world.alerts.values())))
    spec = monitoring.get_monitor(ctx.store, alert.monitor).spec
    assert spec.kind == "performance" and alert.value > alert.threshold
    assert " is " in alert_reason(alert, spec) and "went" not in alert_reason(alert, spec)
    healthy = replace(alert, value=alert.threshold / 5)  # as the monitor last saw it
    reason = alert_reason(healthy, spec)
    assert re.search(rf"went above the [\d.,]+ allowed on {DAY}; it is [\d.,]+ now$", reason), (
        reason
    )
    assert not any(word in reason for word in INTERNAL), reason


def test_an_error_drift_alert_without_its_result_reads_its_monitors_words(ctx, every_kind):
    """The health table words an alert from the alert alone (no result read per row): a
    CUSUM alert then says what its monitor said, not that the errors changed no times."""
    from loopml.ui.reasons import what_happened

    [alert] = monitoring.list_alerts(ctx.store, state="active", monitor="progression-shift")
    spec = monitoring.get_monitor(ctx.store, alert.monitor).spec
    said = what_happened(alert, spec)
    assert "no times" not in said and said.startswith(alert.message.split(": ", 1)[-1]), said
    assert re.search(rf"since {DAY}$", said), said
