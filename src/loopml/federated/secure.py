"""Secure aggregation: the coordinator adds up updates it cannot read (CKKS, through TenSEAL).

The keys are made once, when the federation is created, by NVFLARE's own
``HEBuilder`` (the provisioner of its startup kits, with its parameters): a full
context with the secret key for the participants, handed to each inside its
invitation and kept owner-only in its own home, and a public context (no secret
key, no public key: the scheme is symmetric, so only a holder of the secret key
can encrypt or decrypt) that the coordinator's engine keeps for itself.

Every round, NVFLARE's ``HEModelEncryptor`` (a filter in the participant's own
engine process) weights the participant's vector by its row count and encrypts
it; the coordinator's ``EncryptedSum`` adds the ciphertexts; NVFLARE's
``HEModelDecryptor`` decrypts the sum at each participant on its way in. A
vector carries one more entry, 1, so that the sum carries the total weight too
and the participants divide by it: the coordinator never sees a participant's
update, nor the global model, as numbers.

What the coordinator still learns: each reply's row count (it travels beside
the ciphertext, as without secure aggregation), the metrics each participant
reports on its own holdout, and who answered when. Whoever provisions holds
the secret key at that moment: the coordinator's store keeps it only in the
invitations it writes (owner-only) and in ``PROVISIONED``, to be handed out and
deleted.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import numpy as np

from loopml.errors import InvalidInput

PARTICIPANT_KEY = "participant.tenseal"  # in a participant's federation folder: the full context
COORDINATOR_KEY = "coordinator.tenseal"  # in the coordinator's federation folder: public only
PROVISIONED = "provisioned-participants.tenseal"  # the participants' context until handed out
INVITATION_FIELD = "secure_aggregation_context"
SCHEME = {
    "scheme": "CKKS (TenSEAL, NVFLARE HEBuilder parameters)",
    "poly_modulus_degree": 8192,
    "coeff_mod_bit_sizes": [60, 40, 40],
    "scale_bits": 40,
    "coordinator_holds": "a context without the secret key",
}


def check(enabled: Any, strategy: str, privacy: dict | None) -> bool:
    """Whether a federation's secure aggregation is on, checked against its other options."""
    from loopml.federated.service import TREES

    if not isinstance(enabled, bool):
        raise InvalidInput(f"secure_aggregation is True or False, not {enabled!r}.")
    if enabled and strategy in TREES:
        raise InvalidInput(
            "Secure aggregation is for federations of linear models (fedavg, fedprox, "
            "newton): the coordinator adds their arrays as ciphertexts; bagged trees "
            "are appended, not added, and shared histograms meet over XGBoost's collective.",
            hint="Use strategy='fedavg', 'fedprox' or 'newton' with secure_aggregation=True.",
        )
    if enabled and privacy:
        raise InvalidInput(
            "Secure aggregation and differential privacy are not combined yet: the privacy "
            "filter noises changes the coordinator adds to a global model it holds in the clear.",
            hint="Choose one of secure_aggregation=True or privacy=....",
        )
    return enabled


def provision(folder: Path) -> None:
    """Make the federation's keys: the participants' (to hand out) and the coordinator's."""
    from nvflare.lighter.impl.he import HEBuilder

    builder = HEBuilder(
        poly_modulus_degree=SCHEME["poly_modulus_degree"],
        coeff_mod_bit_sizes=SCHEME["coeff_mod_bit_sizes"],
        scale_bits=SCHEME["scale_bits"],
    )
    builder.initialize(None, None)  # makes the context; the project is only needed to build kits
    folder.mkdir(parents=True, exist_ok=True)
    _write_private(folder / PROVISIONED, builder.get_serialized_context(is_client=True))
    _write_private(folder / COORDINATOR_KEY, builder.get_serialized_context(is_client=False))


def for_invitation(folder: Path) -> str:
    """The participants' context as text for an invitation."""
    path = folder / PROVISIONED
    if not path.exists():
        raise InvalidInput(
            f"The participants' key of this federation is no longer at {path}.",
            hint="Put back the copy you kept, or create a new federation (new keys).",
        )
    return base64.b64encode(path.read_bytes()).decode("ascii")


def keep(invitation: dict[str, Any], folder: Path) -> None:
    """At a participant: keep the invitation's context, owner-only, in its own home."""
    text = invitation.get(INVITATION_FIELD)
    if not text:
        raise InvalidInput(
            f"The invitation to {invitation['federation']!r} asks for secure aggregation "
            "but holds no key.",
            hint="Ask the coordinator for a new invitation.",
        )
    data = base64.b64decode(text)
    if not _context(data).has_secret_key():
        raise InvalidInput("The invitation's key cannot decrypt: it has no secret key.")
    _write_private(folder / PARTICIPANT_KEY, data)


def pack(vector: np.ndarray) -> np.ndarray:
    """The vector a participant encrypts: its own, and a 1 that becomes the total weight."""
    return np.append(np.asarray(vector, dtype=float), 1.0)


def unpack(decrypted: Any) -> np.ndarray:
    """The weighted average from the decrypted weighted sum (its last entry is the total weight)."""
    values = np.asarray(decrypted, dtype=float)
    return values[:-1] / values[-1]


def decrypt(text: str, key: Path) -> np.ndarray:
    """At a participant: the global model's vector from its ciphertext."""
    import tenseal as ts

    context = _context(key.read_bytes())
    vector = ts.ckks_vector_from(context, base64.b64decode(text))
    return unpack(vector.decrypt(secret_key=context.secret_key()))


def engine_filters(key: str):
    """The participant's two engine filters: encrypt its replies, decrypt the global model."""
    from nvflare.apis.dxo import DataKind
    from nvflare.app_opt.he.model_decryptor import HEModelDecryptor
    from nvflare.app_opt.he.model_encryptor import HEModelEncryptor

    kinds = [DataKind.WEIGHTS]
    # weigh_by_local_iter multiplies by the reply's NUM_STEPS_CURRENT_ROUND: its row count.
    encryptor = HEModelEncryptor(
        tenseal_context_file=key, weigh_by_local_iter=True, data_kinds=kinds
    )
    return encryptor, HEModelDecryptor(tenseal_context_file=key, data_kinds=kinds)


def _context(data: bytes):
    import tenseal as ts

    return ts.context_from(data)


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
