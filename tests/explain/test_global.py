"""Global explanations per version: importance on a sample, kept with the version, shown
in its model card, and summed up across a segment family."""

from __future__ import annotations

import re

import lightgbm
import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from tests.explain.conftest import diabetes, scaled_breast_cancer

import loopml
from loopml.explain import plots


def _lightgbm():
    return lightgbm.LGBMRegressor(n_estimators=60, n_jobs=1, verbose=-1)


def test_importance_is_mean_absolute_contribution_on_a_bounded_sample(ctx):
    X, y = diabetes()
    model = _lightgbm().fit(X, y)
    loopml.log_model(model, "progress", input_example=X.head())

    report = loopml.explain_version("progress", 1, X, sample_rows=200)

    assert report["rows"] == 200
    sample = X.sample(200, random_state=0)
    by_hand = np.abs(model.predict(sample, pred_contrib=True)[:, :-1]).mean(axis=0)
    assert list(report["importance"]) == list(X.columns[np.argsort(-by_hand, kind="stable")])
    assert report["importance"]["bmi"] == pytest.approx(by_hand[list(X.columns).index("bmi")])
    # What a reader of the diabetes study knows: body mass and s5 (serum triglycerides) lead.
    assert set(list(report["importance"])[:2]) == {"bmi", "s5"}
    assert report["summary"]["bmi"]["direction"] > 0.5  # heavier patients progress faster
    contributions = model.predict(sample, pred_contrib=True)[:, :-1]
    for position, feature in enumerate(X.columns):  # the direction is Spearman's rho
        rho = spearmanr(sample[feature], contributions[:, position]).statistic
        assert report["summary"][feature]["direction"] == pytest.approx(rho, abs=1e-12)


def test_registration_computes_it_and_the_card_shows_it(ctx):
    X, y = diabetes()
    loopml.log_model(_lightgbm().fit(X, y), "progress", input_example=X.head(), explain_data=X)

    card = loopml.model_card("progress", 1)

    assert "## Explanation" in card
    assert "lightgbm pred_contrib" in card
    bmi = next(line for line in card.splitlines() if line.startswith("| bmi |"))
    assert "█" in bmi and "higher values raise the output" in bmi
    html = loopml.model_card("progress", 1, format="html")
    assert "<h2>Explanation</h2>" in html and "<h2>Fairness</h2>" in html
    assert "not assessed" in html


def test_the_html_card_draws_each_features_contributions_as_a_box_coloured_by_direction(ctx):
    X, y = diabetes()
    model = _lightgbm().fit(X, y)
    loopml.log_model(model, "progress", input_example=X.head(), explain_data=X)

    html = loopml.model_card("progress", 1, format="html")

    summary = re.search(r"<svg class='contributions'.*?</svg>", html, re.S).group(0)
    drawn = re.findall(r"<g class='feature' data-feature='([^']+)' data-color='([^']+)'", summary)
    contributions = model.predict(X, pred_contrib=True)[:, :-1]  # 442 rows: all explained
    by_hand = np.abs(contributions).mean(axis=0)
    assert [f for f, _ in drawn] == list(X.columns[np.argsort(-by_hand, kind="stable")])
    colours = dict(drawn)
    assert colours["bmi"] == colours["s5"] == plots.RAISE_COLOR  # heavier patients progress faster
    report = loopml.explain_version("progress", 1, X)
    bmi = list(X.columns).index("bmi")
    quartiles = np.percentile(contributions[:, bmi], [25, 50, 75])
    shown = report["summary"]["bmi"]
    assert [shown["p25"], shown["median"], shown["p75"]] == pytest.approx(quartiles.tolist())


def test_the_card_shows_fairness_per_group(ctx):
    X, y = scaled_breast_cancer()
    loopml.log_model(LogisticRegression(max_iter=1000).fit(X, y), "cancer", input_example=X.head())
    data = X.assign(diagnosis=y, size=np.where(X["mean radius"] > 0, "large", "small"))
    loopml.assess_fairness("cancer", 1, data, target="diagnosis", sensitive=["size"])

    card = loopml.model_card("cancer", 1)

    size = next(line for line in card.splitlines() if line.startswith("| size |"))
    assert "demographic_parity_ratio" in size and "equalized_odds_difference" in size
    assert "a heuristic, not a legal standard" in card
    assert "|   size = large |" in card and "selection_rate" in card


def test_a_family_shows_which_features_matter_everywhere_and_which_only_somewhere(
    ctx, capsys, monkeypatch
):
    X, y = diabetes()
    features = [c for c in X.columns if c != "sex"]
    for sex, part in X.groupby(X["sex"] > 0):
        model = _lightgbm().fit(part[features], y[part.index])
        loopml.log_model(
            model,
            "progress",
            input_example=part[features].head(),
            segment={"sex": int(sex)},
            explain_data=part[features],
        )

    family = loopml.explain_family("progress")

    assert {row["segments"] for row in family} == {2}
    leaders = [row["feature"] for row in family if row["top_in_segments"] == 2]
    assert "bmi" in leaders
    assert family[0]["top_in_segments"] == 2
    assert {row["feature"] for row in family} == set(features)
    card = loopml.model_card("progress", 1)
    assert "## Segment family" in card and "| segments explained | 2 " in card
    assert "| bmi | top 3 in every segment;" in card
    from loopml.cli import main, output

    monkeypatch.setattr(output.console, "_width", 200)
    main(["explain", "progress", "--family"])
    shown = capsys.readouterr().out
    assert "bmi" in shown and "2 of 2" in shown
