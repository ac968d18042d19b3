"""A version the closed loop retrains keeps the drift reference of its own training rows."""

from datetime import timedelta

from tests.automation.conftest import Traffic, day

import loopml
from loopml.automation.loop import run_policies
from loopml.monitoring.reference import get_reference
from loopml.pipeline.policy import PolicySpec
from loopml.registry import service as registry


def test_a_per_segment_drift_monitor_runs_against_the_retrained_versions_reference(family):
    ctx = family
    spec = PolicySpec(
        name="recover",
        model="demand",
        triggers=[{"when": "alert", "monitor": "demand-mae"}],
        history="since_change",
        min_labels=30,
        watch="1d",
        cooldown="2d",
    )
    loopml.create_monitor(
        name="demand-drift", model="demand", kind="drift", per_segment=True, window="1d"
    )
    traffic = Traffic(ctx, shock={"a": 3})
    for first, last in ((0, 4), (4, 6)):
        traffic.replay(first, last)
        loopml.run_monitors(now=day(last), names=["demand-mae"])
        report = run_policies(
            ctx.store, ctx.artifacts, ctx.settings.resolved_artifact_uri, [spec], now=day(last)
        )
    [started] = report.started
    version = registry.resolve(ctx.store, "demand", alias="champion", segment={"store": "a"})
    assert version.version == started.challenger_version and version.reference_digest
    reference = get_reference(ctx.artifacts, version.reference_digest)
    assert list(reference.summary.columns) == ["x"]
    assert reference.summary.rows == started.details["train_rows"]

    traffic.replay(6, 7)  # a day of traffic like the rows it learned from
    outcomes = {
        o.segment: o
        for o in loopml.run_monitors(
            now=day(6) + timedelta(hours=1), names=["demand-drift"]
        ).outcomes["demand-drift"]
    }
    assert outcomes["store=a"].status == "ok", outcomes["store=a"].message
    assert [c["name"] for c in outcomes["store=a"].details["columns"]] == ["x"]
    # Segments logged without training data or a reference say so, and do not guess.
    assert outcomes["store=b"].status == "error" and "reference" in outcomes["store=b"].message
