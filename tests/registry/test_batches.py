"""Many segments at once: registering, gating and promoting a chunk in one transaction
leaves what one call per segment would have left, audit trail included."""

import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

import loopml
from loopml import audit
from loopml.errors import Conflict, InvalidInput, NotFound
from loopml.models import pack
from loopml.registry import archive, promotion, service
from loopml.registry.entities import Approval
from loopml.registry.gates import GateFailed


def _segments(ctx, count=6):
    """One ridge per sex × age tercile of scikit-learn's diabetes data, with its mae."""
    data = load_diabetes(as_frame=True).frame
    data["band"] = pd.qcut(data["age"], 3, labels=False)
    new = []
    for (sex, band), rows in list(data.groupby(["sex", "band"]))[:count]:
        X, y = rows[["bmi", "bp", "s5"]], rows["target"]
        model = Ridge().fit(X, y)
        mae = float(abs(model.predict(X) - y).mean())
        stored = ctx.artifacts.put_many([pack(model, None, trusted=False).to_bytes()])[0]
        segment = {"sex": round(float(sex), 4), "band": int(band)}
        new.append(
            service.NewVersion(
                flavor="sklearn",
                artifact_digest=stored.digest,
                artifact_size=stored.size,
                segment=segment,
                metrics={"mae": mae},
            )
        )
    return new


def test_a_batch_is_numbered_in_order_with_one_audit_event_each(ctx):
    new = _segments(ctx)
    versions = service.register_many(ctx.store, "diabetes", new, actor="ana")
    assert [v.version for v in versions] == list(range(1, len(new) + 1))
    again = service.register_many(ctx.store, "diabetes", new[:2], actor="ana")
    assert [v.version for v in again] == [len(new) + 1, len(new) + 2]
    events = audit.list_events(ctx.store, entity_id="diabetes", action="model.register")
    assert len(events) == len(new) + 2 and {e.actor for e in events} == {"ana"}
    assert loopml.load_model("models:/diabetes/1").predict(
        load_diabetes(as_frame=True).frame[["bmi", "bp", "s5"]].head(3)
    ).shape == (3,)


