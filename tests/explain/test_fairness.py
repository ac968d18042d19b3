"""Group fairness with fairlearn, kept per version, and the ``fairness`` gate that blocks
a promotion with the numbers in its reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from tests.explain.conftest import diabetes, scaled_breast_cancer

import loopml
from loopml import audit
from loopml.errors import InvalidInput
from loopml.registry.gates import GateFailed


@pytest.fixture
def cancer(ctx):
    """load_breast_cancer with two derived groups: one drawn at random (no disparity is
    expected), one by tumour size (the model flags large tumours far more often)."""
    X, y = scaled_breast_cancer()
    model = LogisticRegression(max_iter=1000).fit(X, y)
    loopml.log_model(model, "cancer", input_example=X.head())
    rng = np.random.default_rng(7)
    data = X.assign(
        diagnosis=y,
        lottery=rng.choice(["red", "blue"], len(X)),
        size=np.where(X["mean radius"] > X["mean radius"].median(), "large", "small"),
    )
    return model, data


def test_group_metrics_match_what_a_user_computes_by_hand(cancer):
    model, data = cancer
    report = loopml.assess_fairness("cancer", 1, data, target="diagnosis", sensitive=["size"])
    size = report.attribute("size")
    predicted = model.predict(data[model.feature_names_in_])
    for group in ("large", "small"):
        mine = data["size"] == group
        positive = predicted[mine] == 1
        actual = data["diagnosis"][mine].to_numpy() == 1
        assert size.groups[group]["rows"] == mine.sum()
        assert size.groups[group]["selection_rate"] == pytest.approx(positive.mean())
        assert size.groups[group]["true_positive_rate"] == pytest.approx(positive[actual].mean())
        assert size.groups[group]["false_positive_rate"] == pytest.approx(positive[~actual].mean())
    rates = [size.groups[g]["selection_rate"] for g in ("large", "small")]
    assert size.summary["demographic_parity_ratio"] == pytest.approx(min(rates) / max(rates))
    assert size.summary["demographic_parity_difference"] == pytest.approx(max(rates) - min(rates))
    assert size.task == "classification" and not size.used_as_feature
    assert loopml.get_fairness("cancer", 1) == report


def test_the_gate_passes_a_random_grouping_and_blocks_a_skewed_one(cancer):
    _, data = cancer
    loopml.set_gate("cancer", extra={"fairness": {}})
    loopml.assess_fairness("cancer", 1, data, target="diagnosis", sensitive=["lottery"])
    loopml.promote("cancer", 1)  # selection rates alike: ratio near 1

    loopml.assess_fairness("cancer", 1, data, target="diagnosis", sensitive=["size"])
    with pytest.raises(GateFailed) as caught:
        loopml.promote("cancer", 1, alias="candidate")
    assert "demographic_parity_ratio = " in str(caught.value)
    assert "needs >= 0.8; a heuristic, not a legal standard" in str(caught.value)


def test_a_passing_promotion_keeps_the_fairness_numbers_limits_and_verdict_in_its_audit(
    ctx, cancer
):
    model, data = cancer
    limits = {"demographic_parity_ratio": ">= 0.8", "equalized_odds_difference": "<= 0.25"}
    loopml.set_gate("cancer", extra={"fairness": {"sensitive": ["lottery"], "limits": limits}})
    loopml.assess_fairness("cancer", 1, data, target="diagnosis", sensitive=["lottery"])

    loopml.promote("cancer", 1, reason="fair on a random grouping")

    event = audit.list_events(
        ctx.store, entity_type="model", entity_id="cancer", action="gate.pass"
    )[0]
    assert event.actor == "tester" and event.reason == "fair on a random grouping"
    (check,) = event.after["gate"]["checks"]
    assert check["name"] == "fairness" and check["passed"] is True
    lottery = check["values"]["lottery"]
    assert lottery["passed"] is True and lottery["limits"] == limits
    assert lottery["default_limits"] is False and lottery["min_group_rows"] == 30
    predicted = model.predict(data[model.feature_names_in_])
    rates = {g: float(np.mean(predicted[data["lottery"] == g] == 1)) for g in ("blue", "red")}
    for group, rate in rates.items():
        assert lottery["groups"][group]["selection_rate"] == pytest.approx(rate)
        assert lottery["groups"][group]["rows"] == (data["lottery"] == group).sum()
    summary = lottery["summary"]
    assert summary["demographic_parity_ratio"] == pytest.approx(
        min(rates.values()) / max(rates.values())
    )
    assert summary["demographic_parity_difference"] == pytest.approx(
        max(rates.values()) - min(rates.values())
    )
    assert (
        summary["demographic_parity_ratio"] >= 0.8 and summary["equalized_odds_difference"] <= 0.25
    )
    assert (
        f"demographic_parity_ratio = {summary['demographic_parity_ratio']:.3g} (needs >= 0.8)"
        in check["detail"]
    )


def test_a_regressor_is_judged_by_its_error_per_group_on_the_real_sex_attribute(ctx):
    """load_diabetes' ``sex`` is a real attribute; the model is trained without it."""
    X, y = diabetes()
    features = [c for c in X.columns if c != "sex"]
    model = LinearRegression().fit(X[features], y)
    loopml.log_model(model, "progress", input_example=X[features].head())
    data = X.assign(progress=y, sex=np.where(X["sex"] > 0, "m", "f"))

    report = loopml.assess_fairness("progress", 1, data, target="progress", sensitive=["sex"])

    sex = report.attribute("sex")
    errors = {
        g: float(
            np.mean(np.abs(y[data["sex"] == g] - model.predict(X[features][data["sex"] == g])))
        )
        for g in ("f", "m")
    }
    assert sex.groups["f"]["mean_absolute_error"] == pytest.approx(errors["f"])
    assert sex.summary["error_ratio"] == pytest.approx(min(errors.values()) / max(errors.values()))
    assert sex.task == "regression" and not sex.used_as_feature


