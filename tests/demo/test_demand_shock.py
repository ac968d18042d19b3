"""A short run of the demo, end to end: real server, real logs, real scheduler."""

import pytest

from loopml.config import Settings
from loopml.demo.scenario import Plan, run

pytestmark = pytest.mark.slow


def test_the_loop_recovers_the_shocked_segments_and_leaves_the_others(tmp_path):
    plan = Plan(segment_count=12, shocked_count=3, calm_days=8, shocked_days=26, day_seconds=0.6)
    story = run(plan, Settings(home=tmp_path, actor="demo"), say=lambda _: None)
    assert story.requests > 0 and story.failed == 0
    assert set(story.retrained) == set(story.shocked)  # calm segments are not retrained
    assert set(story.recovered_day) == set(story.shocked)
    before = story.error(story.shocked, 0, plan.calm_days)
    after = story.error(
        story.shocked, max(story.recovered_day.values()), plan.calm_days + plan.shocked_days
    )
    assert after <= 1.2 * before
    assert all(plan.calm_days <= day <= plan.calm_days + 8 for day in story.detected_day.values())