def test_promote_many_gates_each_version_against_its_own_champion(ctx):
    new = _segments(ctx)
    maes = sorted(n.metrics["mae"] for n in new)
    limit = maes[len(maes) // 2]
    service.set_gate(ctx.store, "diabetes", {"thresholds": {"mae": f"<= {limit}"}}, actor="ana")
    versions = service.register_many(ctx.store, "diabetes", new, actor="ana")
    decided = promotion.promote_many(ctx.store, "diabetes", versions, actor="ana", reason="batch")
    for version, move in zip(versions, decided, strict=True):
        passed = version.metrics["mae"] <= limit
        assert isinstance(move, GateFailed) != passed
        champion = service.resolve_aliases(ctx.store, "diabetes", "champion", [version.segment_key])
        assert (version.segment_key in champion) == passed
    moves = audit.list_events(ctx.store, entity_id="diabetes", action="alias.promote")
    fails = audit.list_events(ctx.store, entity_id="diabetes", action="gate.fail")
    assert len(moves) == sum(not isinstance(m, GateFailed) for m in decided)
    assert len(fails) == sum(isinstance(m, GateFailed) for m in decided)
    assert all(e.reason == "batch" for e in moves + fails)


def test_a_second_batch_beats_or_keeps_each_champion(ctx):
    new = _segments(ctx, count=4)
    service.set_gate(ctx.store, "diabetes", {"beat_champion": "mae"}, actor="ana")
    first = service.register_many(ctx.store, "diabetes", new, actor="ana")
    promotion.promote_many(ctx.store, "diabetes", first, actor="ana")
    better = [n.__class__(**{**vars(n), "metrics": {"mae": n.metrics["mae"] / 2}}) for n in new[:2]]
    worse = [n.__class__(**{**vars(n), "metrics": {"mae": n.metrics["mae"] * 2}}) for n in new[2:]]
    second = service.register_many(ctx.store, "diabetes", better + worse, actor="ana")
    decided = promotion.promote_many(ctx.store, "diabetes", second, actor="ana")
    assert [isinstance(m, GateFailed) for m in decided] == [False, False, True, True]
    champions = service.resolve_aliases(
        ctx.store, "diabetes", "champion", [v.segment_key for v in first]
    )
    assert [champions[v.segment_key].version for v in first] == [5, 6, 3, 4]
    history = service.alias_history(
        ctx.store, "diabetes", alias="champion", segment=first[0].segment_key
    )
    assert [(m.from_version, m.to_version) for m in history] == [(1, 5), (None, 1)]


def test_approval_gates_open_one_request_per_version(ctx):
    new = _segments(ctx, count=3)
    service.set_gate(ctx.store, "diabetes", {"require_approval": True}, actor="ana")
    versions = service.register_many(ctx.store, "diabetes", new, actor="ana")
    decided = promotion.promote_many(ctx.store, "diabetes", versions, actor="ana")
    assert all(isinstance(d, Approval) for d in decided)
    assert len(loopml.list_approvals(name="diabetes")) == 3
    assert (
        service.resolve_aliases(
            ctx.store, "diabetes", "champion", [v.segment_key for v in versions]
        )
        == {}
    )


def test_set_aliases_checks_every_target_before_moving_any(ctx):
    versions = service.register_many(ctx.store, "diabetes", _segments(ctx, count=2), actor="ana")
    one, two = versions
    with ctx.store.write() as session, pytest.raises(InvalidInput, match="belongs to segment"):
        service.set_aliases(
            session,
            "diabetes",
            "champion",
            [(one.version, one.segment_key), (two.version, one.segment_key)],
            actor="ana",
        )
    with ctx.store.write() as session, pytest.raises(NotFound, match="versions run from 1 to 2"):
        service.set_aliases(session, "diabetes", "champion", [(9, one.segment_key)], actor="ana")
    assert service.resolve_aliases(ctx.store, "diabetes", "champion", [one.segment_key]) == {}
    archive.archive_version(ctx.store, "diabetes", two.version, actor="ana", reason="leaky")
    with ctx.store.write() as session, pytest.raises(Conflict, match="archived"):
        service.set_aliases(
            session, "diabetes", "champion", [(two.version, two.segment_key)], actor="ana"
        )


def test_get_versions_keeps_the_order_asked(ctx):
    service.register_many(ctx.store, "diabetes", _segments(ctx, count=3), actor="ana")
    assert [v.version for v in service.get_versions(ctx.store, "diabetes", [3, 1, 2])] == [3, 1, 2]


def test_one_batch_may_move_a_segment_twice_and_audits_each_move(ctx):
    new = _segments(ctx, count=2)
    versions = service.register_many(ctx.store, "diabetes", [new[0], new[0], new[1]], actor="ana")
    first, second, other = versions
    with ctx.store.write() as session:
        moves = service.set_aliases(
            session,
            "diabetes",
            "champion",
            [(v.version, v.segment_key) for v in versions],
            actor="ana",
            reason="batch",
        )
    assert [(m.from_version, m.to_version) for m in moves] == [(None, 1), (1, 2), (None, 3)]
    assert len({m.id for m in moves}) == 3
    champions = service.resolve_aliases(
        ctx.store, "diabetes", "champion", [first.segment_key, other.segment_key]
    )
    assert champions[first.segment_key].version == second.version
    assert champions[other.segment_key].version == other.version
    history = service.alias_history(
        ctx.store, "diabetes", alias="champion", segment=first.segment_key
    )
    assert [(m.from_version, m.to_version, m.id) for m in history] == [
        (m.from_version, m.to_version, m.id) for m in reversed(moves[:2])
    ]
    events = audit.list_events(ctx.store, entity_id="diabetes", action="alias.set")
    assert len(events) == 3 and {(e.actor, e.reason) for e in events} == {("ana", "batch")}


def test_a_batch_promotion_audits_each_verdict_before_its_move(ctx):
    versions = service.register_many(ctx.store, "diabetes", _segments(ctx, count=3), actor="ana")
    promotion.promote_many(ctx.store, "diabetes", versions, actor="ana", reason="batch")
    events = audit.list_events(ctx.store, entity_id="diabetes", actions=["gate.*", "alias.*"])
    passes = [e for e in events if e.action == "gate.pass"]
    moves = [e for e in events if e.action == "alias.promote"]
    assert sorted(e.after["version"] for e in passes) == [v.version for v in versions]
    assert sorted(e.after["version"] for e in moves) == [v.version for v in versions]
    assert max(e.id for e in passes) < min(e.id for e in moves)
    assert {e.actor for e in events} == {"ana"}
