"""A short run of the demo, end to end: real server, real logs, real scheduler."""

import pytest

from loopml.config import Settings
from loopml.demo.scenario import MIN_RECOVERY_DAYS, Plan, Story, run, tell


@pytest.mark.slow
def test_the_loop_recovers_the_shocked_segments_and_leaves_the_others(tmp_path):
    plan = Plan(segment_count=12, shocked_count=3, calm_days=8, shocked_days=26, day_seconds=1.0)
    story = run(plan, Settings(home=tmp_path, actor="demo"), say=lambda _: None)
    assert story.requests > 0 and story.failed == 0
    # Calm segments are not retrained; the till outage's may be, but its champion stays.
    assert set(story.shocked) <= set(story.retrained) <= {*story.shocked, story.glitched}
    assert story.glitched not in story.promoted and story.glitched in story.detected_day
    by_hand = {s for s in story.shocked if "product=flour" in s}
    assert by_hand and set(story.awaiting) == by_hand  # a person approves flour's promotions
    assert set(story.promoted) == set(story.shocked) - by_hand, [  # the loop promotes the others
        story.decisions.get(s) for s in set(story.shocked) - by_hand - set(story.promoted)
    ]
    end = plan.calm_days + plan.shocked_days
    for segment in set(story.shocked) - by_hand:
        recovery = story.recovery(segment, end)  # from this segment's own promotion
        assert recovery.days >= MIN_RECOVERY_DAYS and recovery.error is not None
        shocked = story.error([segment], plan.calm_days, recovery.promoted_day)
        assert recovery.error < 0.5 * shocked  # the old model's error in the shock, halved
        decided = " ".join(story.decisions[segment])
        assert "compared on" in decided and "p = " in decided  # the evidence is shown
        # in the order it happened: no wait for the rollout's rows after its verdict
        told = story.decisions[segment]
        verdict = max(i for i, line in enumerate(told) if ": promoted" in line)
        assert not any("since the rollout" in line for line in told[verdict:]), told
    assert all(plan.calm_days <= day <= plan.calm_days + 8 for day in story.detected_day.values())
    said = []
    tell(story, plan, said.append)
    assert any("WAPE over the" in line and "days since" in line for line in said)
    assert sum("waits for a person's approval" in line for line in said) == len(by_hand)


def _story(days: int, promoted_on: int) -> Story:
    story = Story(shocked=["s"], promoted={"s": 2})
    story.rows = [
        {
            "day": d,
            "segment": "s",
            "prediction": 10.0,
            "demand": 11.0,
            "version": 2 if d >= promoted_on else 1,
        }
        for d in range(days)
    ]
    return story


def test_an_empty_window_has_no_error_rather_than_zero():
    story = _story(10, promoted_on=9)
    with pytest.raises(ValueError, match="no served day"):
        story.error(["s"], 10, 10)


def test_a_promotion_too_near_the_end_is_not_measured():
    late = _story(10, promoted_on=9).recovery("s", 10)
    assert late.promoted_day == 9 and late.days == 1 and late.error is None
    early = _story(10, promoted_on=5).recovery("s", 10)
    assert early.days == 5 and early.error == pytest.approx(1 / 11)


def test_each_demo_run_starts_from_an_empty_store_of_its_own(tmp_path):
    from loopml.demo.__main__ import demo_settings

    (tmp_path / "loopml.db").write_text("someone's own work")
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "loopml.db").write_text("the last demo")
    settings = demo_settings(Settings(home=tmp_path, store_url="postgresql+psycopg://db/team"))
    assert settings.home_path == tmp_path / "demo" and not settings.home_path.exists()
    assert settings.resolved_store_url == f"sqlite:///{tmp_path / 'demo' / 'loopml.db'}"
    assert (tmp_path / "loopml.db").read_text() == "someone's own work"
