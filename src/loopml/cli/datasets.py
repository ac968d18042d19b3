"""``loopml datasets``: versions, profiles, diffs, validation rules and lineage."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from loopml.cli.output import COLUMNS, JSON, console, print_list, show, size, table, yes_no

app = typer.Typer(help="Dataset versions, profiles, diffs and validation.", no_args_is_help=True)

REF = "NAME, NAME@VERSION or a version id"


@app.command("list")
def list_(columns: str = COLUMNS, as_json: bool = JSON) -> None:
    """Datasets with their number of versions and whether they have rules."""
    from loopml._context import get_context
    from loopml.data import service

    found = service.list_datasets(get_context().store)
    rows = [
        {
            "dataset": d.name,
            "versions": d.versions,
            "latest": d.latest,
            "rules": d.has_rules,
            "created": d.created_at,
        }
        for d in found
    ]
    print_list(
        rows,
        default=["dataset", "versions", "latest", "rules", "created"],
        columns=columns,
        as_json=as_json,
        cells={"rules": yes_no},
        empty="No datasets yet. Log one with loopml.log_dataset(data, 'name').",
    )


@app.command("log")
def log(
    path: Path = typer.Argument(..., help="A Parquet or CSV file."),
    name: str = typer.Argument(..., help="The dataset's name."),
) -> None:
    """Store a file as a new version of a dataset (or find the version it already is)."""
    from loopml._context import get_context
    from loopml.data import service

    context = get_context()
    version = service.log_version(
        context.store, context.artifacts, path, name, actor=context.settings.actor
    )
    console.print(
        f"{version.ref}: {version.num_rows} rows × {version.num_columns} columns, "
        f"{size(version.size)}, id {version.id}"
    )


@app.command("show")
def show_version(ref: str = typer.Argument(..., help=REF)) -> None:
    """A version's schema, row count and storage; with a bare name, also its versions."""
    from loopml._context import get_context
    from loopml.data import service

    store = get_context().store
    version = service.resolve_version(store, ref)
    console.print(
        f"[bold]{version.ref}[/]  id {version.id}  {version.num_rows} rows × "
        f"{version.num_columns} columns  {size(version.size)}\n"
        f"digest {version.digest}\ncreated {show(version.created_at)} by {version.created_by} "
        f"from {version.source}; run {version.run_id or '—'}"
    )
    console.print(
        table("Schema", ["column", "type"], [(c["name"], c["type"]) for c in version.schema[:200]])
    )
    if "@" not in ref and ref == version.name:
        rows = [
            (v.version, v.num_rows, v.num_columns, size(v.size), v.run_id, v.created_at)
            for v in service.list_versions(store, version.name)[:50]
        ]
        console.print(
            table("Versions", ["version", "rows", "columns", "size", "run", "created"], rows)
        )


@app.command("profile")
def profile(
    ref: str = typer.Argument(..., help=REF),
    column: list[str] = typer.Option(None, "--column", "-c", help="Only these columns."),
    as_json: bool = typer.Option(False, "--json", help="Print the profile as JSON."),
) -> None:
    """Per column: null rate, range, mean and spread, or distinct and top values."""
    from loopml._context import get_context
    from loopml.data import service
    from loopml.errors import InvalidInput

    version = service.resolve_version(get_context().store, ref)
    columns = version.profile["columns"]
    names = column or list(columns)
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise InvalidInput(
            f"{version.ref} has no column {unknown[0]!r}.",
            hint=f"Columns: {', '.join(list(columns)[:30])}.",
        )
    if as_json:
        console.print_json(json.dumps({n: columns[n] for n in names}))
        return
    rows = [_profile_row(name, columns[name]) for name in names]
    console.print(
        table(
            f"{version.ref}: {version.num_rows} rows",
            ["column", "type", "null %", "min", "median", "max", "mean", "std", "distinct / top"],
            rows,
        )
    )


def _profile_row(name: str, entry: dict) -> tuple:
    top = ", ".join(f"{t['value']} ({t['count']})" for t in entry.get("top", [])[:3])
    distinct = f"{entry['distinct']}: {top}" if "distinct" in entry else None
    median = entry.get("quantiles", {}).get("0.5")
    return (
        name,
        entry["type"],
        f"{entry['null_rate']:.1%}",
        entry.get("min"),
        median,
        entry.get("max"),
        entry.get("mean"),
        entry.get("std"),
        distinct,
    )


@app.command("diff")
def diff(
    old: str = typer.Argument(..., help=REF),
    new: str = typer.Argument(..., help=REF),
    as_json: bool = typer.Option(False, "--json", help="Print the diff as JSON."),
) -> None:
    """Schema changes, row counts and the columns whose distribution moved."""
    from loopml._context import get_context
    from loopml.data import service
    from loopml.monitoring.dataset_diff import diff_versions

    context = get_context()
    result = diff_versions(
        context.artifacts,
        service.resolve_version(context.store, old),
        service.resolve_version(context.store, new),
    )
    if as_json:
        console.print_json(json.dumps(result.to_dict()))
        return
    console.print(
        f"[bold]{result.old.ref} → {result.new.ref}[/]  rows {result.old.num_rows} → "
        f"{result.new.num_rows}" + ("  (same content)" if result.same_content else "")
    )
    for label, names in (("added", result.added), ("removed", result.removed)):
        if names:
            console.print(f"{label}: {', '.join(names)}")
    for name, before, after in result.retyped:
        console.print(f"retyped: {name} {before} → {after}")
    rows = [
        (c.name, c.method, c.statistic, c.threshold, "[red]moved[/]" if c.drifted else "same")
        for c in result.drift.columns
    ]
    console.print(table("Distributions", ["column", "method", "statistic", "threshold", ""], rows))
    console.print(f"{len(result.moved)} of {len(result.drift.columns)} columns moved.")