def test_a_model_that_favours_a_group_is_blocked_with_its_numbers_in_the_audit(ctx):
    """Generated: approvals depend on the group alone, 70% for one and 30% for the other."""
    rng = np.random.default_rng(0)
    n = 2000
    group = rng.choice(["a", "b"], n)
    signal = np.where(group == "a", 0.85, -0.85) + rng.normal(size=n) * 0.1
    frame = pd.DataFrame({"signal": signal, "noise": rng.normal(size=n), "group": group})
    approved = (rng.uniform(size=n) < np.where(group == "a", 0.7, 0.3)).astype(int)
    model = LogisticRegression().fit(frame[["signal", "noise"]], approved)
    loopml.log_model(model, "claims", input_example=frame[["signal", "noise"]].head())
    loopml.set_gate("claims", extra={"fairness": {"sensitive": ["group"]}})
    loopml.assess_fairness(
        "claims", 1, frame.assign(approved=approved), target="approved", sensitive=["group"]
    )

    with pytest.raises(GateFailed) as caught:
        loopml.promote("claims", 1, reason="first release")

    message = str(caught.value)
    assert "fairness: group: demographic_parity_ratio = 0" in message
    assert "groups a 1 (n=" in message and "b 0 (n=" in message
    event = audit.list_events(
        ctx.store, entity_type="model", entity_id="claims", action="gate.fail"
    )[0]
    check = event.after["gate"]["checks"][0]
    assert check["name"] == "fairness" and check["passed"] is False
    assert check["values"]["group"]["summary"]["demographic_parity_ratio"] < 0.8
    assert event.actor == "tester" and event.reason == "first release"


