"""Experiment tracking: runs with params, buffered metrics, tags, artifacts and lineage."""

from loopml.tracking.active import ActiveRun
from loopml.tracking.entities import ArtifactInfo, Experiment, MetricPoint, Run, RunStatus

__all__ = ["ActiveRun", "ArtifactInfo", "Experiment", "MetricPoint", "Run", "RunStatus"]
