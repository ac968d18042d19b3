"""What a project file declares beside training, made true on every ``loopml run``:
the model family's gate and its monitors, even when no segment had to train again.
"""

from __future__ import annotations

from loopml.errors import NotFound
from loopml.pipeline.spec import ProjectSpec


def declare_gate(store, spec: ProjectSpec, *, actor: str) -> bool:
    """The project file's gate becomes the model family's gate (only when it has one).
    True when the stored gate changed."""
    from loopml.registry import service as registry

    if "gate" not in spec.model_fields_set:
        return False
    wanted = spec.gate.model_dump()
    fairness = wanted["extra"].get("fairness")
    if fairness is not None and not fairness.get("sensitive"):  # the project's attributes
        fairness["sensitive"] = list(spec.sensitive)
    try:
        current = registry.get_model(store, spec.name).gate
    except NotFound:
        current = None
    if current == wanted:
        return False
    registry.set_gate(store, spec.name, wanted, actor=actor)
    return True


def declare_monitors(store, spec: ProjectSpec, *, actor: str) -> list[str]:
    """Create or update each monitor of the project file; the names of those that changed.

    A monitor an operator disabled stays disabled unless the file says ``enabled``."""
    from loopml.monitoring import service as monitoring

    changed = []
    for wanted in spec.monitoring:
        try:
            current = monitoring.get_monitor(store, wanted.name).spec
        except NotFound:
            current = None
        if current is not None and "enabled" not in wanted.model_fields_set:
            wanted = wanted.model_copy(update={"enabled": current.enabled})
        if current != wanted:
            monitoring.create_monitor(store, wanted, actor=actor, replace=True)
            changed.append(wanted.name)
    return changed
