"""loopml: take many simple models to production and keep them right.

The public Python API. Everything importable from here is stable; the modules
behind it may change. Importing loopml is cheap: the functions load what they
need when first called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopml._version import __version__

_EXPORTS = {
    "configure": "loopml._context",
    "Settings": "loopml.config",
    "LoopmlError": "loopml.errors",
    "NotFound": "loopml.errors",
    "InvalidInput": "loopml.errors",
    "Conflict": "loopml.errors",
    "start_run": "loopml.tracking.fluent",
    "end_run": "loopml.tracking.fluent",
    "active_run": "loopml.tracking.fluent",
    "log_param": "loopml.tracking.fluent",
    "log_params": "loopml.tracking.fluent",
    "log_metric": "loopml.tracking.fluent",
    "log_metrics": "loopml.tracking.fluent",
    "set_tag": "loopml.tracking.fluent",
    "set_tags": "loopml.tracking.fluent",
    "log_artifact": "loopml.tracking.fluent",
    "log_dict": "loopml.tracking.fluent",
    "log_text": "loopml.tracking.fluent",
    "log_figure": "loopml.tracking.fluent",
    "get_run": "loopml.tracking.fluent",
    "get_metric_history": "loopml.tracking.fluent",
    "search_runs": "loopml.tracking.fluent",
    "list_experiments": "loopml.tracking.fluent",
    "load_artifact": "loopml.tracking.fluent",
    "download_artifact": "loopml.tracking.fluent",
    "predict_batch": "loopml.serving.batch",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from loopml._context import configure
    from loopml.config import Settings
    from loopml.errors import Conflict, InvalidInput, LoopmlError, NotFound
    from loopml.serving.batch import predict_batch
    from loopml.tracking.fluent import (
        active_run,
        download_artifact,
        end_run,
        get_metric_history,
        get_run,
        list_experiments,
        load_artifact,
        log_artifact,
        log_dict,
        log_figure,
        log_metric,
        log_metrics,
        log_param,
        log_params,
        log_text,
        search_runs,
        set_tag,
        set_tags,
        start_run,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'loopml' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
