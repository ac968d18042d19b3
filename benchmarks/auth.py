"""Sign-in on the scoring path: what authentication costs a request.

The same model and server as the serving benchmark, started three times in
one run: open on loopback (the anchor), with ``--auth`` and a service token
as a Bearer header, and with ``--auth`` and a user's name and password as HTTP
Basic. Verified credentials are kept for 5 seconds, so after the first request
a client sending the same header pays a hash and a dictionary lookup, not a
store query or an Argon2 check. The uncached costs (one token lookup in the
store, one Argon2id verification) are timed in process. Target: sign-in adds
at most 0.1 ms to the single-row p50, and costs at most 10% of the 8-client
throughput.
"""

from __future__ import annotations

import base64
import os
import signal
import statistics
import subprocess
import sys
import time

from benchmarks.anchors import free_port
from benchmarks.report import markdown_table, write_section
from benchmarks.serving import (
    FEATURES,
    LOADGEN,
    MODEL,
    WORK,
    _bodies,
    _register,
    _rows,
    _wait_ready,
)

REQUESTS = int(os.environ.get("BENCH_AUTH_REQUESTS", "10000"))
PASSWORD = "a long benchmark passphrase"


def main() -> None:
    import shutil

    from loopml._context import get_context
    from loopml.auth import tokens, users

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    train = _rows(20_000, seed=0)
    _, settings = _register(train)
    body = _bodies(train[FEATURES].head(1))["mlflow"]
    store = get_context().store
    users.add_user(store, "bench", role="admin", password=PASSWORD, actor="bench")
    token = tokens.create_token(store, "bench-scoring", service=True, actor="bench").secret
    basic = base64.b64encode(f"bench:{PASSWORD}".encode()).decode()
    runs = {
        "open (loopback, no sign-in)": _serve(settings, body, auth=False, header=None),
        "service token, Bearer": _serve(
            settings, body, auth=True, header=f"Authorization: Bearer {token}"
        ),
        "user and password, Basic": _serve(
            settings, body, auth=True, header=f"Authorization: Basic {basic}"
        ),
    }
    uncached = _uncached(store, token)
    _report(runs, uncached)


def _serve(settings, body, *, auth: bool, header: str | None) -> dict:
    port = free_port()
    env = {**os.environ, "LOOPML_HOME": str(settings.home), "LOOPML_SCHEDULER": "false"}
    command = [sys.executable, "-c", "import sys; from loopml.cli import main; main(sys.argv[1:])"]
    flags = ["--auth"] if auth else []
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--log-level", "warning", *flags],
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_ready(port)
        path = f"/v1/models/{MODEL}/invocations"
        return {
            "one": _drive(port, path, body, header, clients=1, requests=2000),
            "eight": _drive(port, path, body, header, clients=8, requests=REQUESTS),
        }
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def _drive(port, path, body, header, *, clients: int, requests: int) -> dict:
    import json

    extra = ["--header", header] if header else []
    result = subprocess.run(
        [
            sys.executable,
            str(LOADGEN),
            str(port),
            path,
            str(body),
            "--clients",
            str(clients),
            "--requests",
            str(requests),
            "--seconds",
            "60",
            *extra,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _uncached(store, token: str) -> dict[str, float]:
    from loopml.auth import tokens, users

    def median_ms(call, n: int) -> float:
        times = []
        for _ in range(n):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        return statistics.median(times) * 1000

    return {
        "token lookup in the store (SQLite)": median_ms(
            lambda: tokens.check_token(store, token), 200
        ),
        "Argon2id password check": median_ms(
            lambda: users.check_password(store, "bench", PASSWORD), 20
        ),
    }


def _report(runs: dict[str, dict], uncached: dict[str, float]) -> None:
    anchor = runs["open (loopback, no sign-in)"]
    rows = []
    for name, result in runs.items():
        one, eight = result["one"], result["eight"]
        added = one["p50_ms"] - anchor["one"]["p50_ms"]
        share = eight["throughput"] / anchor["eight"]["throughput"]
        failures = one["failures"] + eight["failures"]
        rows.append(
            [
                name,
                f"{one['p50_ms']:.3f}",
                f"{added:+.3f}",
                f"{eight['throughput']:.0f}",
                f"{share:.0%}",
                failures,
            ]
        )
    worst_added = max(r["one"]["p50_ms"] - anchor["one"]["p50_ms"] for r in runs.values())
    worst_share = min(
        r["eight"]["throughput"] / anchor["eight"]["throughput"] for r in runs.values()
    )
    verdict = "met" if worst_added <= 0.1 and worst_share >= 0.9 else "missed"
    costs = [[what, f"{ms:.3f}"] for what, ms in uncached.items()]
    body = f"""## Sign-in on the scoring path

The serving benchmark's logistic regression, `/invocations`, one row per request,
keep-alive HTTP on 127.0.0.1; 2,000 requests from 1 client, {REQUESTS:,} from 8.
The same server three times in one run: open (the anchor), and with `--auth`
sending a service token or a user's password on every request.

{markdown_table(["credentials", "p50 ms, 1 client", "p50 vs open", "requests/s, 8 clients", "vs open", "failures"], rows)}

Target: at most +0.1 ms p50 and at least 90% of the open server's throughput: **{verdict}**
(worst: {worst_added:+.3f} ms, {worst_share:.0%}).

What a first request (or one after the 5-second cache) pays, in process:

{markdown_table(["check", "median ms"], costs)}
"""
    write_section("auth", body)
    print(body)


if __name__ == "__main__":
    main()
