"""Adaptation: does loopml's loop beat a static model when some series change?

Panels of monthly series, each with its own model (a ridge on lags 1 and 12 and a
3-month rolling mean, built by loopml's training feature code), trained on the
first years and then replayed month by month in event time through a real
``loopml serve``: each month's forecasts are requested with their month as
``event_time``, the month's observed values come back as feedback one month
later, and the monitors and policies run at the replay's dates (the calls the
server's scheduler makes). Side by side in the same run:

- static: the models trained before the replay, never retrained;
- loop: loopml's loop, a per-segment CUSUM of the residuals' mean and spread and the policy of
  docs/closed-loop.md (its windows and label counts in months: see SETTINGS);
- oracle: every segment refit every month on all its history.

Panels: a generated one where a subset of segments meets a level shift of two
noise standard deviations, a trend break, a seasonal change or a variance
change (the others are unchanged), and matplotlib's monthly stock prices
(ships inside matplotlib) through the 2008 crash.

``BENCH_ADAPTATION_QUICK=1`` runs a smaller panel and replay.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from benchmarks.report import markdown_table, write_section
from benchmarks.serving import _wait_ready

QUICK = os.environ.get("BENCH_ADAPTATION_QUICK") == "1"
FORECAST = {"horizon": 1, "lags": [1, 12], "rolling": [3], "calendar": False}
FEATURES = ["lag_1", "lag_12", "rolling_mean_3"]
MODEL = "adapt"
NOISE = 4.0
SETTINGS = {  # docs/closed-loop.md's policy for monthly data: decisions on six months of labels
    "history": "all",
    "half_life": 12,
    "min_labels": 6,
    "confirm_labels": 3,
    "min_improvement": 0.05,
    "confidence": 0.9,
    "watch": timedelta(days=1),
    "rollback_if_worse": 0.2,
}
BACKTEST = 12  # months each model is scored on before it is refit on all its training rows
MONITOR = {  # docs/monitoring.md's CUSUM of residuals, scaled by each segment's backtest
    "window": timedelta(days=730),  # two years of the serving version's labelled months
    "schedule": timedelta(days=28),
    "min_rows": 1,
    "detector": "cusum",
    "cusum_k": 0.5,
    "cusum_h": 4.0,
}


@dataclass
class Panel:
    name: str
    rows: pd.DataFrame  # date, series, y
    kinds: dict[str, str]  # series -> level, trend, season, variance or none
    train_end: pd.Timestamp
    change: pd.Timestamp


def generated_panel(segments: int, months: int, seed: int = 0) -> Panel:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2010-01-01", periods=months, freq="MS", tz="UTC")
    change_at = months - 24
    per_kind = max(1, segments // 10)
    kinds = ["level"] * 2 * per_kind + ["trend", "season", "variance"] * per_kind
    kinds += ["none"] * (segments - len(kinds))
    t = np.arange(months)
    after = t >= change_at
    rows, names = [], {}
    for index, kind in enumerate(kinds):
        season = 10 * np.sin(2 * np.pi * (t + index) / 12)
        noise = rng.normal(0, NOISE, months) * np.where(after & (kind == "variance"), 3, 1)
        y = 100 + index % 5 * 20 + season + noise
        if kind == "level":
            y = y + after * 2 * NOISE
        elif kind == "trend":
            y = y + after * 1.5 * (t - change_at)
        elif kind == "season":
            y = y - after * 2 * season
        series = f"s{index:03d}"
        names[series] = kind
        rows.append(pd.DataFrame({"date": dates, "series": series, "y": y}))
    return Panel(
        "generated",
        pd.concat(rows, ignore_index=True),
        names,
        dates[change_at - 12],
        dates[change_at],
    )


def stock_panel() -> Panel:
    """Month-start prices of seven series of matplotlib's sample data, 1990-2011."""
    import matplotlib

    tickers = ["IBM", "AAPL", "MSFT", "XRX", "ADBE", "^GSPC", "^IXIC"]
    path = Path(matplotlib.get_data_path()) / "sample_data" / "Stocks.csv"
    wide = pd.read_csv(path, comment="#", parse_dates=["Date"])
    wide = wide[(wide["Date"].dt.day == 1) & (wide["Date"] < "2012-01-01")].dropna(subset=tickers)
    rows = wide.melt("Date", tickers, var_name="series", value_name="y")
    rows["date"] = rows.pop("Date").dt.tz_localize("UTC")
    start = "2006-01-01" if QUICK else "2004-01-01"
    return Panel(
        "stocks (matplotlib sample data)",
        rows[["date", "series", "y"]],
        dict.fromkeys(tickers, "crash"),
        pd.Timestamp(start, tz="UTC"),
        pd.Timestamp("2008-09-01", tz="UTC"),
    )


