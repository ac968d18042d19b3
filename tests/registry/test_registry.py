import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression, Ridge

import loopml
from loopml import audit
from loopml.errors import ArtifactCorrupt, InvalidInput, NotFound
from loopml.registry import promotion, service
from loopml.registry.gates import GateFailed

rng = np.random.default_rng(1)
X = pd.DataFrame({"price": rng.uniform(1, 2, 100), "promo": rng.integers(0, 2, 100).astype(float)})
y = 10 - 3 * X["price"] + 2 * X["promo"]


def fit(alpha=1.0):
    return Ridge(alpha=alpha).fit(X, y)


def test_log_and_load_by_version_alias_and_segment(ctx):
    v1 = loopml.log_model(fit(), "demand", input_example=X.head(), metrics={"mae": 2.0})
    v2 = loopml.log_model(
        fit(0.1), "demand", segment={"store": 12, "sku": "A7"}, metrics={"mae": 1.0}
    )
    assert (v1.version, v2.version) == (1, 2)
    assert v2.segment_key == "sku=A7,store=12" and v2.segment == {"sku": "A7", "store": 12}
    assert loopml.get_run(v1.run_id).experiment == "model:demand"

    loopml.set_alias("demand", "champion", 2, segment={"sku": "A7", "store": 12}, reason="first")
    model = loopml.load_model("models:/demand@champion", segment="store=12,sku=A7")
    assert (model.name, model.version, model.flavor) == ("demand", 2, "sklearn")
    np.testing.assert_allclose(model.predict(X), fit(0.1).predict(X))
    assert model.predict({"price": 1.5, "promo": 1.0, "ignored": "x"}).shape == (1,)
    assert loopml.load_model("models:/demand/1").version == 1
    assert [s["segment"] for s in loopml.list_segments("demand")] == ["", "sku=A7,store=12"]
    assert loopml.get_model_version("demand", 2).aliases == ("champion",)


def test_predict_proba_only_where_the_model_has_it(ctx):
    loopml.log_model(LogisticRegression().fit(X, (y > 5).astype(int)), "churn")
    assert loopml.load_model("models:/churn/1").predict_proba(X).shape == (100, 2)
    loopml.log_model(fit(), "plain")
    with pytest.raises(InvalidInput, match="gives no probabilities"):
        loopml.load_model("models:/plain/1").predict_proba(X)


def test_missing_things_are_named(ctx):
    loopml.log_model(fit(), "demand")
    with pytest.raises(NotFound, match="no alias 'champoin'"):
        loopml.load_model("models:/demand@champoin")
    with pytest.raises(NotFound, match="has no version 9"):
        loopml.load_model("models:/demand/9")
    with pytest.raises(NotFound, match="No model named 'supply'"):
        loopml.load_model("models:/supply@champion")
    with pytest.raises(InvalidInput, match="not a model URI"):
        loopml.load_model("demand:1")


def test_tampered_artifact_is_refused(ctx):
    version = loopml.log_model(fit(), "demand")
    path = ctx.artifacts.local_path(version.artifact_digest)
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ArtifactCorrupt, match="does not match its sha256"):
        loopml.load_model("models:/demand/1")


def test_gate_thresholds_and_beating_the_champion(ctx):
    loopml.set_gate("demand", thresholds={"mae": "<= 3.0"}, beat_champion="mae", margin=0.1)
    loopml.log_model(fit(), "demand", metrics={"mae": 2.0})
    loopml.promote("demand", 1, reason="first champion")
    loopml.log_model(fit(), "demand", metrics={"mae": 1.9})
    with pytest.raises(
        GateFailed, match=r"beats champion on mae: mae 1.9 vs champion v1 2 \(needs <= 1.8\)"
    ):
        loopml.promote("demand", 2)
    loopml.log_model(fit(), "demand", metrics={"mae": 3.5})
    with pytest.raises(GateFailed, match=r"mae <= 3.0: mae = 3.5"):
        loopml.promote("demand", 3)
    loopml.log_model(fit(), "demand", metrics={"mae": 1.5})
    move = loopml.promote("demand", 4, reason="better")
    assert (move.from_version, move.to_version, move.kind) == (1, 4, "promote")
    failures = audit.list_events(ctx.store, entity_id="demand", action="gate.fail")
    assert len(failures) == 2


