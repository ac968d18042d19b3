"""The demand-shock story: train per-segment models, serve them over HTTP, break
the world for some segments, and let the closed loop recover.

Time is compressed: one simulated day lasts ``day_seconds`` of real time, and
every window, watch and cooldown of the monitor and the policy is written in
the same compressed days. Everything else is real: the store, the server on
loopback, the prediction and feedback logs, the scheduler inside the server.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

import loopml
from loopml import audit, metrics
from loopml._context import Context
from loopml.automation import actions
from loopml.automation.timeline import timeline
from loopml.config import Settings
from loopml.demo.erp import PRODUCTS, Glitch, Shock, demand_table, segments
from loopml.monitoring.spec import MonitorSpec

MODEL = "demand"
OPERATOR = "demo-operator"  # the person the demo ends with, in the web UI
BY_HAND = ("flour",)  # products whose promotions a person approves; the loop promotes the others
FEATURES = ["day_of_week", "promo", "price"]
KEYS = ["store", "product"]


@dataclass(frozen=True)
class Plan:
    segment_count: int = 50
    shocked_count: int = 10
    history_days: int = 120
    calm_days: int = 10  # served before the shock
    shocked_days: int = 30  # served after it
    day_seconds: float = 1.0
    seed: int = 7

    @property
    def shock_day(self) -> int:
        return self.history_days + self.calm_days

    @property
    def glitch_day(self) -> int:
        """A till outage in one calm segment, two days after the shock: a false alarm."""
        return self.shock_day + 2


MIN_RECOVERY_DAYS = 3  # recovery is measured over at least this many served days


@dataclass(frozen=True)
class Recovery:
    segment: str
    promoted_day: float | None  # None: never promoted
    days: float  # from the promotion to the end of the run
    error: float | None  # WAPE over those days; None when fewer than MIN_RECOVERY_DAYS


@dataclass
class Story:
    """What happened, in numbers: the demo prints it and the test checks it."""

    requests: int = 0
    failed: int = 0
    rows: list[dict] = field(default_factory=list)  # one per answered row
    shocked: list[str] = field(default_factory=list)
    glitched: str = ""  # the calm segment whose records broke for two days
    retrained: dict[str, str] = field(default_factory=dict)  # segment -> why
    promoted: dict[str, int] = field(default_factory=dict)  # segment -> version the loop promoted
    awaiting: dict[str, int] = field(default_factory=dict)  # segment -> challenger a person decides
    detected_day: dict[str, float] = field(default_factory=dict)
    url: str = ""
    password: str = field(default="", repr=False)  # the operator's, made for this run; printed once
    started: float = 0.0  # wall-clock time of simulated day 0
    day_times: list[float] = field(default_factory=list)  # wall-clock time each day was served
    stop: Callable[[], None] | None = None  # stops the server when it was kept serving

    decisions: dict[str, list[str]] = field(default_factory=dict)  # segment -> what was decided

    def error(self, segments: list[str], first: float, last: float) -> float:
        """WAPE (sum of absolute errors over sum of demand) of these segments' days in [first, last).

        A window with no served day has no error to tell: it raises rather than say 0%."""
        frame = pd.DataFrame(self.rows)
        part = frame[
            frame["segment"].isin(segments) & (frame["day"] >= first) & (frame["day"] < last)
        ]
        if part.empty:
            raise ValueError(
                f"no served day of {len(segments)} segment(s) in days [{first}, {last})"
            )
        return metrics.wape(part["demand"].to_numpy(float), part["prediction"].to_numpy(float))

    def promoted_day(self, segment: str) -> float | None:
        """The first day the segment was answered by the version the loop promoted."""
        frame = pd.DataFrame(self.rows)
        version = self.promoted.get(segment)
        served = frame[(frame["segment"] == segment) & (frame["version"] == version)]
        return None if version is None or served.empty else float(served["day"].min())

    def recovery(self, segment: str, end: float) -> Recovery:
        """The segment's error from its own promotion to ``end``, if that window is long enough."""
        start = self.promoted_day(segment)
        if start is None:
            return Recovery(segment, None, 0.0, None)
        days = end - start
        error = self.error([segment], start, end) if days >= MIN_RECOVERY_DAYS else None
        return Recovery(segment, start, days, error)


