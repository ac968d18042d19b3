"""Serving's one door to the registry: which versions the aliases name, and loading them.

Everything serving knows about models comes through ``RegistrySource``, which
calls the registry's service functions with the server's own store and
artifacts. The pool and the watcher never touch tables.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from loopml.errors import NotFound
from loopml.serving.validation import InputChecker

AliasKey = tuple[str, str, str]  # (model, segment key, alias)


class RegistrySource:
    def __init__(self, store, artifacts, trusted_types: Sequence[str] = ()) -> None:
        self.store = store
        self.artifacts = artifacts
        self.trusted_types = list(trusted_types)  # the settings' trusted_model_types
        self._targets: dict[AliasKey, int] | None = None
        self._counter = 0  # the registry's alias move counter when last read
        self._reading = threading.Lock()  # the start and the watcher may both read

    def resolve(self, key: AliasKey) -> Any | None:
        """The version ``alias`` names for ``segment`` of ``name``; None if it names none."""
        from loopml.registry import service

        name, segment, alias = key
        try:
            return service.resolve(self.store, name, alias=alias, segment=segment or None)
        except NotFound:
            return None

    def resolve_many(self, name: str, alias: str, segments: Sequence[str]) -> dict[str, Any]:
        """segment → the version ``alias`` names there, for many segments at once."""
        from loopml.registry import service

        try:
            return service.resolve_aliases(self.store, name, alias, segments)
        except NotFound:
            return {}

    def load(self, version: Any) -> Any:
        from loopml.models import load_version

        return load_version(self.artifacts, version, trusted=self.trusted_types)

    def checker(self, version: Any) -> InputChecker:
        return InputChecker.for_version(version.signature, self.rules(version))

    def rules(self, version: Any) -> Any:
        """The validation rules of the data the version was trained on, if recorded."""
        return getattr(version, "rules", None)

    def model_exists(self, name: str) -> bool:
        from loopml.registry import service

        try:
            service.get_model(self.store, name)
        except NotFound:
            return False
        return True

    def model_names(self) -> list[str]:
        from loopml.registry import service

        return service.model_names(self.store)

    def segment_fields(self, name: str) -> tuple[str, ...]:
        """The key fields of the model family's segments: ``("sku", "store")``; () if none."""
        from loopml.registry import service
        from loopml.registry.segments import parse_segment

        fields: set[str] = set()
        for key in service.segment_keys(self.store, name):
            fields.update(parse_segment(key))
        return tuple(sorted(fields))

    def aliases(self) -> dict[AliasKey, int]:
        """Where every alias of every model points: (model, segment, alias) -> version id,
        read in one query the first time and kept up to date by ``alias_moves``."""
        with self._reading:
            if self._targets is None:
                from loopml.registry import service

                self._counter = service.alias_state(self.store)  # first: a move after it
                self._targets = service.alias_targets(self.store)  # is read again, harmless
            return self._targets

    def alias_moves(self) -> dict[AliasKey, int | None]:
        """The aliases moved since the last call, each with the version id it names now
        (None: removed): one small query, its cost in the moves, not in the segments."""
        from loopml.registry import service

        targets = self.aliases()
        with self._reading:
            self._counter, changes = service.alias_changes(self.store, self._counter)
            for key, version_id in changes.items():
                if version_id is None:
                    targets.pop(key, None)
                else:
                    targets[key] = version_id
        return changes