def test_without_enough_evidence_the_gate_waits_and_says_why(cancer):
    _, data = cancer
    loopml.set_gate("cancer", extra={"fairness": {"sensitive": ["lottery"]}})
    with pytest.raises(GateFailed, match="no fairness assessment is recorded"):
        loopml.promote("cancer", 1)
    loopml.assess_fairness("cancer", 1, data.head(40), target="diagnosis", sensitive=["lottery"])
    with pytest.raises(GateFailed, match="too few to judge"):
        loopml.promote("cancer", 1)
    loopml.assess_fairness("cancer", 1, data, target="diagnosis", sensitive=["size"])
    with pytest.raises(GateFailed, match="lacks lottery"):
        loopml.promote("cancer", 1)


def test_bad_limits_and_missing_columns_are_refused_with_what_to_do(cancer):
    _, data = cancer
    with pytest.raises(ValueError, match=r"'>= 0\.8'"):
        loopml.set_gate(
            "cancer", extra={"fairness": {"limits": {"demographic_parity_ratio": "big"}}}
        )
    with pytest.raises(InvalidInput, match="sensitive column 'region'"):
        loopml.assess_fairness("cancer", 1, data, target="diagnosis", sensitive=["region"])


def test_tips_by_sex_a_text_attribute_of_plotly_data_is_judged_by_its_error_ratio(ctx):
    """plotly's tips: a tip model that never sees ``sex`` (pandas 3 text) errs more for one."""
    import plotly.express as px
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    tips = px.data.tips()
    text = ["day", "time", "smoker"]
    X = tips[["total_bill", "size", *text]]
    encoded = make_column_transformer((OneHotEncoder(), text), remainder="passthrough")
    model = make_pipeline(encoded, Ridge()).fit(X, tips["tip"])
    loopml.log_model(model, "tips", input_example=X.head())
    loopml.set_gate("tips", extra={"fairness": {"sensitive": ["sex"]}})

    report = loopml.assess_fairness("tips", 1, tips, target="tip", sensitive=["sex"])

    errors = {
        g: float(
            np.mean(np.abs(tips["tip"][tips["sex"] == g] - model.predict(X[tips["sex"] == g])))
        )
        for g in ("Female", "Male")
    }
    sex = report.attribute("sex")
    assert sex.groups["Male"]["mean_absolute_error"] == pytest.approx(errors["Male"])
    ratio = min(errors.values()) / max(errors.values())
    assert sex.summary["error_ratio"] == pytest.approx(ratio) and not sex.used_as_feature
    with pytest.raises(GateFailed, match=rf"error_ratio = {ratio:.3g} \(needs >= 0.8; a heuristic"):
        loopml.promote("tips", 1)


def test_a_rate_a_group_cannot_have_is_kept_as_unknown_and_blocks_the_gate(ctx):
    """load_breast_cancer with a group of benign tumours only (benign is class 1): its false
    positive rate has no negatives to stand on, so equalized odds cannot be judged for it.
    PostgreSQL's JSON keeps no NaN: it is stored as null and read back as NaN."""
    X, y = scaled_breast_cancer()
    model = LogisticRegression(max_iter=1000).fit(X, y)
    loopml.log_model(model, "cancer", input_example=X.head())
    only_benign = (y == 1) & (X["mean radius"] < X["mean radius"].median())
    data = X.assign(diagnosis=y, clinic=np.where(only_benign, "b", "a"))
    loopml.set_gate(
        "cancer", extra={"fairness": {"limits": {"equalized_odds_difference": "<= 0.2"}}}
    )

    loopml.assess_fairness("cancer", 1, data, target="diagnosis", sensitive=["clinic"])

    clinic = loopml.get_fairness("cancer", 1).attribute("clinic")
    assert np.isnan(clinic.groups["b"]["false_positive_rate"])  # scikit-learn would say 0
    assert clinic.groups["b"]["true_positive_rate"] == pytest.approx(
        np.mean(model.predict(X[only_benign]) == 1)
    )
    assert clinic.groups["b"]["rows"] == only_benign.sum() >= 30
    assert np.isnan(clinic.summary["equalized_odds_difference"])
    assert "false_positive_rate nan" in loopml.model_card("cancer", 1)
    with pytest.raises(GateFailed, match="equalized_odds_difference cannot be measured: a group"):
        loopml.promote("cancer", 1)
