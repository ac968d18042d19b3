"""``loopml import mlflow``: copy an MLflow store into loopml, idempotently.

MLflow's own client reads the store (``mlflow_exporter.py``, run by a Python
that has MLflow), so SQLite and PostgreSQL tracking URIs, ``mlruns/`` folders
and even a running ``mlflow server`` all work, whatever MLflow schema version
they have. What arrives is written through loopml's tracking and registry
services: runs keep their MLflow ids and times, metrics their full history.

Idempotent: a run whose id loopml already has is skipped, and so is a model
version already imported (its run remembers it in a tag), so a second import
copies nothing and a later one only what is new.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from loopml._context import Context
from loopml.errors import InvalidInput, NotFound
from loopml.importers import mlflow_model
from loopml.registry import service as registry
from loopml.tracking import service as tracking
from loopml.tracking.entities import RunStatus
from loopml.tracking.environment import Environment
from loopml.tracking.fluent import DEFAULT_EXPERIMENT
from loopml.tracking.resources import ResourceUsage

EXPORTER = Path(__file__).with_name("mlflow_exporter.py")
IMPORTED_TAG = "loopml.mlflow.imported."  # + "<model>/<version>" -> the loopml version
MLFLOW_STATUSES = {s.value.upper(): s for s in RunStatus}


@dataclass
class Summary:
    """What an import copied and what it skipped, with the reasons."""

    copied: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)  # (kind, reason) -> count
    warnings: list[str] = field(default_factory=list)

    def skip(self, kind: str, reason: str) -> None:
        self.skipped[kind, reason] += 1


def import_mlflow(
    context: Context,
    uri: str,
    *,
    python: str,
    registry_uri: str | None = None,
    progress: Callable[[str, int, int], None] = lambda kind, done, total: None,
) -> Summary:
    """Copy the MLflow store at ``uri`` into ``context``'s store and artifacts."""
    summary = Summary()
    copier = _Copier(context, summary)
    with tempfile.TemporaryDirectory(prefix="loopml-mlflow-") as staging:
        total = done = 0
        for item in _export(python, uri, staging, registry_uri):
            kind = item.pop("kind")
            if kind == "count":
                total = item["runs"]
            elif kind == "warning":
                summary.warnings.append(item["message"])
            else:
                getattr(copier, kind)(item)
                if kind == "run":
                    done += 1
                    progress("runs", done, total)
    return summary


def _export(python: str, uri: str, staging: str, registry_uri: str | None) -> Iterator[dict]:
    command = [python, str(EXPORTER), uri, staging, *([registry_uri] if registry_uri else [])]
    try:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    except OSError as error:
        raise NotFound(
            f"Cannot run {python!r} to read the MLflow store ({error}).",
            hint="Pass --mlflow-python with the Python of an environment that has mlflow installed.",
        ) from None
    with process:
        for line in process.stdout:
            if line.startswith("{"):
                yield json.loads(line)
        error = process.stderr.read()
    if process.returncode != 0:
        last = error.strip().splitlines()[-1] if error.strip() else "no output"
        raise InvalidInput(
            f"MLflow could not read the store {uri!r}: {last}",
            hint="Check the URI (sqlite:///path/mlflow.db, postgresql://…, a mlruns/ folder) and "
            "that --mlflow-python has mlflow (and the database driver) installed.",
        )


