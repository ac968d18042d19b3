"""Serving's one door to the registry: which versions the aliases name, and loading them.

Everything serving knows about models comes through ``RegistrySource``, which
calls the registry's service functions with the server's own store and
artifacts. The pool and the watcher never touch tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from loopml.errors import NotFound
from loopml.serving.validation import InputChecker

AliasKey = tuple[str, str, str]  # (model, segment key, alias)


class RegistrySource:
    def __init__(self, store, artifacts, trusted_types: Sequence[str] = ()) -> None:
        self.store = store
        self.artifacts = artifacts
        self.trusted_types = list(trusted_types)  # the settings' trusted_model_types
        self._targets: tuple[tuple[str, ...], dict[AliasKey, int]] | None = None
        self.moved: set[AliasKey] = set()  # the keys whose aliases moved in the last read
        self._counter = 0  # the registry's alias move counter when last read

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
        for segment in service.list_segments(self.store, name):
            fields.update(parse_segment(segment["segment"]))
        return tuple(sorted(fields))

    def served_models(self, alias: str) -> list[str]:
        """Every model with a version under ``alias`` in some segment."""
        from loopml.registry import service

        return sorted(
            {name for name, _segment, _version in service.models_with_alias(self.store, alias)}
        )

    def alias_targets(self, names: Iterable[str]) -> dict[AliasKey, int]:
        """Where every alias of these models points, read now."""
        from loopml.registry import service

        return service.alias_targets(self.store, list(names))

    def alias_state(self, names: Iterable[str]) -> dict[AliasKey, int]:
        """Where every alias of these models points: (model, segment, alias) -> version id.

        The mapping is read in full once (and again when the set of models changes);
        after that only the alias moves since the last call are read, so a move of
        one segment costs one small query, however many segments there are.
        """
        from loopml.registry import service

        names = tuple(sorted(names))
        if self._targets is None or self._targets[0] != names:
            counter = service.alias_state(self.store)
            self._targets = (names, service.alias_targets(self.store, names))
            self._counter = counter
            self.moved = set()
            return self._targets[1]
        self._counter, changes = service.alias_changes(self.store, self._counter, names)
        # A move may point at the version already served (a change of its runtime).
        self.moved = set(changes)
        targets = self._targets[1]
        for key, version_id in changes.items():
            if version_id is None:
                targets.pop(key, None)
            else:
                targets[key] = version_id
        return targets
