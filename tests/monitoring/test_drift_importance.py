"""Drift alerts weighed by the champion's importance: quiet when only an unimportant
feature drifts, naming each drifted feature's share when an important one does."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import lightgbm
import numpy as np
import pandas as pd
import pytest

import loopml

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


def _training(n=3000, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"price": rng.normal(0, 1, n), "qty": rng.normal(5, 2, n)})


def _log(ctx, *, price_shift=0.0, qty_shift=0.0, seed=1, rows=600):
    rng = np.random.default_rng(seed)
    start = NOW - timedelta(hours=1)
    records = [
        {
            "prediction_id": f"p-{seed}-{i}",
            "time": start + timedelta(seconds=i * 3000 / rows),
            "model": "demand",
            "segment": "",
            "inputs": {
                "price": float(rng.normal(price_shift, 1)),
                "qty": float(rng.normal(5 + qty_shift, 2)),
            },
            "prediction": 1.0,
        }
        for i in range(rows)
    ]
    with loopml.PredictionLog(ctx.settings.resolved_artifact_uri) as log:
        log.append(records)


def _monitor(ctx, training: pd.DataFrame, **settings):
    """Demand rests on price alone; qty is noise the model barely uses."""
    target = 10 - 3 * training["price"] + np.random.default_rng(2).normal(0, 0.1, len(training))
    model = lightgbm.LGBMRegressor(n_estimators=40, n_jobs=1, verbose=-1).fit(training, target)
    loopml.log_model(model, "demand", input_example=training.head(), explain_data=training)
    loopml.set_alias("demand", "champion", 1)
    digest = loopml.save_reference(loopml.make_reference(training))
    loopml.create_monitor(
        name="demand-drift", model="demand", kind="drift", window="1h", reference=digest, **settings
    )


def test_drift_of_an_unimportant_feature_stays_quiet(ctx):
    _monitor(ctx, _training(), importance_share=0.3)
    _log(ctx, qty_shift=4.0)

    [outcome] = loopml.run_monitors(now=NOW).outcomes["demand-drift"]

    assert outcome.status == "ok"
    assert "1 of 2 features drifted (qty " in outcome.message
    assert "alerts from 30%" in outcome.message
    assert outcome.details["importance_share"]["qty"] < 0.3
    assert loopml.list_alerts(state="active") == []


def test_drift_of_the_feature_the_model_rests_on_alerts_with_its_share(ctx):
    _monitor(ctx, _training(), importance_share=0.3)
    _log(ctx, price_shift=2.0, seed=3)

    [outcome] = loopml.run_monitors(now=NOW).outcomes["demand-drift"]

    assert outcome.status == "alert"
    assert "(price 100% of importance)" in outcome.message
    assert outcome.details["importance_share"]["price"] > 0.9
    [alert] = loopml.list_alerts(state="active")
    assert alert.monitor == "demand-drift"


def test_every_drift_alert_names_importance_when_it_is_known(ctx):
    _monitor(ctx, _training())  # no importance_share: alerts as before, with the shares named
    _log(ctx, qty_shift=4.0, seed=4)
    [outcome] = loopml.run_monitors(now=NOW).outcomes["demand-drift"]
    assert outcome.status == "alert"
    assert "carrying" in outcome.message and "qty" in outcome.message


def test_the_html_report_shows_each_features_share_of_the_importance(ctx, tmp_path, capsys):
    """load_diabetes: a LightGBM model resting on bmi and s5; a current table whose bmi moved."""
    import re

    from sklearn.datasets import load_diabetes

    from loopml.cli import main

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = lightgbm.LGBMRegressor(n_estimators=60, n_jobs=1, verbose=-1).fit(X, y)
    loopml.log_model(model, "progress", input_example=X.head(), explain_data=X)
    loopml.set_alias("progress", "champion", 1)
    X.iloc[:300].to_parquet(tmp_path / "ref.parquet")
    X.iloc[300:].assign(bmi=X["bmi"].iloc[300:] + 0.05).to_csv(tmp_path / "cur.csv", index=False)
    out = tmp_path / "report.html"

    main(
        [
            "report",
            "drift",
            "--reference",
            str(tmp_path / "ref.parquet"),
            "--current",
            str(tmp_path / "cur.csv"),
            "--out",
            str(out),
            "--model",
            "progress",
        ]
    )

    page = out.read_text()
    report = loopml.explain_version("progress", 1, X)["importance"]  # as computed at logging
    total = sum(report.values())
    cells = dict(re.findall(r"<tr><td>(\w+)</td><td class='importance'>(\d+)%</td>", page))
    assert set(cells) == set(X.columns)
    for feature, value in report.items():
        assert int(cells[feature]) == round(100 * value / total)
    assert f"bmi</b> · {round(100 * report['bmi'] / total)}% of importance" in page
    assert "The drifted columns carry" in page


def test_a_report_for_a_model_without_an_explanation_says_how_to_get_one(ctx, tmp_path, capsys):
    from loopml.cli import main

    frame = _training()
    frame.to_parquet(tmp_path / "ref.parquet")
    frame.to_parquet(tmp_path / "cur.parquet")
    with pytest.raises(SystemExit):
        main(
            [
                "report",
                "drift",
                "--reference",
                str(tmp_path / "ref.parquet"),
                "--current",
                str(tmp_path / "cur.parquet"),
                "--model",
                "nope",
            ]
        )
    assert "loopml explain nope --version V" in " ".join(capsys.readouterr().err.split())


def _diabetes_monitor(ctx):
    """load_diabetes' progression by a LightGBM model: bmi and s5 lead, age barely counts;
    the monitor alerts when any feature drifts (``drift_share`` 0.1 of 10) and the drifted
    features carry 15% of the importance. A window
    replays the very rows of the reference, so only the moved column drifts."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = lightgbm.LGBMRegressor(n_estimators=60, n_jobs=1, verbose=-1).fit(X, y)
    loopml.log_model(model, "progress", input_example=X.head(), explain_data=X)
    loopml.set_alias("progress", "champion", 1)
    digest = loopml.save_reference(loopml.make_reference(X))
    loopml.create_monitor(
        name="progress-drift",
        model="progress",
        kind="drift",
        window="1h",
        reference=digest,
        drift_share=0.1,
        importance_share=0.15,
    )
    importance = loopml.explain_version("progress", 1, X)["importance"]  # as at logging
    return X, {f: v / sum(importance.values()) for f, v in importance.items()}