def featured(panel: Panel) -> pd.DataFrame:
    """Every series' rows with training's forecast features (one month ahead)."""
    from loopml.pipeline.features import add_forecast_features

    parts = [
        add_forecast_features(part, "y", "date", FORECAST)
        for _, part in panel.rows.groupby("series")
    ]
    return pd.concat(parts, ignore_index=True)


def _ridge():
    from sklearn.linear_model import Ridge

    return Ridge(alpha=1.0)


def static_and_oracle(rows: pd.DataFrame, panel: Panel) -> tuple[pd.Series, pd.Series, dict, dict]:
    """Forecasts of the static models and of the oracle; the models and their backtest MAE
    (scored on the last BACKTEST training months, then refit on all, as ``loopml run`` does)."""
    static, oracle, models = pd.Series(index=rows.index, dtype=float), rows["y"] * np.nan, {}
    backtests = {}
    replay = rows["date"] >= panel.train_end
    cut = panel.train_end - pd.DateOffset(months=BACKTEST)
    for series, part in rows.groupby("series"):
        train = part[part["date"] < panel.train_end]
        early, late = train[train["date"] < cut], train[train["date"] >= cut]
        scored = _ridge().fit(early[FEATURES], early["y"]).predict(late[FEATURES])
        backtests[series] = float(np.mean(np.abs(late["y"].to_numpy() - scored)))
        models[series] = _ridge().fit(train[FEATURES], train["y"])
        later = part[replay.loc[part.index]]
        static.loc[later.index] = models[series].predict(later[FEATURES])
        for index, row in later.iterrows():
            seen = part[part["date"] < row["date"]]
            refit = _ridge().fit(seen[FEATURES], seen["y"])
            oracle.loc[index] = refit.predict(row[FEATURES].to_frame().T.astype(float))[0]
    return static, oracle, models, backtests


