"""A small world for the UI: scikit-learn's diabetes data split into four clinics, a
ridge model per clinic, a disease-progression shock at two of them seen by a
performance monitor and a drift monitor, and challengers waiting for approval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split

import loopml
from loopml import metrics
from loopml.monitoring import service as monitoring
from loopml.monitoring.drift import drift_report
from loopml.monitoring.spec import MonitorSpec
from loopml.registry import promotion
from loopml.registry.segments import parse_segment
from loopml.store import utcnow

MODEL = "progression"
SHOCKED = ("region=north", "region=south")
SHOCK = 100.0  # disease progression this much above what the data had


@dataclass(frozen=True)
class World:
    segments: list[str]
    threshold: float
    alerts: dict[str, int]  # segment -> id of its performance alert
    approvals: list[int]


def clinics():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    region = np.where(X["sex"] > 0, "north", "south")
    region = np.where(X["age"] > X["age"].median(), region, np.where(X["sex"] > 0, "east", "west"))
    for name in ("east", "north", "south", "west"):
        mask = region == name
        yield f"region={name}", X[mask], y[mask]


def build(store) -> World:
    """Champions, then a gate that asks a person, then a better challenger per clinic."""
    segments, holdouts, champions = [], {}, {}
    for key, X, y in clinics():
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
        model = Ridge(alpha=1.0).fit(X_train, y_train)
        mae = metrics.regression(y_test, model.predict(X_test), ["mae"])["mae"]
        version = loopml.log_model(
            model, MODEL, input_example=X.head(3), segment=parse_segment(key), metrics={"mae": mae}
        )
        loopml.promote(MODEL, version.version, reason="first training")
        segments.append(key)
        holdouts[key], champions[key] = (X_test, y_test), model
    loopml.set_gate(MODEL, beat_champion="mae", margin=0.0, require_approval=True)
    approvals = []
    for key, X, y in clinics():
        better = Ridge(alpha=0.1).fit(X, y)  # all of the clinic's data: lower error on its holdout
        X_test, y_test = holdouts[key]
        mae = metrics.regression(y_test, better.predict(X_test), ["mae"])["mae"]
        version = loopml.log_model(
            better, MODEL, input_example=X.head(3), segment=parse_segment(key), metrics={"mae": mae}
        )
        request = promotion.promote(
            store, MODEL, version.version, actor="retrainer", reason="retrained after the shock"
        )
        approvals.append(request.id)
    threshold, alerts = _monitor(store, holdouts, champions)
    return World(segments, threshold, alerts, approvals)


def _monitor(store, holdouts, champions) -> tuple[float, dict[str, int]]:
    """Three daily windows: the shocked clinics' live error jumps, and their bmi drifts."""
    calm = [
        metrics.regression(y, champions[k].predict(X), ["mae"])["mae"]
        for k, (X, y) in holdouts.items()
    ]
    threshold = round(1.25 * max(calm), 1)
    perf = monitoring.create_monitor(
        store,
        MonitorSpec(
            name="progression-mae",
            model=MODEL,
            kind="performance",
            metric="mae",
            threshold=threshold,
            per_segment=True,
        ),
        actor="setup",
    )
    drift = monitoring.create_monitor(
        store,
        MonitorSpec(
            name="progression-drift", model=MODEL, kind="drift", per_segment=True, drift_share=0.1
        ),
        actor="setup",
    )
    start = utcnow() - timedelta(days=3)
    for day in range(3):
        now = start + timedelta(days=day + 1)
        window = (now - timedelta(days=1), now)
        perf_outcomes, drift_outcomes = [], []
        for key, (X, y) in holdouts.items():
            shocked = key in SHOCKED and day >= 1
            live = X.assign(bmi=X["bmi"] + 0.05) if shocked else X
            mae = metrics.regression(
                y + (SHOCK if shocked else 0), champions[key].predict(live), ["mae"]
            )["mae"]
            bad = mae > threshold
            perf_outcomes.append(
                monitoring.Outcome(
                    key,
                    "alert" if bad else "ok",
                    mae,
                    len(y),
                    f"progression-mae on {MODEL} [{key}]: mae {mae:.4g} is "
                    f"{'worse than' if bad else 'within'} {threshold:g}",
                    {},
                    threshold,
                )
            )
            report = drift_report(X, live, drift_share=0.1)
            drift_outcomes.append(
                monitoring.Outcome(
                    key,
                    "alert" if report.drifted else "ok",
                    report.share_drifted,
                    len(X),
                    f"progression-drift on {MODEL} [{key}]: {len(report.drifted_columns)} of "
                    f"{len(report.columns)} features drifted ({', '.join(report.drifted_columns) or 'none'})",
                    report.to_dict(),
                    0.1,
                )
            )
        monitoring.record_outcomes(
            store, perf, perf_outcomes, window=window, now=now, actor="monitor"
        )
        monitoring.record_outcomes(
            store, drift, drift_outcomes, window=window, now=now, actor="monitor"
        )
    alerts = {a.segment: a.id for a in monitoring.list_alerts(store, monitor="progression-mae")}
    return threshold, alerts


def log_shocked_traffic(ctx, segment: str = "region=north") -> int:
    """The clinic's rows served by its champion since the shock, each labelled with the
    shocked truth, through the real prediction and feedback logs; returns how many."""
    import uuid

    from loopml import FeedbackLog, PredictionLog
    from loopml.models import load_version
    from loopml.registry import service as registry

    X, y = next((X, y) for key, X, y in clinics() if key == segment)
    version = registry.resolve(ctx.store, MODEL, alias="champion", segment=parse_segment(segment))
    predicted = load_version(ctx.artifacts, version).predict(X)
    root = ctx.settings.resolved_artifact_uri
    predictions, feedback = PredictionLog(root), FeedbackLog(root)
    start = utcnow() - timedelta(days=1, hours=12)
    for i, (inputs, truth) in enumerate(zip(X.to_dict("records"), y + SHOCK, strict=True)):
        pid, when = uuid.uuid4().hex, start + timedelta(minutes=10 * i)
        predictions.append(
            [
                {
                    "prediction_id": pid,
                    "time": when,
                    "model": MODEL,
                    "version": version.version,
                    "segment": version.segment_key,
                    "inputs": inputs,
                    "prediction": float(predicted[i]),
                    "latency_ms": 1.0,
                }
            ]
        )
        feedback.append([{"prediction_id": pid, "label": float(truth), "time": when}])
    predictions.close()
    feedback.close()
    return len(X)


NOT_CONFIRMED_BECAUSE = "alert not confirmed: the 3 labelled rows after it, t = 0.41 < 1.367"


def loop_did_not_confirm(store, alert: int) -> None:
    """Resolve ``alert`` as the loop does when the rows after its alarm do not confirm it."""
    monitoring.resolve_alert(
        store, alert, actor="loop", resolution="not_confirmed", reason=NOT_CONFIRMED_BECAUSE
    )
