"""``loopml explain NAME``: why a model answers rows as it does, or what a version relies on.

- ``--input rows.csv``: each row explained by its segment's champion (routed as
  the server routes it): base value, output and the largest contributions;
- ``--family``: which features matter in most segments, which only in some;
- ``--version V --data train.csv``: the version's global explanation (mean
  |contribution| per feature on a sample), computed, kept with it and shown.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from loopml.cli.output import console, table
from loopml.errors import InvalidInput


def explain(
    name: str = typer.Argument(..., help="Registered model to explain."),
    input: Path = typer.Option(None, "--input", "-i", help="Rows to explain: .csv or .parquet."),
    version: int = typer.Option(None, "--version", "-v", help="Version to explain globally."),
    data: Path = typer.Option(None, "--data", help="Rows for a global explanation (--version)."),
    sample_rows: int = typer.Option(10_000, min=1, help="Rows sampled for --version."),
    output: Path = typer.Option(
        None, "--output", "-o", help="Write the rows' explanations (JSON)."
    ),
    top: int = typer.Option(3, min=1, help="Contributions shown per row."),
    family: bool = typer.Option(
        False, "--family", help="Which features matter across the segments of NAME."
    ),
) -> None:
    """Explain rows with the champion (--input), or a version on a sample (--version, --data)."""
    from loopml.data.frames import read_file

    if family:
        _family(name)
        return
    if (input is None) == (version is None):
        raise InvalidInput(
            "Give either --input (rows to explain) or --version (a version to explain globally).",
            hint="loopml explain demand --input rows.csv, or --version 3 --data train.csv.",
        )
    if version is not None:
        if data is None:
            raise InvalidInput(
                "A global explanation needs rows: --data train.csv.",
                hint="Pass the training rows (or a sample of them) with --data.",
            )
        _global(name, version, read_file(data).to_pandas(), sample_rows)
        return
    _rows(name, read_file(input).to_pandas(), output, top)


def _rows(name: str, frame, output: Path | None, top: int) -> None:
    from loopml._context import get_context
    from loopml.serving.explaining import explain_routed
    from loopml.serving.pool import ModelPool
    from loopml.serving.rows import Rows
    from loopml.serving.source import RegistrySource
    from loopml.serving.traffic import ServingConfig

    context = get_context()
    pool = ModelPool(
        RegistrySource(context.store, context.artifacts),
        executor=None,
        max_rows=1,
        max_wait=0,
        miss_ttl=3600,
    )
    deployment = ServingConfig.load(context.settings.serving_config).for_model(name)
    rows = Rows({c: frame[c].tolist() for c in frame.columns}, len(frame))
    answers = explain_routed(pool, name, deployment, rows)
    if output is not None:
        output.write_text(json.dumps({"model": name, "explanations": answers}, indent=1))
    shown = [
        (i, a["version"], a["segment"] or "—", a["base_value"], a["output"], _largest(a, top))
        for i, a in enumerate(answers[:50])
    ]
    console.print(
        table(
            f"{name}: {answers[0]['explains']} ({answers[0]['method']})",
            ("row", "version", "segment", "base value", "output", "largest contributions"),
            shown,
        )
    )
    if len(answers) > 50:
        console.print(f"… {len(answers) - 50} more rows" + (f" in {output}" if output else ""))


def _global(name: str, version: int, frame, sample_rows: int) -> None:
    from loopml.explain.fluent import explain_version
    from loopml.explain.importance import direction

    report = explain_version(name, version, frame, sample_rows=sample_rows)
    rows = [
        (feature, value, direction(report["summary"][feature]["direction"]))
        for feature, value in report["importance"].items()
    ]
    title = (
        f"{name} v{version}: mean |contribution| on {report['rows']:,} rows ({report['method']})"
    )
    console.print(table(title, ("feature", "mean |contribution|", "effect"), rows))


def _family(name: str) -> None:
    from loopml.explain.fluent import explain_family

    rows = [
        (r["feature"], f"{r['top_in_segments']} of {r['segments']}", r["mean_importance"])
        for r in explain_family(name)
    ]
    if not rows:
        raise InvalidInput(
            f"No segment of {name!r} has an explanation yet.",
            hint=f"loopml explain {name} --version V --data rows.csv",
        )
    console.print(
        table(f"{name}: features across segments", ("feature", "top 3 in", "mean importance"), rows)
    )


def _largest(answer: dict, top: int) -> str:
    ranked = sorted(answer["contributions"].items(), key=lambda kv: -abs(kv[1]))[:top]
    return ", ".join(f"{feature} {value:+.4g}" for feature, value in ranked)