def _replay(ctx, frame: pd.DataFrame, *, now: datetime, tag: str) -> None:
    """The rows as the hour before ``now``'s predictions."""
    start = now - timedelta(hours=1)
    records = [
        {
            "prediction_id": f"{tag}-{i}",
            "time": start + timedelta(seconds=i * 3000 / len(frame)),
            "model": "progress",
            "segment": "",
            "inputs": row,
            "prediction": 150.0,
        }
        for i, row in enumerate(frame.to_dict(orient="records"))
    ]
    with loopml.PredictionLog(ctx.settings.resolved_artifact_uri) as log:
        log.append(records)


def test_on_diabetes_a_moved_age_stays_quiet_and_a_moved_bmi_alerts_with_its_share(ctx):
    X, share = _diabetes_monitor(ctx)
    assert share["age"] < 0.15 < share["bmi"]

    _replay(ctx, X.assign(age=X["age"] + 2 * X["age"].std()), now=NOW, tag="age")
    [quiet] = loopml.run_monitors(now=NOW).outcomes["progress-drift"]
    assert quiet.status == "ok" and "1 of 10 features drifted (age " in quiet.message
    assert quiet.details["importance_share"]["age"] == pytest.approx(share["age"], abs=1e-9)
    assert "alerts from 15%" in quiet.message and loopml.list_alerts(state="active") == []

    later = NOW + timedelta(hours=1)
    _replay(ctx, X.assign(bmi=X["bmi"] + X["bmi"].std()), now=later, tag="bmi")
    [outcome] = loopml.run_monitors(now=later, force=True).outcomes["progress-drift"]
    assert outcome.status == "alert", outcome.message
    assert f"(bmi {share['bmi']:.0%} of importance)" in outcome.message
    [alert] = loopml.list_alerts(state="active")
    assert alert.monitor == "progress-drift"