def run(
    plan: Plan,
    settings: Settings,
    *,
    say: Callable[[str], None] = print,
    keep_serving: bool = False,
) -> Story:
    pairs = segments(plan.segment_count)
    shocked = tuple(
        pairs[:: max(1, plan.segment_count // plan.shocked_count)][: plan.shocked_count]
    )
    glitched = next(pair for pair in reversed(pairs) if pair not in shocked)
    total_days = plan.history_days + plan.calm_days + plan.shocked_days
    table = demand_table(
        total_days,
        segment_count=plan.segment_count,
        shock=Shock(plan.shock_day, shocked),
        glitch=Glitch(plan.glitch_day, glitched),
        seed=plan.seed,
    )
    story = Story(shocked=[_key(s, p) for s, p in shocked], glitched=_key(*glitched))
    settings = _demo_settings(settings, plan, table)
    context = loopml.configure(settings)
    say(
        f"1. Training {plan.segment_count} per-segment models on {plan.history_days} days of ERP demand …"
    )
    _train(table, plan)
    _declare_monitoring(context, plan)
    story.password, scoring = _admit(context)
    server, thread, story.url = _serve(context)
    try:
        say(
            f"2. Serving at {story.url} (sign-in required); streaming {plan.calm_days + plan.shocked_days} "
            f"days of traffic (1 day = {plan.day_seconds:g} s); demand shock on day {plan.calm_days} for "
            f"{len(shocked)} segments …"
        )
        _stream(table, plan, story, say, token=scoring)
        _collect(context, plan, story)
    finally:

        def stop() -> None:
            server.should_exit = True
            thread.join(timeout=30)
            context.close()

        story.stop = stop
        if not keep_serving:
            stop()
    return story


def _admit(context: Context) -> tuple[str, str]:
    """The people and programs of a server that requires sign-in: an admin (required to
    start one; it signs in with tokens only, made by whoever holds the store), the
    operator with a password made for this run, and a service token for the ERP's
    traffic, which may only score and send feedback for the demand family."""
    import secrets

    from loopml.auth import tokens, users

    store = context.store
    users.add_user(store, "demo-admin", role="admin", actor="demo")
    password = secrets.token_urlsafe(12)
    users.add_user(store, OPERATOR, role="operator", password=password, actor="demo-admin")
    scoring = tokens.create_token(
        store, "demo-erp-traffic", service=True, models=[MODEL], days=1, actor="demo-admin"
    )
    return password, scoring.secret


def _key(store: str, product: str) -> str:
    return f"product={product},store={store}"


def _demo_settings(settings: Settings, plan: Plan, table: pd.DataFrame) -> Settings:
    home = settings.home_path
    home.mkdir(parents=True, exist_ok=True)
    history = home / "demo-history.csv"
    table[table["date"] < table["date"].min() + pd.Timedelta(days=plan.history_days)].to_csv(
        history, index=False
    )
    project = home / "demo-loopml.yaml"
    day = plan.day_seconds
    project.write_text(
        "# The demand-shock demo's project: its history and its policies; durations are\n"
        f"# compressed days (1 day = {day:g} s).\n"
        f"name: {MODEL}\n"
        f"data: {history.name}\n"
        "target: demand\n"
        "segment_by: [store, product]\n"
        "policies:\n"
        + _policy(
            "demand-by-hand",
            BY_HAND,
            "approval",
            day,
            "# a wrong flour forecast is expensive: a person approves each promotion",
        )
        + _policy(
            "demand-recovery",
            [p for p in PRODUCTS if p not in BY_HAND],
            "auto",
            day,
            "# every other product: the loop promotes on its own",
        )
    )
    return settings.model_copy(
        update={
            "project_file": project,
            "scheduler_interval": day / 2,
            "serving_poll_interval": min(0.2, day / 5),
            "serving_log_flush_interval": day / 5,
            "auth": True,
        }
    )


def _policy(name: str, products, promotion: str, day: float, why: str) -> str:
    covered = ", ".join(f"product={product}" for product in products)
    return (
        f"  {why}\n"
        f"  - name: {name}\n"
        "    triggers: [{when: alert, monitor: demand-mape}]\n"
        f"    segments: [{covered}]\n"
        f"    promotion: {promotion}\n"
        "    history: all           # the 120 days of training data and every labelled day since\n"
        "    half_life: 3           # a day 3 days older counts half as much\n"
        "    min_labels: 6          # every decision waits for 6 labelled days of its own\n"
        "    confidence: 0.9\n"
        "    metric: mae\n"
        "    min_improvement: 0.1\n"
        "    rollout: direct\n"
        f"    watch: {3 * day}s\n"
        "    rollback_if_worse: 0.5\n"
        f"    cooldown: {8 * day}s\n"
    )


def _train(table: pd.DataFrame, plan: Plan) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    history = table[table["date"] < table["date"].min() + pd.Timedelta(days=plan.history_days)]
    loopml.set_gate(MODEL, beat_champion="mae", margin=0.1)
    with loopml.start_run(experiment="demo-demand", name="per-segment ridge"):
        loopml.log_params(
            {
                "segments": plan.segment_count,
                "history_days": plan.history_days,
                "model": "ridge",
                "target": "demand",
            }
        )
        trained_on = loopml.log_dataset(history, "demand-history")  # what a retrain extends
        for (store, product), part in history.groupby(["store", "product"], sort=False):
            train, test = part.iloc[:-30], part.iloc[-30:]
            model = make_pipeline(
                ColumnTransformer(
                    [("dow", OneHotEncoder(handle_unknown="ignore"), ["day_of_week"])],
                    remainder="passthrough",
                ),
                Ridge(alpha=1.0),
            ).fit(train[FEATURES], train["demand"])
            scores = metrics.regression(
                test["demand"], model.predict(test[FEATURES]), ["mae", "mape", "wape"]
            )
            version = loopml.log_model(
                model.fit(part[FEATURES], part["demand"]),
                MODEL,
                input_example=part[FEATURES].head(3),
                segment={"store": store, "product": product},
                metrics=scores,
                datasets=[trained_on],
            )
            loopml.promote(MODEL, version.version, reason="initial training")


def _declare_monitoring(context: Context, plan: Plan) -> None:
    day = timedelta(seconds=plan.day_seconds)
    spec = MonitorSpec(
        name="demand-mape",
        model=MODEL,
        kind="performance",
        metric="mape",
        threshold=0.25,
        window=5 * day,
        schedule=day,
        per_segment=True,
        min_rows=3,
    )
    loopml.create_monitor(spec, replace=True)


def _serve(context: Context):
    import uvicorn

    from loopml.server import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(context=context),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, name="loopml-demo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the demo server did not start within 30 s")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def _stream(table: pd.DataFrame, plan: Plan, story: Story, say, *, token: str) -> None:
    first = table["date"].min() + pd.Timedelta(days=plan.history_days)
    days = plan.calm_days + plan.shocked_days
    start = time.monotonic()
    pending: list[dict] = []  # yesterday's answers, whose truth arrives today
    story.started = time.time()
    scoring = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=story.url, timeout=30, headers=scoring) as http:
        for n in range(days):
            _sleep_until(start + n * plan.day_seconds)
            story.day_times.append(time.time())
            today = table[table["date"] == first + pd.Timedelta(days=n)]
            if pending:
                _post(
                    http,
                    story,
                    "/v1/feedback",
                    {
                        "feedback": [
                            {"prediction_id": r["id"], "label": r["demand"]} for r in pending
                        ]
                    },
                )
            records = today[KEYS + FEATURES].to_dict(orient="records")
            answer = _post(http, story, f"/v1/models/{MODEL}/predict", {"records": records})
            pending = []
            for row, predicted in zip(
                today.itertuples(), (answer or {}).get("predictions", []), strict=False
            ):
                entry = {
                    "id": predicted["prediction_id"],
                    "day": n,
                    "segment": _key(row.store, row.product),
                    "prediction": predicted["prediction"],
                    "demand": row.demand,
                    "version": predicted["version"],
                }
                story.rows.append(entry)
                pending.append(entry)
            if n % 5 == 4 or n == days - 1:
                shocked = story.error(story.shocked, n - 4, n + 1)
                say(
                    f"   day {n + 1:>3}: {story.requests} requests, {story.failed} failed; "
                    f"WAPE of the shocked segments over the last 5 days {shocked:.1%}"
                )
        _sleep_until(start + (days + 1) * plan.day_seconds)