def test_breaking_signature_needs_an_override(ctx):
    loopml.set_gate("demand")
    loopml.log_model(fit(), "demand", input_example=X)
    loopml.promote("demand", 1)
    wider = Ridge().fit(X.assign(temp=1.0), y)
    loopml.log_model(wider, "demand", input_example=X.assign(temp=1.0))
    with pytest.raises(GateFailed, match="needs new input 'temp'"):
        loopml.promote("demand", 2)
    assert loopml.promote("demand", 2, allow_breaking_signature=True).to_version == 2


def test_approval_flow_and_audit_answers_who_was_champion_when(ctx):
    loopml.set_gate("demand", require_approval=True)
    loopml.log_model(fit(), "demand", metrics={"mae": 2.0})
    request = promotion.promote(ctx.store, "demand", 1, actor="alice", reason="please")
    assert request.state == "pending" and [a.id for a in loopml.list_approvals()] == [request.id]
    with pytest.raises(NotFound):
        loopml.load_model("models:/demand@champion")
    approved = loopml.approve(request.id, reason="looks right")
    assert approved.state == "approved" and approved.decided_by == "tester"
    assert loopml.load_model("models:/demand@champion").version == 1
    with pytest.raises(loopml.Conflict, match="already approved"):
        loopml.reject(request.id)

    before = dt.datetime.now(dt.timezone.utc)
    loopml.log_model(fit(), "demand")
    loopml.reject(loopml.promote("demand", 2).id, reason="not now")  # who asked may withdraw
    moved = loopml.champion_at("demand", before)
    assert (moved.to_version, moved.actor, moved.reason, moved.kind) == (
        1,
        "tester",
        "looks right",
        "approve",
    )
    actions = [e.action for e in audit.list_events(ctx.store, entity_id="demand")]
    assert {
        "model.register",
        "approval.request",
        "approval.approve",
        "alias.approve",
        "approval.reject",
    } <= set(actions)


def test_rollback_returns_to_the_previous_version(ctx):
    for _ in range(2):
        loopml.log_model(fit(), "demand")
    loopml.set_alias("demand", "champion", 1)
    loopml.set_alias("demand", "champion", 2)
    move = loopml.rollback("demand", reason="live error doubled")
    assert (move.from_version, move.to_version, move.kind) == (2, 1, "rollback")
    assert service.alias_state(ctx.store) == 3
    assert service.models_with_alias(ctx.store, "champion") == [("demand", "", 1)]


def test_alias_of_another_segment_is_refused(ctx):
    loopml.log_model(fit(), "demand", segment={"store": 1})
    with pytest.raises(InvalidInput, match="belongs to segment 'store=1'"):
        loopml.set_alias("demand", "champion", 1, segment={"store": 2})


def _statements(store, work) -> int:
    """How many SQL statements ``work()`` sends to the store."""
    from sqlalchemy import event

    sent = []

    def listener(connection, cursor, statement, *rest) -> None:
        sent.append(statement)

    event.listen(store.engine, "before_cursor_execute", listener)
    try:
        work()
    finally:
        event.remove(store.engine, "before_cursor_execute", listener)
    return len(sent)


def test_a_listing_and_a_champion_lookup_cost_the_same_queries_at_any_size(ctx):
    from sklearn.datasets import load_diabetes

    data = load_diabetes(as_frame=True).frame
    features = ["bmi", "bp", "s5"]
    counts = []
    for rounds in (1, 6):  # 2 versions, then 12: the queries must not grow with them
        name = f"diabetes{rounds}"
        for _round in range(rounds):
            for sex, rows in data.groupby(data["sex"] > 0):
                segment = {"sex": int(sex)}
                version = loopml.log_model(
                    Ridge().fit(rows[features], rows["target"]),
                    name,
                    input_example=rows[features].head(3),
                    segment=segment,
                )
                loopml.set_alias(name, "champion", version.version, segment=segment)
        listing = _statements(ctx.store, lambda n=name: loopml.list_model_versions(n))
        lookup = _statements(
            ctx.store,
            lambda n=name: loopml.get_model_version(n, alias="champion", segment="sex=1"),
        )
        counts.append((listing, lookup))
        versions = loopml.list_model_versions(name)
        assert [v.version for v in versions] == list(range(2 * rounds, 0, -1))
        assert [v.aliases for v in versions[:2]] == [("champion",), ("champion",)]
        assert all(v.aliases == () for v in versions[2:])
        assert versions[0].signature.names == features
        assert len({id(v.signature) for v in versions}) == 1  # built once, shared
        champion = loopml.get_model_version(name, alias="champion", segment="sex=1")
        assert (champion.version, champion.aliases) == (2 * rounds, ("champion",))
    assert counts[0] == counts[1]
    assert counts[0][1] <= 4  # the version by the alias's key, its aliases, its datasets
