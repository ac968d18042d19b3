import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

import loopml
from loopml.cli import main
from loopml.registry import promotion


def run(capsys, *args):
    try:
        main(list(args))
    except SystemExit as exit_:
        assert exit_.code in (0, None), capsys.readouterr()
    return capsys.readouterr().out


def _log(n=2):
    X = pd.DataFrame({"a": np.arange(10.0)})
    for _ in range(n):
        loopml.log_model(
            Ridge().fit(X, X["a"]), "demand", metrics={"mae": 1.0}, segment={"store": 1}
        )


def test_models_list_show_versions(sqlite_ctx, capsys):
    _log()
    assert "demand" in run(capsys, "models", "list")
    assert "store=1" in run(capsys, "models", "show", "demand")
    out = run(capsys, "models", "versions", "demand", "--segment", "store=1")
    assert "mae=1" in out and "sklearn" in out


def test_promote_approvals_and_audit(sqlite_ctx, capsys):
    _log()
    loopml.set_gate("demand", require_approval=True)
    out = run(capsys, "promote", "demand", "--version", "1", "--reason", "first")
    assert "Approval request 1" in out
    assert "first" in run(capsys, "approvals", "list")
    with pytest.raises(SystemExit):  # four eyes: who asked cannot approve
        main(["approvals", "approve", "1", "--reason", "mine"])
    assert "cannot approve it too" in capsys.readouterr().err
    promotion.promote(sqlite_ctx.store, "demand", 2, actor="alice", reason="second")
    assert "approved" in run(capsys, "approvals", "approve", "2", "--reason", "ok")
    assert "v2, put there by tester" in run(
        capsys, "audit", "--model", "demand", "--at", "2100-01-01", "--segment", "store=1"
    )
    assert "alias.approve" in run(capsys, "audit", "--model", "demand")


def test_promote_failure_prints_the_failed_check(sqlite_ctx, capsys):
    _log()
    loopml.set_gate("demand", thresholds={"mae": "<= 0.5"})
    try:
        main(["promote", "demand", "--version", "1"])
    except SystemExit as exit_:
        assert exit_.code == 1
    err = capsys.readouterr().err
    assert "mae <= 0.5: mae = 1" in err and "Fix:" in err