def loop(rows: pd.DataFrame, panel: Panel, models: dict, backtests: dict) -> dict:
    """The replay through a real server; returns its forecasts, alerts and retrains."""
    import loopml
    from loopml.automation.loop import run_policies
    from loopml.pipeline.policy import PolicySpec
    from loopml.predictions.reader import read_feedback, read_predictions

    home = Path(tempfile.mkdtemp(prefix="loopml-adaptation-"))
    context = loopml.configure(loopml.Settings(home=home, actor="bench"))
    # the training rows with their features: a retrain extends them with the traffic since
    trained = loopml.log_dataset(rows[rows["date"] < panel.train_end], f"{MODEL}.train")
    for series, model in models.items():
        version = loopml.log_model(
            model,
            MODEL,
            input_example=rows[FEATURES].head(3),
            segment={"series": series},
            datasets=[trained],
            metrics={"mae": backtests[series], "test_rows": BACKTEST},
        )
        loopml.set_alias(MODEL, "champion", version.version, segment={"series": series})
    loopml.create_monitor(
        name="adapt-errors", model=MODEL, kind="error_drift", per_segment=True, **MONITOR
    )
    policy = PolicySpec(
        name="adapt-recovery",
        model=MODEL,
        triggers=[{"when": "alert", "monitor": "adapt-errors"}],
        **SETTINGS,
    )
    root = context.settings.resolved_artifact_uri
    predicted = pd.Series(index=rows.index, dtype=float)
    alerts: list[tuple[str, pd.Timestamp]] = []
    verdicts: list[tuple[str, pd.Timestamp, str]] = []
    unconfirmed: list[str] = []  # segments whose alarm the rows after it did not confirm
    env = {
        **os.environ,
        "LOOPML_HOME": str(home),
        "LOOPML_SCHEDULER": "false",
        "LOOPML_SERVING_LOG_FLUSH_INTERVAL": "0.2",
        "LOOPML_SERVING_POLL_INTERVAL": "0.2",
    }
    with socket.socket() as probe:  # a free loopback port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-c", "import sys; from loopml.cli import main; main(sys.argv[1:])"]
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    sent = labelled = 0
    try:
        _wait_ready(port)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        pending: list[tuple[str, float]] = []
        for month in sorted(rows.loc[rows["date"] >= panel.train_end, "date"].unique()):
            now = rows[rows["date"] == month]
            stamp = month.isoformat()
            records = [
                {"series": s, **dict(zip(FEATURES, v, strict=True)), "event_time": stamp}
                for s, v in zip(now["series"], now[FEATURES].to_numpy(), strict=True)
            ]
            answer = client.post(f"/v1/models/{MODEL}/predict", json={"records": records}).json()
            predicted.loc[now.index] = [p["prediction"] for p in answer["predictions"]]
            if pending:  # last month's values arrive now
                feedback = [
                    {"prediction_id": i, "label": y, "event_time": stamp} for i, y in pending
                ]
                labelled += client.post("/v1/feedback", json={"feedback": feedback}).json()[
                    "accepted"
                ]
            pending = list(
                zip([p["prediction_id"] for p in answer["predictions"]], now["y"], strict=True)
            )
            sent += len(records)
            _written(root, sent, labelled, read_predictions, read_feedback)
            report = loopml.run_monitors()
            for outcome in report.outcomes.get("adapt-errors", []):
                verdicts.append((outcome.segment, month, outcome.status))
            for change in report.changes:
                if change.event == "opened":
                    alerts.append((change.alert.segment, month))
            passed = run_policies(context.store, context.artifacts, root, [policy], actor="bench")
            unconfirmed += [
                line.split(": ", 1)[0].split(" ", 1)[1] for line in passed.not_confirmed
            ]
            time.sleep(0.5)  # the server swaps to a promoted champion within its poll interval
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    from loopml.automation import actions

    done = actions.list_actions(context.store, model=MODEL)
    retrains = [(a.segment, a.state) for a in done]
    context.close()
    return {
        "predicted": predicted,
        "alerts": alerts,
        "verdicts": verdicts,
        "retrains": retrains,
        "unconfirmed": unconfirmed,
    }


def _written(root, predictions: int, labels: int, read_predictions, read_feedback) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if (
            read_predictions(root, MODEL, columns=["prediction_id"]).num_rows >= predictions
            and read_feedback(root).num_rows >= labels
        ):
            return
        time.sleep(0.05)
    raise RuntimeError("the server did not write its logs in 30 s")


def wape(y: pd.Series, predicted: pd.Series) -> float:
    return float(np.abs(y - predicted).sum() / np.abs(y).sum())


def evaluate(panel: Panel) -> dict:
    rows = featured(panel)
    static, oracle, models, backtests = static_and_oracle(rows, panel)
    started = time.monotonic()
    looped = loop(rows, panel, models, backtests)
    seconds = time.monotonic() - started
    return {
        "rows": rows,
        "static": static,
        "oracle": oracle,
        "loop": looped,
        "seconds": seconds,
        "backtests": backtests,
    }


def level_shift_rule(panel: Panel, result: dict) -> str | None:
    """How large the level shifts are in the static models' standardized residuals over
    their first 6 months, and what the detector's stated rule says of that size."""
    from loopml.monitoring.cusum import average_run_length, false_alarm_every

    rows = result["rows"]
    level = [s for s, k in panel.kinds.items() if k == "level"]
    if not level:
        return None
    window = (rows["date"] >= panel.change) & (
        rows["date"] < panel.change + pd.DateOffset(months=6)
    )
    part = rows[window & rows["series"].isin(level)]
    sigma = part["series"].map(result["backtests"]) * np.sqrt(np.pi / 2)
    shift = float(((part["y"] - result["static"][part.index]) / sigma).mean())
    k, h = MONITOR["cusum_k"], MONITOR["cusum_h"]
    fast = next(x / 4 for x in range(1, 40) if average_run_length(k, x / 4, shift) <= 2)
    return (
        f"- the level shifts are {shift:.2f} sd of the static models' residuals over their "
        f"first 6 months (the lags absorb part of the 2 noise sd). The stated rule (k {k:g}, "
        f"h {h:g}): a false alarm every {false_alarm_every(k, h):.0f} labels (the mean's sums "
        f"alone: {average_run_length(k, h):.0f}), and a shift of that size found in "
        f"{average_run_length(k, h, shift):.1f} labels on average; within 2 would take h "
        f"{fast:g} (with k {k:g}), a false alarm every {average_run_length(k, fast):.0f} labels"
    )


