"""Differential privacy from the engine: NVFLARE's sparse vector technique on every update.

With privacy on, a participant of a linear federation sends the change of its
coefficients instead of the coefficients, and NVFLARE's ``SVTPrivacy`` filter,
running in the participant's own engine process before anything leaves it,
keeps a ``fraction`` of the entries (chosen by noisy comparison with a noisy
threshold, spending ``epsilon``), clips each to ``clip`` per training row and
adds Laplace noise (spending ``release_epsilon``). The filter's own accountant
(pure differential privacy, sequential composition, delta 0) adds up what each
participant spent; the federation records that sum with the global model.

Trees get none: NVFLARE's privacy filters (``SVTPrivacy``, ``PercentilePrivacy``,
``ExcludeVars``) work on arrays of weights, and its XGBoost modes offer only
masking of hessian sums and (for histograms, with XGBoost's federated plugin)
homomorphic encryption, not noise; a forest's split thresholds are values of a
participant's features that no such filter can noise. ``settings`` refuses.

Not covered: the first round's feature means and mean squares, which every
participant sends so that all standardise alike (aggregates, not rows), and the
row counts that weight the average.
"""

from __future__ import annotations

from typing import Any

from loopml.errors import InvalidInput
from loopml.federated.service import NEWTON, TREES

SUPPORTS = ("fedavg", "fedprox")  # they send coefficients alone, which the filter noises
DEFAULTS = {"epsilon": 1.0, "release_epsilon": 1.0, "clip": 1e-4, "fraction": 0.2}
FILTER = "nvflare.app_common.filters.svt_privacy.SVTPrivacy"
ACCOUNTANT = "svt_privacy_accountant"  # where the filter writes its running total in each reply
COVERS = (
    "the coefficient changes of every training round; not the first round's feature "
    "moments, nor the row counts"
)


def settings(privacy: dict[str, Any] | None, strategy: str) -> dict[str, float] | None:
    """The privacy options of a federation, checked; None when privacy is off."""
    if privacy is None:
        return None
    if strategy in TREES:
        raise InvalidInput(
            f"Differential privacy is for federations of linear models ({', '.join(SUPPORTS)}): "
            "NVFLARE has no differential privacy for XGBoost trees (its filters noise "
            "arrays of weights, and a tree's split thresholds and structure are not those).",
            hint="Train trees without privacy=..., or use strategy='fedavg'.",
        )
    if strategy == NEWTON:
        raise InvalidInput(
            f"Differential privacy supports the strategies {', '.join(SUPPORTS)}, not "
            "'newton': a newton participant also sends the gradient and the Hessian of its "
            "objective, which the engine's filter does not noise.",
            hint="Use strategy='fedavg' or 'fedprox' with privacy=..., or newton without it.",
        )
    unknown = sorted(set(privacy) - set(DEFAULTS))
    if unknown:
        raise InvalidInput(
            f"Unknown privacy option(s): {', '.join(unknown)}.", hint=f"Use {', '.join(DEFAULTS)}."
        )
    found = {**DEFAULTS, **privacy}
    for key, value in found.items():
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise InvalidInput(f"privacy option {key} must be a positive number, not {value!r}.")
    if found["fraction"] > 1:
        raise InvalidInput(
            f"privacy option fraction is a share of 0 to 1, not {found['fraction']}."
        )
    return {key: float(value) for key, value in found.items()}


def engine_filter(options: dict[str, float]):
    """The engine's filter for one participant's replies."""
    from nvflare.apis.dxo import DataKind
    from nvflare.app_common.filters.svt_privacy import SVTPrivacy

    return SVTPrivacy(
        fraction=options["fraction"],
        epsilon=options["epsilon"],
        gamma=options["clip"],
        epsilon_release=options["release_epsilon"],
        replace=False,
        # Only the changes of training rounds: the first round's moments are whole values.
        data_kinds=[DataKind.WEIGHT_DIFF],
    )


def budget(journal: list[dict[str, Any]], options: dict[str, float]) -> dict[str, Any]:
    """What each participant spent, from the accountants' totals in its replies."""
    spent: dict[str, float] = {}
    for line in journal:
        total = ((line.get("meta") or {}).get(ACCOUNTANT) or {}).get("epsilon_total")
        if line["kind"] == "reply" and total is not None:
            spent[line["site"]] = max(spent.get(line["site"], 0.0), float(total))
    return {
        "mechanism": "NVFLARE SVTPrivacy (sparse vector technique, Laplace noise)",
        "accountant": "pure differential privacy, sequential composition",
        "epsilon": max(spent.values(), default=0.0),
        "delta": 0.0,
        "per_participant": spent,
        "options": options,
        "covers": COVERS,
    }