def _post(http: httpx.Client, story: Story, path: str, body: dict) -> dict | None:
    story.requests += 1
    try:
        response = http.post(path, json=body)
    except httpx.HTTPError:
        story.failed += 1
        return None
    if response.status_code >= 400:
        story.failed += 1
        return None
    return response.json()


def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def _collect(context: Context, plan: Plan, story: Story) -> None:
    """Detection and recovery days from the store's own records."""

    def day_of(moment) -> float:
        """The simulated day of a wall-clock moment: a loaded machine serves days late, so
        the days are read from when each was served, not from the start."""
        when, served = moment.timestamp(), story.day_times
        day = max(0, int(np.searchsorted(served, when, side="right")) - 1)
        length = served[day + 1] - served[day] if day + 1 < len(served) else plan.day_seconds
        return day + min(1.0, max(0.0, (when - served[day]) / length))

    for alert in loopml.list_alerts(monitor="demand-mape"):
        opened = day_of(alert.opened_at)
        story.detected_day[alert.segment] = min(
            opened, story.detected_day.get(alert.segment, opened)
        )
    for action in actions.list_actions(context.store, model=MODEL):
        story.retrained[action.segment] = f"{action.state}: {action.trigger}"
        evidence = action.details.get("evidence") or {}
        story.decisions.setdefault(action.segment, []).append(
            f"day {day_of(_recorded_at(context, action)):4.1f}: {action.state}"
            + (
                f" (compared on {evidence['rows']} rows, p = {evidence['p_value']:.2g})"
                if evidence.get("p_value") is not None
                else ""
            )
            + (
                f"; live check on {action.details['live']['rows']} rows"
                if "live" in action.details
                else ""
            )
        )
        if action.state == "promoted" and action.finished_at is not None:
            story.promoted[action.segment] = action.challenger_version
        elif action.state == "awaiting_approval":
            story.awaiting[action.segment] = action.challenger_version
    for entry in timeline(context.store, MODEL):
        if entry.kind == "wait":
            story.decisions.setdefault(entry.segment, []).append(
                f"day {day_of(entry.time):4.1f}: waited, {entry.reason}"
            )
    for decided in story.decisions.values():
        decided.sort()