@app.command("validate")
def validate(
    data: str = typer.Argument(..., help=f"A Parquet or CSV file, or {REF}."),
    rules_file: Path = typer.Option(
        None, "--rules", help="Rules as YAML (default: the dataset's stored rules)."
    ),
    dataset: str = typer.Option(None, "--dataset", help="Use this dataset's stored rules."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Check data against validation rules; exits 1 when a rule is broken."""
    from loopml._context import get_context
    from loopml.data import service
    from loopml.data.rules import Rules
    from loopml.data.validation import validate as check
    from loopml.errors import InvalidInput

    context = get_context()
    is_file = Path(data).is_file()
    version = None if is_file else service.resolve_version(context.store, data)
    if rules_file is not None:
        rules = Rules.from_yaml(_read(rules_file))
    elif dataset is not None or version is not None:
        rules = service.get_rules(context.store, dataset or version.name)
    else:
        raise InvalidInput(
            "No rules to validate the file against.",
            hint="Pass --rules rules.yaml or --dataset NAME (a dataset with stored rules).",
        )
    table_ = Path(data) if version is None else service.load_table(context.artifacts, version)
    report = check(table_, rules)
    if as_json:
        console.print_json(json.dumps(report.to_dict()))
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(report) -> None:
    if not report.violations:
        console.print(f"[green]ok[/]: {report.rows} rows, no violations.")
        return
    rows = [
        (
            v.severity,
            v.column or "(table)",
            v.check,
            v.count,
            ", ".join(map(str, v.examples[:3])),
            v.message,
        )
        for v in report.violations
    ]
    console.print(
        table(None, ["severity", "column", "check", "count", "examples", "message"], rows)
    )
    verdict = "[green]ok[/]" if report.ok else "[bold red]failed[/]"
    console.print(
        f"{verdict}: {len(report.errors)} errors, {len(report.warnings)} warnings in {report.rows} rows."
    )


@app.command("rules")
def rules(
    name: str = typer.Argument(..., help="The dataset."),
    infer: str = typer.Option(
        None, "--infer", help="Infer new rules from this version (e.g. 3 or latest)."
    ),
    target: str = typer.Option(
        None, "--target", help="With --infer: the target column (class balance, leakage)."
    ),
    tolerance: float = typer.Option(
        None, "--tolerance", help="With --infer: widen ranges by this share of their span."
    ),
    export: Path = typer.Option(None, "--export", help="Write the rules to this YAML file."),
    import_: Path = typer.Option(None, "--import", help="Replace the rules with this YAML file."),
    edit: bool = typer.Option(False, "--edit", help="Edit the rules in $EDITOR."),
) -> None:
    """Show, infer, export, import or edit a dataset's validation rules (YAML)."""
    from loopml._context import get_context
    from loopml.data import service
    from loopml.data.rules import Rules

    context = get_context()
    store, actor = context.store, context.settings.actor
    if infer is not None:
        ref = name if infer == "latest" else f"{name}@{infer}"
        service.infer_and_store_rules(
            store, context.artifacts, ref, target=target, tolerance=tolerance, actor=actor
        )
        console.print(f"Rules of {name!r} inferred from {ref}.")
    if import_ is not None:
        service.set_rules(
            store,
            name,
            Rules.from_yaml(_read(import_)),
            actor=actor,
            reason=f"imported from {import_.name}",
        )
        console.print(f"Rules of {name!r} replaced from {import_}.")
    current = service.get_rules(store, name)
    if edit:
        edited = typer.edit(current.to_yaml(), extension=".yaml")
        if edited is not None and edited != current.to_yaml():
            current = Rules.from_yaml(edited)
            service.set_rules(store, name, current, actor=actor, reason="edited")
            console.print(f"Rules of {name!r} saved.")
    if export is not None:
        export.write_text(current.to_yaml())
        console.print(f"Rules of {name!r} written to {export}.")
    elif infer is None and import_ is None and not edit:
        console.print(current.to_yaml(), highlight=False, markup=False)


@app.command("runs")
def runs(ref: str = typer.Argument(..., help="NAME (any version) or NAME@VERSION")) -> None:
    """The runs that used a dataset."""
    from loopml._context import get_context
    from loopml.data import service

    name, _, version = ref.partition("@")
    found = service.runs_of_dataset(
        get_context().store, name, int(version) if version.isdigit() else None
    )
    rows = [(r.id, r.name, r.experiment, r.status.value, r.start_time) for r in found]
    console.print(
        table(f"Runs that used {ref}", ["run", "name", "experiment", "status", "started"], rows)
    )


@app.command("inputs")
def inputs(run_id: str = typer.Argument(..., help="A run id.")) -> None:
    """The dataset versions a run used."""
    from loopml._context import get_context
    from loopml.data import service

    found = service.datasets_of_run(get_context().store, run_id)
    rows = [(v.ref, v.id, v.num_rows, v.num_columns, v.digest[:12]) for v in found]
    console.print(
        table(f"Datasets of run {run_id}", ["dataset", "id", "rows", "columns", "digest"], rows)
    )


def _read(path: Path) -> str:
    from loopml.errors import InvalidInput

    if not path.is_file():
        raise InvalidInput(f"No file at {str(path)!r}.", hint="Check the path.")
    return path.read_text()
