"""A model artifact: the flavor's files plus a manifest, in one zip, stored by hash.

A package may also hold the drift reference of the rows its model learned from (a
pipeline's segments do): one file per segment instead of two, and the version's
``reference_digest`` is then its ``artifact_digest``."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from loopml._version import __version__
from loopml.errors import ArtifactCorrupt
from loopml.models.flavors import flavor_for, get_flavor
from loopml.models.signature import Signature
from loopml.models.trust import Trust

MANIFEST = "loopml-model.json"
REFERENCE = "loopml-reference.json"  # the encoded drift reference, when the package holds one


@dataclass(frozen=True)
class Package:
    flavor: str
    signature: Signature | None
    requirements: list[str]
    files: dict[str, bytes]
    reference: bytes | None = None  # loopml.monitoring.reference.encode_reference's bytes

    def to_bytes(self) -> bytes:
        manifest = {
            "flavor": self.flavor,
            "signature": self.signature.to_dict() if self.signature else None,
            "requirements": self.requirements,
            "loopml_version": __version__,
        }
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            # compact: an indented dump runs Python's slow encoder, once per model
            archive.writestr(MANIFEST, json.dumps(manifest, separators=(",", ":")))
            for name, data in sorted(self.files.items()):
                archive.writestr(name, data)
            if self.reference is not None:
                archive.writestr(REFERENCE, self.reference)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Package:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                manifest = json.loads(archive.read(MANIFEST))
                # the reference is left unread: loading a model never needs it
                names = [n for n in archive.namelist() if n not in (MANIFEST, REFERENCE)]
                files = {n: archive.read(n) for n in names}
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as error:
            raise ArtifactCorrupt(
                f"The model artifact cannot be read ({error}).",
                hint="Log the model again.",
            ) from error
        return cls(
            manifest["flavor"],
            Signature.from_dict(manifest.get("signature")),
            manifest.get("requirements", []),
            files,
        )


def reference_of(data: bytes) -> bytes | None:
    """The drift reference a package's bytes hold, or None if they hold none."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if REFERENCE not in archive.namelist():
                return None
            return archive.read(REFERENCE)
    except zipfile.BadZipFile as error:
        raise ArtifactCorrupt(
            f"The model artifact cannot be read ({error}).", hint="Log the model again."
        ) from error


def pack(model: Any, signature: Signature | None, *, trusted: bool) -> Package:
    flavor = flavor_for(model, trusted=trusted)
    return Package(flavor.name, signature, flavor.requirements(), flavor.save(model))


def unpack(package: Package, *, trusted: Trust) -> Any:
    return get_flavor(package.flavor).load(package.files, trusted=trusted)