class _Copier:
    """Writes each exported item through loopml's services."""

    def __init__(self, context: Context, summary: Summary) -> None:
        self.context, self.store, self.summary = context, context.store, summary
        self.project, self.actor = context.settings.project, context.settings.actor
        self.experiments: dict[str, str] = {}  # MLflow id -> loopml name
        self.versions: dict[tuple[str, int], int] = {}  # MLflow (model, version) -> loopml

    def experiment(self, item: dict[str, Any]) -> None:
        name = DEFAULT_EXPERIMENT if item["name"] == "Default" else item["name"]
        self.experiments[item["id"]] = name
        known = {e.name for e in tracking.list_experiments(self.store, self.project)}
        tracking.get_or_create_experiment(self.store, self.project, name, actor=self.actor)
        if name in known:
            self.summary.skip("experiments", "already in loopml")
        else:
            self.summary.copied["experiments"] += 1

    def run(self, item: dict[str, Any]) -> None:
        try:
            tracking.get_run(self.store, item["run_id"])
        except NotFound:
            pass
        else:
            return self.summary.skip("runs", "already imported")
        self._copy_run(item)
        self.summary.copied["runs"] += 1
        self.summary.copied["metric points"] += sum(len(h) for h in item["metrics"].values())
        self.summary.copied["artifacts"] += len(item["artifacts"])

    def _copy_run(self, item: dict[str, Any]) -> None:
        tags = dict(item["tags"])
        if item["inputs"]:
            tags["loopml.mlflow.inputs"] = json.dumps(item["inputs"], sort_keys=True)
        run_id = tracking.create_run(
            self.store,
            project=self.project,
            experiment=self.experiments[item["experiment_id"]],
            name=item["name"],
            tags=tags,
            parent_run_id=tags.get("mlflow.parentRunId"),
            environment=Environment(tags.get("mlflow.source.git.commit"), None, "mlflow", "", ""),
            actor=item["user"] or self.actor,
            run_id=item["run_id"],
            start_time=from_millis(item["start_time"]),
        )
        tracking.log_params(self.store, run_id, item["params"])
        points = [
            (key, value, step, timestamp / 1000)
            for key, history in item["metrics"].items()
            for step, value, timestamp in history
        ]
        tracking.write_metrics(self.store, run_id, points)
        for path, local in item["artifacts"]:
            stored = self.context.artifacts.put_file(local)
            tracking.record_artifact(self.store, run_id, path, stored.digest, stored.size)
        status = MLFLOW_STATUSES.get(item["status"], RunStatus.FINISHED)
        if status is not RunStatus.RUNNING:
            start, end = from_millis(item["start_time"]), from_millis(item["end_time"])
            wall = (end - start).total_seconds() if start and end else None
            tracking.end_run(
                self.store, run_id, status, ResourceUsage(wall, None, None), end_time=end
            )

    def model(self, item: dict[str, Any]) -> None:
        self.done({})
        self.pending_aliases = item["aliases"]
        self.model_name = item["name"]
        try:
            registry.get_model(self.store, item["name"])
            self.summary.skip("registered models", "already in loopml")
        except NotFound:
            registry.create_model(
                self.store, item["name"], description=item["description"], actor=self.actor
            )
            self.summary.copied["registered models"] += 1

    def version(self, item: dict[str, Any]) -> None:
        key = f"{IMPORTED_TAG}{item['name']}/{item['version']}"
        run_id = item["run_id"]
        if not run_id:
            return self.summary.skip("model versions", "no run to attach it to")
        try:
            run = tracking.get_run(self.store, run_id)
        except NotFound:
            return self.summary.skip("model versions", "its run was not imported")
        if key in run.tags:
            self.versions[item["name"], item["version"]] = int(run.tags[key])
            self._aliases(item["name"])
            return self.summary.skip("model versions", "already imported")
        files = dict(item["files"])
        for path, local in files.items():  # the files stay with the run in any case
            stored = self.context.artifacts.put_file(local)
            tracking.record_artifact(
                self.store,
                run_id,
                f"mlflow-models/{item['name']}-v{item['version']}/{path}",
                stored.digest,
                stored.size,
            )
        try:
            package = mlflow_model.to_package(
                lambda name: _read(files, name), f"run {run_id} under mlflow-models/"
            )
        except mlflow_model.NotConvertible as error:
            self._aliases(item["name"])
            return self.summary.skip("model versions", error.problem)
        stored = self.context.artifacts.put_bytes(package.to_bytes())
        version = registry.register(
            self.store,
            name=item["name"],
            flavor=package.flavor,
            artifact_digest=stored.digest,
            artifact_size=stored.size,
            signature=package.signature,
            segment=None,
            run_id=run_id,
            metrics=run.metrics,
            description=item["description"] or None,
            actor=self.actor,
        )
        tracking.set_tags(self.store, run_id, {key: str(version.version)})
        self.versions[item["name"], item["version"]] = version.version
        self.summary.copied["model versions"] += 1
        self._aliases(item["name"])

    def done(self, _item: dict[str, Any]) -> None:
        """The previous model's aliases whose versions never arrived are skipped."""
        for _alias in getattr(self, "pending_aliases", {}):
            self.summary.skip("aliases", "their version was not imported")
        self.pending_aliases = {}

    def _aliases(self, name: str) -> None:
        """Move each alias once the version it names has arrived."""
        if getattr(self, "model_name", None) != name:
            return
        for alias, mlflow_version in list(self.pending_aliases.items()):
            target = self.versions.get((name, int(mlflow_version)))
            if target is None:
                continue
            del self.pending_aliases[alias]
            try:
                current = registry.resolve(self.store, name, alias=alias).version
            except NotFound:
                current = None
            if current == target:
                self.summary.skip("aliases", "already in loopml")
                continue
            registry.set_alias(
                self.store,
                name,
                alias,
                target,
                actor=self.actor,
                reason="imported from MLflow",
                kind="import",
            )
            self.summary.copied["aliases"] += 1


def from_millis(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, tz=timezone.utc)


def _read(files: dict[str, str], name: str) -> bytes:
    if name not in files:
        raise mlflow_model.NotConvertible(f"it has no file {name!r}", "its run")
    return Path(files[name]).read_bytes()