def unchanged_rule(found: dict) -> str | None:
    """What the stated false-alarm rate and the confirmation rule say of 'none retrained'
    over the unchanged labels."""
    import math

    from loopml.monitoring.cusum import MAE_EFFICIENCY, false_alarm_every

    labels = found["windows judged (unchanged)"]
    if not labels:
        return None
    k, h = MONITOR["cusum_k"], MONITOR["cusum_h"]
    every = false_alarm_every(k, h)
    alarms = labels / every
    passed = 1 - SETTINGS["confidence"]
    return (
        f"- at the stated rate (a false alarm every {every:.0f} labels) the {labels} unchanged "
        f"labels hold {alarms:.1f} false alarms on average; each retrains only if the "
        f"{SETTINGS['confirm_labels']} labels after it confirm it, a test that says yes "
        f"{passed:.0%} of the time on an unchanged segment (t or F on sigma's "
        f"{MAE_EFFICIENCY * BACKTEST:.1f} degrees of freedom: exact, whatever sigma's own "
        f"error): {alarms * passed:.2f} retrains expected, none with probability "
        f"{math.exp(-alarms * passed):.0%}"
    )


def phases(panel: Panel, rows: pd.DataFrame) -> dict[str, pd.Series]:
    before = (rows["date"] >= panel.train_end) & (rows["date"] < panel.change)
    during = (rows["date"] >= panel.change) & (
        rows["date"] < panel.change + pd.DateOffset(months=6)
    )
    after = rows["date"] >= panel.change + pd.DateOffset(months=6)
    return {"before": before, "during (6 months)": during, "after": after}


def table(panel: Panel, result: dict) -> tuple[str, dict]:
    rows, looped = result["rows"], result["loop"]
    arms = {"static": result["static"], "loop": looped["predicted"], "oracle": result["oracle"]}
    kinds = sorted(set(panel.kinds.values()))
    lines, figures = [], {}
    for kind in kinds:
        mask_kind = rows["series"].map(panel.kinds) == kind
        for phase, mask in phases(panel, rows).items():
            m = mask & mask_kind
            scores = {arm: wape(rows.loc[m, "y"], p[m]) for arm, p in arms.items()}
            figures[(kind, phase)] = scores
            lines.append([kind, phase, *(f"{scores[a]:.2%}" for a in arms)])
    return markdown_table(["segments", "period", *arms], lines), figures


def detection(panel: Panel, result: dict) -> dict[str, object]:
    looped = result["loop"]
    changed = {s for s, k in panel.kinds.items() if k not in ("none",)}
    unchanged = {s for s, k in panel.kinds.items() if k == "none"}
    delays = {}
    for series in changed:
        key = f"series={series}"
        times = [m for s, m in looped["alerts"] if s == key and m >= panel.change]
        delays[series] = None if not times else _months(panel.change, min(times))
    level = [delays[s] for s, k in panel.kinds.items() if k == "level"]
    variance = [delays[s] for s, k in panel.kinds.items() if k == "variance"]
    quiet = [
        v
        for s, _, v in looped["verdicts"]
        if s.removeprefix("series=") in unchanged and v in ("ok", "alert")
    ]
    retrained = [s for s, _ in looped["retrains"] if s.removeprefix("series=") in unchanged]
    closed = [s.removeprefix("series=") in unchanged for s in looped["unconfirmed"]]
    return {
        "level delays": level,
        "variance delays": variance,
        "alert share (unchanged)": (
            sum(v == "alert" for v in quiet) / len(quiet) if quiet else float("nan")
        ),
        "windows judged (unchanged)": len(quiet),
        "retrains (unchanged)": len(retrained),
        "not confirmed (unchanged)": sum(closed),
        "not confirmed (changed)": len(closed) - sum(closed),
        "retrains (all)": len(looped["retrains"]),
        "outcomes": sorted({state for _, state in looped["retrains"]}),
    }


