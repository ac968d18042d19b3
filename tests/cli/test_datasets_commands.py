import numpy as np
import pandas as pd
from typer.testing import CliRunner

import loopml
from loopml.cli import app

runner = CliRunner()


def frame(seed=0, shift=0.0, n=500):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"price": rng.normal(10 + shift, 2, n), "store": rng.choice(["a", "b"], n)})


def invoke(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_list_show_profile(ctx, tmp_path):
    assert "No datasets yet" in invoke("datasets", "list").output
    frame().to_parquet(tmp_path / "sales.parquet", index=False)
    logged = invoke("datasets", "log", str(tmp_path / "sales.parquet"), "sales")
    assert "sales@1: 500 rows × 2 columns" in logged.output
    assert "sales" in invoke("datasets", "list").output
    shown = invoke("datasets", "show", "sales")
    assert "price" in shown.output and "Versions" in shown.output
    profiled = invoke("datasets", "profile", "sales@1")
    assert "store" in profiled.output and "2: " in profiled.output
    as_json = invoke("datasets", "profile", "sales", "--column", "price", "--json")
    assert '"histogram"' in as_json.output


def test_diff_names_moved_columns_and_schema_changes(ctx):
    loopml.log_dataset(frame(), "sales")
    loopml.log_dataset(frame(seed=1, shift=5).assign(extra=1), "sales")
    output = invoke("datasets", "diff", "sales@1", "sales@2").output
    assert "added: extra" in output
    assert "1 of 2 columns moved" in output
    assert "500 → 500" in output


def test_validate_with_stored_and_file_rules(ctx, tmp_path):
    loopml.log_dataset(frame(), "sales")
    inferred = invoke("datasets", "rules", "sales", "--infer", "latest")
    assert "inferred from sales" in inferred.output
    assert invoke("datasets", "validate", "sales").exit_code == 0
    bad = frame(seed=2).assign(store="zz")
    bad.to_csv(tmp_path / "new.csv", index=False)
    result = invoke("datasets", "validate", str(tmp_path / "new.csv"), "--dataset", "sales")
    assert result.exit_code == 1 and "category" in result.output
    invoke("datasets", "rules", "sales", "--export", str(tmp_path / "rules.yaml"))
    text = (tmp_path / "rules.yaml").read_text().replace("- b\n", "- b\n    - zz\n")
    (tmp_path / "rules.yaml").write_text(text)
    invoke("datasets", "rules", "sales", "--import", str(tmp_path / "rules.yaml"))
    assert (
        invoke("datasets", "validate", str(tmp_path / "new.csv"), "--dataset", "sales").exit_code
        == 0
    )
    assert (
        invoke(
            "datasets",
            "validate",
            str(tmp_path / "new.csv"),
            "--rules",
            str(tmp_path / "rules.yaml"),
        ).exit_code
        == 0
    )


def test_lineage_commands(ctx):
    with loopml.start_run() as run:
        loopml.log_dataset(frame(), "sales")
    assert run.id in invoke("datasets", "runs", "sales").output
    assert "sales@1" in invoke("datasets", "inputs", run.id).output


def test_errors_print_headline_and_fix(ctx, capsys):
    import pytest

    from loopml.cli import main

    with pytest.raises(SystemExit):
        main(["datasets", "show", "nope"])
    err = capsys.readouterr().err
    assert "No dataset named 'nope'" in err and "Fix:" in err