def _recorded_at(context: Context, action: actions.PolicyAction):
    """When the action reached its state, by the clock the timeline's waits keep: an
    action's own times are the prediction log's event clock, which lags a busy server."""
    events = audit.list_events(
        context.store,
        entity_type="model",
        entity_id=MODEL,
        action=f"policy.{action.state}",
        segment=action.segment,
    )
    recorded = [e.time for e in events if (e.after or {}).get("action") == action.id]
    return recorded[0] if recorded else action.updated_at


def tell(story: Story, plan: Plan, say: Callable[[str], None]) -> None:
    """Print the story with its numbers: per shocked segment, its error before the
    shock and from its own promotion on, and the decisions with their evidence."""
    shock = plan.calm_days
    end = plan.calm_days + plan.shocked_days
    calm = sorted({r["segment"] for r in story.rows} - {*story.shocked, story.glitched})
    say("")
    say("3. What happened")
    say(f"   requests served: {story.requests - story.failed}, failed: {story.failed}")
    if story.shocked:
        say(
            f"   shocked segments ({len(story.shocked)}): WAPE before the shock "
            f"{story.error(story.shocked, 0, shock):.1%}, in the 5 days after it "
            f"{story.error(story.shocked, shock, shock + 5):.1%}"
        )
    for segment in story.shocked:
        recovery = story.recovery(segment, end)
        before = story.error([segment], 0, shock)
        if segment in story.awaiting:
            said = f"challenger v{story.awaiting[segment]} waits for a person's approval"
        elif recovery.promoted_day is None:
            said = "not promoted"
        elif recovery.error is None:
            said = (
                f"promoted on day {recovery.promoted_day:.0f}, only {recovery.days:.0f} days "
                f"before the end: fewer than {MIN_RECOVERY_DAYS} to measure"
            )
        else:
            said = (
                f"promoted on day {recovery.promoted_day:.0f}; WAPE over the {recovery.days:.0f} "
                f"days since {recovery.error:.1%}"
            )
        say(f"   {segment}: WAPE before the shock {before:.1%}; {said}")
        for decision in story.decisions.get(segment, []):
            say(f"      {decision[:160]}")
    say(f"   calm segments ({len(calm)}): WAPE over the whole run {story.error(calm, 0, end):.1%}")
    if story.detected_day:
        delays = [story.detected_day[s] - shock for s in story.shocked if s in story.detected_day]
        if delays:
            say(
                f"   detection: {len(delays)} of {len(story.shocked)} shocked segments alerted, "
                f"{np.mean(delays):.1f} days after the shock on average"
            )
    wrongly = [s for s in story.retrained if s not in {*story.shocked, story.glitched}]
    say(f"   calm segments retrained: {len(wrongly)}")
    glitch = plan.glitch_day - plan.history_days
    say(
        f"   {story.glitched}: a till outage under-recorded days {glitch}-{glitch + 1}, a false "
        f"alarm for the monitor; promoted: {'yes' if story.glitched in story.promoted else 'no'}"
    )
    for decision in story.decisions.get(story.glitched, []):
        say(f"      {decision[:160]}")


