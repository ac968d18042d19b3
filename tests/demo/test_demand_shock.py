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


def test_each_demo_run_starts_from_an_empty_store_of_its_own(tmp_path):
    from loopml.demo.__main__ import demo_settings

    (tmp_path / "loopml.db").write_text("someone's own work")
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "loopml.db").write_text("the last demo")
    settings = demo_settings(Settings(home=tmp_path, store_url="postgresql+psycopg://db/team"))
    assert settings.home_path == tmp_path / "demo" and not settings.home_path.exists()
    assert settings.resolved_store_url == f"sqlite:///{tmp_path / 'demo' / 'loopml.db'}"
    assert (tmp_path / "loopml.db").read_text() == "someone's own work"
