"""A participant's side outside the rounds: join with its own data, evaluate, approve.

Everything a participant sends the coordinator is a small JSON document in the
federation's exchange folder: its acceptance (a fingerprint), its evaluation
(numbers on its own holdout) and its decision. The global model comes back as
coefficients, and each participant registers and promotes it in its own
registry, through its own gate, under its own alias.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loopml._context import get_context
from loopml.data import service as data_service
from loopml.errors import InvalidInput, NotFound
from loopml.federated import linear, local, secure, segments, service, trees
from loopml.federated.fingerprint import check_signature, fingerprint

GLOBAL_FILE = "global.json"
GATE_FILE = "gate.json"


def join(invitation: str | Path, dataset: str):
    """Check ``dataset`` against the invitation's signature, record the membership, accept."""
    context = get_context()
    path = Path(invitation)
    spec = read(path, "invitation")
    version = data_service.resolve_version(context.store, dataset)
    check_signature(version.schema, spec["features"], spec["target"], who=spec["member"])
    frame = data_service.load_table(context.artifacts, version).to_pandas()
    options = spec.get("options", {})
    local.target(frame[spec["target"]], spec["model_family"], options, spec["member"])
    found = fingerprint(version)
    if options.get("segment_by"):  # the segments' keys, never their rows or counts
        found["segments"] = segments.of(frame, options["segment_by"], spec["member"])
    home = str(context.settings.home_path.resolve())
    federation = service.join(
        context.store,
        spec,
        dataset=version.ref,
        fingerprint=found,
        home=home,
        exchange=str(path.parent),
        actor=context.settings.actor,
    )
    local.save_site(context.settings, federation.name)
    if options.get("secure_aggregation"):
        secure.keep(spec, local.folder(home, federation.name))
    acceptance = {
        "federation": federation.name,
        "member": spec["member"],
        "fingerprint": found,
        "home": home,
    }
    write(path.parent / f"{spec['member']}.acceptance.json", acceptance)
    return federation


def evaluate(name: str) -> dict[str, Any]:
    """The global model and this participant's champion, on its own holdout (numbers only)."""
    context = get_context()
    federation, me = _membership(name)
    exchange = Path(exchange_of(federation))
    model = _unsegmented(read(exchange / GLOBAL_FILE, "global model"), name)
    data = local.load(context.store, context.artifacts, federation, me)
    candidate = _metrics(estimator_of(model, federation.feature_names), data, federation)
    champion = _champion_metrics(federation, data)
    report = {
        "member": me.name,
        "coordinator_version": model["version"],
        "candidate": candidate,
        "champion": champion,
        "holdout_rows": len(data.y_holdout),
    }
    write(exchange / f"{me.name}.evaluation.json", report)
    return report


def approve(name: str, *, alias: str = "champion", reason: str | None = None):
    """Register the global model in this participant's registry and promote it under ``alias``.

    Refused unless the coordinator's gate across all participants passed; the
    promotion then goes through this registry's own gate and is audited here.
    """
    from loopml.registry import fluent as registry

    context = get_context()
    federation, me = _membership(name)
    exchange = Path(exchange_of(federation))
    gate = read(exchange / GATE_FILE, "gate report")
    if not gate.get("passed"):
        raise InvalidInput(
            f"The federation's gate did not pass: {gate.get('reason')}.",
            hint="Do not deploy this global model; train again or change the margin.",
        )
    model = _unsegmented(read(exchange / GLOBAL_FILE, "global model"), name)
    evaluation = read(exchange / f"{me.name}.evaluation.json", "evaluation")
    from loopml.tracking import fluent as tracking

    # The version's run says where the model came from, and whether it was only ever
    # added up as ciphertexts (then the coordinator registered none: it could not read it).
    encrypted = "ckks" in model
    origin = "decrypted here" if encrypted else f"v{model['version']} of its coordinator"
    with tracking.start_run(name=f"federation {name}") as run:
        run.set_tags(
            {
                "loopml.federation": name,
                "loopml.federation.secure_aggregation": str(encrypted).lower(),
            }
        )
        version = registry.log_model(
            estimator_of(model, model["features"]),
            _local_model(federation),
            signature=None,
            metrics=evaluation["candidate"],
            description=f"federation {name}: global model {origin}",
        )
    moved = registry.promote(
        version.name,
        version.version,
        alias=alias,
        reason=reason or f"federation {name} approved",
        evaluation={"candidate": evaluation["candidate"], "champion": evaluation["champion"] or {}},
    )
    decision = {
        "member": me.name,
        "approved": True,
        "alias": alias,
        "local_version": version.version,
        "actor": context.settings.actor,
        "coordinator_version": model["version"],
    }
    write(exchange / f"{me.name}.decision.json", decision)
    return moved