def where_to_look(story: Story, home: Path, say: Callable[[str], None], *, serving: bool) -> None:
    say("")
    say("4. Where to look")
    say(f"   export LOOPML_HOME={home}   # the demo's own store")
    if story.shocked:
        say(f'   .venv/bin/loopml timeline {MODEL} --segment "{story.shocked[0]}"')
    say("   .venv/bin/loopml alerts list")
    say(f"   .venv/bin/loopml models show {MODEL}")
    say(f"   .venv/bin/loopml audit --model {MODEL}")
    if serving:
        say(f"   API: {story.url}/docs   metrics: {story.url}/metrics")


def how_to_sign_in(story: Story, home: Path, say: Callable[[str], None], *, serving: bool) -> None:
    """The demo ends in the web UI: its address, the operator and the password made for
    this run, said here and nowhere else (the store keeps only its Argon2id hash)."""
    say("")
    say("5. Look at it in the web UI" + ("" if serving else ", after starting the server again:"))
    if not serving:
        say(
            f"   LOOPML_HOME={home} .venv/bin/loopml serve --auth --port {story.url.rsplit(':', 1)[1]}"
        )
    say(f"   address:  {story.url}/ui/")
    say(f"   user:     {OPERATOR}")
    say(f"   password: {story.password}   (one-time: made for this run, shown only here)")
    if story.awaiting:
        say(
            f"   waiting for you: {len(story.awaiting)} challenger(s) of {', '.join(BY_HAND)} "
            "to approve or reject, and the shock's open alerts"
        )
