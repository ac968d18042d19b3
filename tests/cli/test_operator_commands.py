"""What an operator does when a model went wrong: override a gate, retire a version,
pause or delete a monitor, read and change a gate; each audited with its reason."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from tests.cli.test_commands import run_cli as cli

import loopml
from loopml import audit
from loopml.monitoring import service as monitoring
from loopml.registry import service as registry


def log_versions(maes=(0.1, 2.0)):
    """A leaky champion (mae 0.1), then an honest version that cannot beat it."""
    X = pd.DataFrame({"a": np.arange(10.0)})
    for mae in maes:
        loopml.log_model(Ridge().fit(X, X["a"]), "demand", metrics={"mae": mae})


def events(ctx, **where):
    return audit.list_events(ctx.store, **where)


def test_promote_force_overrides_a_failed_gate_with_a_reason_and_is_audited(sqlite_ctx, capsys):
    log_versions()
    loopml.set_gate("demand", beat_champion="mae")
    assert cli(capsys, "promote", "demand", "-v", "1")[0] == 0
    code, _, err = cli(capsys, "promote", "demand", "-v", "2")
    assert code == 1 and "beats champion on mae" in err
    code, _, err = cli(capsys, "promote", "demand", "-v", "2", "--force")
    assert code == 1 and "needs a reason" in err
    code, out, _ = cli(
        capsys, "promote", "demand", "-v", "2", "--force", "--reason", "v1 learned from a row index"
    )
    assert code == 0 and "v1 → v2" in out
    assert registry.resolve(sqlite_ctx.store, "demand", alias="champion").version == 2
    (override,) = events(sqlite_ctx, entity_id="demand", action="gate.override")
    assert override.reason == "v1 learned from a row index"
    assert override.after["gate"]["passed"] is False


def test_an_archived_version_loses_its_aliases_and_is_never_promoted_again(sqlite_ctx, capsys):
    log_versions()
    loopml.set_alias("demand", "champion", 1)
    code, _, err = cli(capsys, "models", "archive", "demand", "-v", "1")
    assert code == 2 and "--reason" in err  # required
    code, out, _ = cli(capsys, "models", "archive", "demand", "-v", "1", "--reason", "leaky")
    assert code == 0 and "archived; aliases removed: champion" in out
    with pytest.raises(loopml.NotFound):
        registry.resolve(sqlite_ctx.store, "demand", alias="champion")
    code, _, err = cli(capsys, "promote", "demand", "-v", "1", "--force", "--reason", "try")
    assert code == 1 and "archived" in err
    with pytest.raises(loopml.LoopmlError, match="archived"):
        loopml.set_alias("demand", "champion", 1)
    assert registry.resolve(sqlite_ctx.store, "demand", version=1).archived
    (archived,) = events(sqlite_ctx, entity_id="demand", action="version.archive")
    assert archived.reason == "leaky" and archived.after["aliases_removed"] == ["champion"]


def test_monitor_disable_enable_and_delete(sqlite_ctx, capsys):
    log_versions(maes=(1.0,))
    spec = loopml.MonitorSpec(
        name="demand-mae", model="demand", kind="performance", metric="mae", threshold=3.0
    )
    monitoring.create_monitor(sqlite_ctx.store, spec, actor="me")
    assert cli(capsys, "monitor", "disable", "demand-mae", "--reason", "sensor swap")[0] == 0
    (monitor,) = monitoring.list_monitors(sqlite_ctx.store)
    assert not monitor.spec.enabled and not monitor.due(pd.Timestamp.now(tz="UTC"))
    assert loopml.run_monitors(force=True).outcomes == {}  # a disabled monitor does not run
    assert cli(capsys, "monitor", "enable", "demand-mae")[0] == 0
    assert monitoring.get_monitor(sqlite_ctx.store, "demand-mae").spec.enabled
    assert cli(capsys, "monitor", "delete", "demand-mae", "--yes", "--reason", "gone")[0] == 0
    assert monitoring.list_monitors(sqlite_ctx.store) == []
    code, _, err = cli(capsys, "monitor", "delete", "demand-mae", "--yes")
    assert code == 1 and "No monitor named 'demand-mae'" in err
    actions = [e.action for e in events(sqlite_ctx, entity_type="monitor")]
    assert {"monitor.disable", "monitor.enable", "monitor.delete"} <= set(actions)


def test_gate_show_and_set(sqlite_ctx, capsys):
    log_versions(maes=(1.0,))
    code, out, _ = cli(capsys, "gate", "show", "demand")
    assert code == 0 and "no gate" in out
    code, out, _ = cli(capsys, "gate", "set", "demand", "-t", "mae<=3", "--beat-champion", "mae")
    assert code == 0
    assert registry.get_gate(sqlite_ctx.store, "demand") == {
        "thresholds": {"mae": "<= 3"},
        "beat_champion": "mae",
    }
    assert cli(capsys, "gate", "set", "demand", "--margin", "0.05")[0] == 0
    code, out, _ = cli(capsys, "gate", "show", "demand", "--json")
    assert '"margin": 0.05' in out and '"beat_champion": "mae"' in out
    code, _, err = cli(capsys, "gate", "set", "demand", "-t", "mae=3")
    assert code == 1 and "no comparison" in err
    code, _, err = cli(capsys, "gate", "set", "demand", "-t", "mae<=three")
    assert code == 1 and "must look like '<= 3.0'" in err