def _months(start: pd.Timestamp, end: pd.Timestamp) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def main() -> None:
    load = os.getloadavg()[0]
    segments, months = (20, 72) if QUICK else (40, 96)
    panels = [generated_panel(segments, months), stock_panel()]
    body = [
        "## Adaptation",
        "",
        __doc__.split("\n\n", 1)[1].split("``BENCH_")[0].strip(),
        "",
        f"Loop settings: monitor error_drift, {_shown(MONITOR)} (each segment's residuals "
        f"divided by its own backtest MAE × √(π/2), over its last {BACKTEST} training months); "
        f"policy {_shown(SETTINGS)}; the rest as in docs/closed-loop.md. Error is WAPE of "
        "one-month-ahead forecasts.",
        "",
        f"Run: {'quick (BENCH_ADAPTATION_QUICK=1)' if QUICK else 'full'}; "
        "`PYTHONPATH=src:. python -m benchmarks adaptation`.",
    ]
    for panel in panels:
        result = evaluate(panel)
        text, figures = table(panel, result)
        found = detection(panel, result)
        body += [
            "",
            f"### {panel.name}: {panel.rows['series'].nunique()} series, replay from "
            f"{panel.train_end:%Y-%m}, change at {panel.change:%Y-%m}",
            "",
            text,
            "",
            f"- replay of {result['rows']['date'].ge(panel.train_end).sum():,} forecasts "
            f"through the server: {result['seconds']:.0f} s of wall time",
            *_panel_lines(found),
            f"- alarms closed as not confirmed by the {SETTINGS['confirm_labels']} labels after "
            f"them: {found['not confirmed (unchanged)']} on unchanged segments, "
            f"{found['not confirmed (changed)']} on changed ones",
            f"- retrains in all: {found['retrains (all)']} ({', '.join(found['outcomes']) or 'none'})",
            *filter(None, [level_shift_rule(panel, result), unchanged_rule(found)]),
            *_targets(panel, figures, found),
        ]
        print(f"[bench] adaptation {panel.name}: {found}", file=sys.stderr)
    body += ["", f"Load (1-minute average) at the start: {load:.1f}."]
    write_section("adaptation", "\n".join(body))


def _panel_lines(found: dict) -> list[str]:
    """Detection delays and the unchanged segments' alerts, for a panel that has them (a
    real panel has no planted level shift or variance change and no unchanged series)."""
    lines = []
    if found["level delays"]:
        delays = found["level delays"]
        lines.append(f"- detection delay of the level shifts (months; None = never): {delays}")
    if found["variance delays"]:
        lines.append(
            f"- detection delay of the variance changes (months): {found['variance delays']}"
        )
    if found["windows judged (unchanged)"]:
        lines.append(
            f"- unchanged segments: {found['alert share (unchanged)']:.1%} of "
            f"{found['windows judged (unchanged)']} judged windows alerted; "
            f"{found['retrains (unchanged)']} retrains"
        )
    return lines


def _targets(panel: Panel, figures: dict, found: dict) -> list[str]:
    after = [(k, s) for (k, p), s in figures.items() if p == "after" and k != "none"]
    beats = all(s["loop"] < s["static"] for _, s in after)
    near = all(s["loop"] <= 1.1 * s["oracle"] for _, s in after)
    lines = [
        f"- target: after each change the loop below static: {'met' if beats else 'not met'}; "
        f"within 10% of the oracle: {'met' if near else 'not met'}"
    ]
    if found["level delays"]:
        quick = all(d is not None and d <= 2 for d in found["level delays"])
        lines.append(
            f"- target: 2-sd shifts detected within 2 periods: {'met' if quick else 'not met'}"
        )
    if found["windows judged (unchanged)"]:
        share, retrains = found["alert share (unchanged)"], found["retrains (unchanged)"]
        lines.append(
            f"- target: unchanged segments under 5% of windows alerting and none retrained: "
            f"{'met' if share < 0.05 and retrains == 0 else 'not met'}"
        )
    return lines


def _shown(settings: dict) -> str:
    return ", ".join(f"{k} {_text(v)}" for k, v in settings.items())


def _text(value) -> str:
    return f"{value.days}d" if isinstance(value, timedelta) else str(value)


if __name__ == "__main__":
    main()