def read(path: Path, what: str) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound(f"No {what} at {path}.", hint="Ask the coordinator for it.") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"The {what} at {path} is not valid JSON: {exc}.") from None


def write(path: Path, document: dict[str, Any], private: bool = False) -> None:
    """``document`` as JSON at ``path``, whole or not at all; ``private``: owner-only."""
    import os

    temporary = path.with_suffix(".tmp")
    descriptor = os.open(
        temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644
    )
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(json.dumps(document, indent=1))
    temporary.replace(path)


def exchange_of(federation) -> str:
    """The folder both ends read and write: the coordinator's, or the one a participant joined from."""
    if federation.role == "participant":
        return federation.options["exchange"]
    return str(local.folder(get_context().settings.home_path, federation.name))


def _unsegmented(model: dict[str, Any], name: str) -> dict[str, Any]:
    if "segments" in model:
        raise InvalidInput(
            f"Federation {name!r} trained one model per segment; evaluating and approving "
            "them here goes segment by segment, which loopml does not do yet.",
            hint="Promote the coordinator's segment versions with loopml's registry.",
        )
    return model


def _membership(name: str):
    federation = service.get(get_context().store, name)
    if federation.role != "participant" or not federation.members:
        raise InvalidInput(
            f"This store did not join federation {name!r}.",
            hint="Run this at a participant, after loopml federation join.",
        )
    return federation, federation.members[0]


def estimator_of(model: dict[str, Any], feature_names: list[str]):
    """The global model's document (``global_model``) as a fitted estimator."""
    if "trees" in model:
        return trees.to_estimator(model["trees"], feature_names)
    return linear.to_estimator(theta_of(model), model.get("classes", [0, 1]), feature_names)


def theta_of(model: dict[str, Any]):
    """A linear global model's vector; encrypted, only a participant (its own key) can read it."""
    if "ckks" not in model:
        return model["theta"]
    context = get_context()
    key = local.folder(context.settings.home_path, model["federation"]) / secure.PARTICIPANT_KEY
    if not key.exists():
        raise InvalidInput(
            f"The global model of federation {model['federation']!r} is encrypted, and this "
            "store holds no key for it.",
            hint="Only its participants can read it: evaluate and approve it there.",
        )
    return secure.decrypt(model["ckks"], key)


def _local_model(federation) -> str:
    return federation.options.get("model") or federation.name


def _champion_metrics(federation, data) -> dict[str, float] | None:
    from loopml.registry import fluent as registry

    try:
        champion = registry.load_model(f"models:/{_local_model(federation)}@champion")
    except NotFound:
        return None
    return _metrics(champion, data, federation)


def _metrics(model, data, federation) -> dict[str, float]:
    """``model`` on this participant's holdout: a regression's errors (loopml's metrics), or
    a classifier's accuracy, log loss and AUC."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    from loopml import metrics

    x = pd.DataFrame(data.x_holdout, columns=federation.feature_names)
    task = service.task(federation.model_family)
    if task == "regression":
        return metrics.regression(data.y_holdout, model.predict(x), metrics.DEFAULT_METRICS[task])
    scores = np.asarray(model.predict_proba(x))
    positive = scores[:, 1] if scores.ndim == 2 else scores
    found = {
        "accuracy": float(accuracy_score(data.y_holdout, positive >= 0.5)),
        "log_loss": float(
            log_loss(data.y_holdout, np.clip(positive, 1e-12, 1 - 1e-12), labels=[0, 1])
        ),
    }
    if len(np.unique(data.y_holdout)) == 2:  # AUC needs both classes in the holdout
        found["roc_auc"] = float(roc_auc_score(data.y_holdout, positive))
    return found
