"""The coordinator's side inside the engine: NVFLARE's FedAvg, plus a journal and a quorum.

NVFLARE runs this class in its server process. It averages the participants'
arrays exactly as FedAvg does (weighted by each reply's row count); on top it
writes one journal line per reply and per round, which loopml reads after the
run to record rounds, and it fails a round that fewer than ``min_participants``
answered instead of averaging what is left. Every round waits at most
``round_timeout`` seconds for the updates (the engine's own default waits for
ever); a round failed at its deadline says so in its journal line. For boosted
trees the average is replaced by ``TreeBagging``, which appends every
participant's new trees to the global forest with the engine's own tree-merging
code, and for shared histograms by ``SharedForest``, which checks that every
participant built the same forest and keeps it; with secure aggregation by
``EncryptedSum``, which adds ciphertexts it cannot decrypt (its context has no
secret key), and the journal then holds them as text. Imports nothing of loopml: the
engine loads these classes by class path from an explicit allow-list.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import numpy as np
from nvflare.app_common.abstract.fl_model import FLModel
from nvflare.app_common.aggregators.model_aggregator import ModelAggregator
from nvflare.app_common.workflows.fedavg import FedAvg

ROUND_FAILED = "round_failed"
REJECTED = "rejected"  # a reply that came back with an error instead of an update


class JournaledFedAvg(FedAvg):
    def __init__(
        self,
        *args: Any,
        journal: str,
        min_participants: int,
        participants: list[str],
        round_timeout: int,
        straggler_wait: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.journal = journal
        self.min_participants = min_participants
        self.participants = participants
        self.round_timeout = round_timeout
        # Never past the deadline: a quorum reached late still ends the round on time.
        self.straggler_wait = min(straggler_wait, round_timeout)
        self._sites: list[str] = []
        self._started = 0.0
        self._errors: dict[int, dict[str, str]] = {}  # round -> participant -> return code

    def send_model(
        self,
        task_name="train",
        data=None,
        targets=None,
        min_responses=None,
        timeout=0,
        callback=None,
    ) -> None:
        # The engine's default waits for every participant and aborts the whole run when
        # one fails; a federation only needs its quorum, and waits a while for the rest,
        # never longer than the round's deadline.
        self._started = time.monotonic()
        self.broadcast_model(
            task_name=task_name,
            data=data,
            targets=targets,
            min_responses=self.min_participants,
            wait_time_after_min_received=self.straggler_wait,
            timeout=self.round_timeout,
            blocking=False,
            callback=callback,
        )

    def sample_clients(self, num_clients=None):
        self._sites = []
        return super().sample_clients(num_clients)

    def _aggregate_one_result(self, result: FLModel) -> bool:
        site = (result.meta or {}).get("client_name") or "?"
        accepted = super()._aggregate_one_result(result)
        if accepted:
            self._sites.append(site)
        self._write(
            kind="reply",
            round=self.current_round,
            site=site,
            accepted=bool(accepted),
            params=_describe(result.params),
            metrics=result.metrics,
            meta=_plain(result.meta),
        )
        return accepted

    def _accept_train_result(self, client_name, result, fl_ctx, is_unknown_task=False) -> bool:
        # A participant whose task ended in an error (its training process failed or could
        # not start) did answer, with no update: the journal keeps its return code, so that
        # a lost quorum says so rather than that it never answered.
        from nvflare.apis.fl_constant import ReturnCode

        code = result.get_return_code()
        if code and code != ReturnCode.OK and not is_unknown_task:
            self._errors.setdefault(self.current_round, {})[client_name] = str(code)
            self._write(kind=REJECTED, round=self.current_round, site=client_name, code=code)
        return super()._accept_train_result(client_name, result, fl_ctx, is_unknown_task)

    def _get_aggregated_result(self) -> FLModel:
        # Before any aggregator sees the round: a forest check must not mask a lost quorum.
        if len(self._sites) < self.min_participants:
            self._fail_round()
        return super()._get_aggregated_result()

    def update_model(self, model: FLModel, aggr_result: FLModel) -> FLModel:
        updated = super().update_model(model, aggr_result)
        self._write(
            kind="round",
            round=self.current_round,
            sites=sorted(self._sites),
            params={k: self._plain_value(v) for k, v in updated.params.items()},
        )
        return updated

    def _plain_value(self, value: Any) -> Any:
        if isinstance(self.aggregator, EncryptedSum):  # a ciphertext, as text
            return {"ckks": base64.b64encode(bytes(value)).decode("ascii")}
        return _plain_value(value)

    def _fail_round(self) -> None:
        missing = sorted(set(self.participants) - set(self._sites))
        expired = time.monotonic() - self._started >= self.round_timeout
        if expired:
            reason = deadline_passed(
                self.current_round, self._sites, missing, self.min_participants, self.round_timeout
            )
        else:
            reason = quorum_lost(
                self.current_round,
                self._sites,
                self.participants,
                self.min_participants,
                self._errors.get(self.current_round, {}),
            )
        self._write(
            kind=ROUND_FAILED,
            round=self.current_round,
            reason=reason,
            deadline=expired,
            missing=missing,
        )
        self.system_panic(reason, self.fl_ctx)
        raise RuntimeError(reason)

    def _write(self, **line: Any) -> None:
        with open(self.journal, "a", encoding="utf-8") as out:
            out.write(json.dumps({**line, "time": time.time()}, default=str) + "\n")


def quorum_lost(
    round_number: int, answered, asked, needed: int, errors: dict[str, str] | None = None
) -> str:
    """Why a round failed, in words: who answered, who answered with an error instead of an
    update (``errors``: participant -> the engine's return code), who did not, and what was
    needed."""
    errors = {site: code for site, code in (errors or {}).items() if site not in answered}
    missing = sorted(set(asked) - set(answered) - set(errors))
    parts = [
        f"{site} answered with an error ({code}): its training process failed, see the engine log"
        for site, code in sorted(errors.items())
    ]
    if missing or not errors:
        parts.append(f"{', '.join(missing) or 'no participant'} did not answer")
    return (
        f"round {round_number} received {len(answered)} update(s) "
        f"({', '.join(sorted(answered)) or 'none'}); {'; '.join(parts)}; "
        f"the federation needs {needed}"
    )


def deadline_passed(round_number: int, answered, missing, needed: int, timeout: int) -> str:
    """Why a round failed at its deadline, in words, with what to do about it."""
    return (
        f"round {round_number} passed its deadline of {timeout} s with {len(answered)} "
        f"update(s) ({', '.join(sorted(answered)) or 'none'}); {', '.join(missing)} did not "
        f"answer in time; the federation needs {needed}. Check that {', '.join(missing)} "
        "is running and can reach the coordinator, or raise the federation's round_timeout"
    )


class TreeBagging(ModelAggregator):
    """Bagging of boosted trees: each round every participant adds trees grown on its own rows
    from the global forest (its learning rate shared out among the participants), and the
    global forest takes all of them, as NVFLARE's ``XGBBaggingAggregator`` does."""

    def __init__(self) -> None:
        super().__init__()
        self._forest: dict | None = None
        self._added: list[dict] = []

    def accept_model(self, model: FLModel) -> None:
        self._added.append(json.loads(bytes(model.params["model_data"])))

    def aggregate_model(self) -> FLModel:
        from nvflare.app_opt.xgboost.tree_based.utils import update_model

        # In the order the participants answered: the sum of their trees does not depend on it.
        for trees in self._added:
            self._forest = update_model(self._forest, trees)
        self._added = []
        return FLModel(params={"model_data": json.dumps(self._forest).encode()})

    def reset_stats(self) -> None:
        self._added = []


class SharedForest(ModelAggregator):
    """Histogram-based trees: the participants grew one forest together over XGBoost's
    collective, so every reply must be the same forest; the global model is that forest."""

    def __init__(self) -> None:
        super().__init__()
        self._forests: list[bytes] = []

    def accept_model(self, model: FLModel) -> None:
        self._forests.append(bytes(model.params["model_data"]))

    def aggregate_model(self) -> FLModel:
        if len(set(self._forests)) != 1:
            raise RuntimeError(
                f"the participants sent {len(set(self._forests))} different forests; "
                "trees grown over one collective must be the same"
            )
        return FLModel(params={"model_data": self._forests[0]})

    def reset_stats(self) -> None:
        self._forests = []


class EncryptedSum(ModelAggregator):
    """Secure aggregation: adds the participants' CKKS ciphertexts of their row-weighted vectors
    (NVFLARE's ``HEModelEncryptor`` made them), without a secret key to read them by. The sum
    goes back marked as encrypted, for NVFLARE's ``HEModelDecryptor`` at each participant."""

    def __init__(self) -> None:
        from nvflare.app_opt.he import decomposers

        super().__init__()
        self._sum: dict[str, Any] = {}
        decomposers.register()  # the engine decodes a ciphertext only once its type is known

    def accept_model(self, model: FLModel) -> None:
        for key, value in (model.params or {}).items():
            if not _is_ciphertext(value):
                site = (model.meta or {}).get("client_name") or "a participant"
                raise RuntimeError(
                    f"{site} sent {key} unencrypted; secure aggregation adds only ciphertexts"
                )
            self._sum[key] = value if key not in self._sum else self._sum[key] + value

    def aggregate_model(self) -> FLModel:
        from nvflare.apis.dxo import MetaKey
        from nvflare.app_opt.he.constant import HE_ALGORITHM_CKKS

        meta = {
            MetaKey.PROCESSED_KEYS: dict.fromkeys(self._sum, True),
            MetaKey.PROCESSED_ALGORITHM: HE_ALGORITHM_CKKS,
        }
        # Serialized: the engine copies a round's model before it sends it, and TenSEAL copies
        # a vector only with a secret key; NVFLARE's decryptor reads the bytes with its own.
        return FLModel(
            params={key: total.serialize() for key, total in self._sum.items()}, meta=meta
        )

    def reset_stats(self) -> None:
        self._sum = {}


def _is_ciphertext(value: Any) -> bool:
    return type(value).__name__ == "CKKSVector"  # without importing TenSEAL where it is not used


def _describe(params: dict | None) -> dict[str, dict[str, Any]]:
    """What crossed: each value's type, dtype and shape (the arrays themselves stay here)."""
    return {key: _shape_of(value) for key, value in (params or {}).items()}


def _shape_of(value: Any) -> dict[str, Any]:
    if _is_ciphertext(value):  # its length only, and whether its context could decrypt it here
        return {
            "type": "ckks",
            "size": value.size(),
            "secret_key": value.context().has_secret_key(),
        }
    if isinstance(value, bytes | bytearray):  # a forest in XGBoost's JSON: which arrays, how long
        return {"type": "xgboost", "trees": trees_described(json.loads(bytes(value)))}
    return {
        "type": type(value).__name__,
        "dtype": str(getattr(value, "dtype", "")),
        "shape": list(getattr(value, "shape", ())),
    }


def trees_described(forest: dict) -> list[dict[str, Any]]:
    """Each tree of an XGBoost JSON model as its fields: arrays by length, numbers by value."""
    trees = forest["learner"]["gradient_booster"]["model"]["trees"]
    return [
        {key: len(value) if isinstance(value, list) else value for key, value in tree.items()}
        for tree in trees
    ]


def _plain_value(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8")
    return np.asarray(value).tolist()


def _plain(meta: dict | None) -> dict[str, Any]:
    """The reply's bookkeeping that is numbers or words (a privacy filter's accounts among it)."""
    return {key: value for key, value in (meta or {}).items() if _is_plain(value)}


def _is_plain(value: Any) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return value is None or isinstance(value, (int, float, str))
