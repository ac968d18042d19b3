"""Secrets are hidden in run answers and in the server's log lines."""

from __future__ import annotations

import io
import logging

import pytest
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression

import loopml
from loopml.redaction import redact_logs, redact_mapping, redact_text

SLACK = "https://hooks.slack.com/services/T0001/B0002/abcdefghijklmnopqrstuvwx"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "postgresql+psycopg://loopml:hunter2@db:5432/ml",
            "postgresql+psycopg://loopml:***@db:5432/ml",
        ),
        (
            "https://api.example.com/x?token=abc123&page=2",
            "https://api.example.com/x?token=***&page=2",
        ),
        ("api_key: sk-live-42", "api_key: ***"),
        ('{"password": "pa55 word", "user": "ml"}', '{"password": "***", "user": "ml"}'),
        ("password='pa55 word' user=ml", "password='***' user=ml"),
        ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI", "AWS_SECRET_ACCESS_KEY=***"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9", "Authorization: Bearer ***"),
        ("sent lml_Q2xhdWRlIHdhcyBoZXJlIQ", "sent lml_***"),
        (SLACK, "https://hooks.slack.com/services/***"),
        (
            "https://acme.webhook.office.com/webhookb2/1a2b@3c/IncomingWebhook/4d/5e",
            "https://acme.webhook.office.com/webhookb2/***",
        ),
        ("https://discord.com/api/webhooks/123/abc-def", "https://discord.com/api/webhooks/***"),
        ("monkey=3 keyboard=us sort by key", "monkey=3 keyboard=us sort by key"),
        ("https://example.com/models/demand", "https://example.com/models/demand"),
    ],
)
def test_secret_parts_of_text_are_replaced(text, shown):
    assert redact_text(text) == shown


def test_a_secret_named_value_is_hidden_whole_and_others_keep_their_shape():
    params = {"alpha": "0.1", "db_password": "x y z", "apiKey": "k", "source": SLACK, "n": 3}
    assert redact_mapping(params) == {
        "alpha": "0.1",
        "db_password": "***",
        "apiKey": "***",
        "source": "https://hooks.slack.com/services/***",
        "n": 3,
    }
    row = {"run_id": "r", "params.token": "t", "metrics.token": 1.0}
    assert redact_mapping(row, prefix="params.") == {
        "run_id": "r",
        "params.token": "***",
        "metrics.token": 1.0,
    }


def test_run_answers_hide_secret_params_and_traceback_parts(ctx, client):
    X, y = load_wine(return_X_y=True, as_frame=True)
    with pytest.raises(ConnectionError), loopml.start_run(experiment="wine") as run:
        loopml.log_params({"C": 0.5, "warehouse_password": "s3cret-pw"})
        loopml.set_tag("source", "s3://bucket/wine.csv?token=abc123")
        loopml.log_metric("accuracy", LogisticRegression(max_iter=5000).fit(X, y).score(X, y))
        raise ConnectionError("cannot reach postgresql://ml:s3cret-pw@warehouse/wine")
    answer = client.get(f"/api/v1/runs/{run.id}").json()
    assert answer["params"] == {"C": "0.5", "warehouse_password": "***"}
    assert answer["tags"]["source"] == "s3://bucket/wine.csv?token=***"
    assert "postgresql://ml:***@warehouse/wine" in answer["error"]
    assert "s3cret" not in str(answer) and answer["metrics"]["accuracy"] > 0.9
    listed = client.get("/api/v1/runs", params={"experiment": "wine"}).json()
    assert listed[0]["params.warehouse_password"] == "***" and "s3cret" not in str(listed)
    assert loopml.get_run(run.id).params["warehouse_password"] == "s3cret-pw"


def test_log_lines_and_tracebacks_are_redacted_by_the_servers_handlers():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        redact_logs()
        log = logging.getLogger("loopml.monitoring.webhook")
        log.warning("alert webhook %s failed (attempt %d/%d)", SLACK, 1, 3)
        try:
            raise RuntimeError("login failed for https://admin:hunter2@erp.example.com")
        except RuntimeError:
            log.exception("request 42 failed")
    finally:
        root.removeHandler(handler)
    written = stream.getvalue()
    assert "hooks.slack.com/services/*** failed (attempt 1/3)" in written
    assert "https://admin:***@erp.example.com" in written and "Traceback" in written
    assert "hunter2" not in written and "B0002" not in written
