"""MLflow's tracking REST API on ``loopml serve``, so MLflow's own client works unchanged.

``MLFLOW_TRACKING_URI=http://host:port`` sends ``mlflow.log_*`` calls here; what
arrives is ordinary loopml data (runs, metrics, artifacts, model versions,
aliases, audit events). The routers, by the role they need once users exist:

- viewer: GET experiments/get, get-by-name, search; runs/get; metrics/get-history;
  artifacts/list; mlflow-artifacts downloads and listings; registered-models/get,
  search, alias (GET); model-versions/get, get-download-uri; logged-models/{id} (GET)
- operator: every POST/PATCH/PUT/DELETE (creating experiments and runs, logging,
  uploads, logged models, registering versions, moving aliases)
"""

from __future__ import annotations

from fastapi import APIRouter

from loopml.api.mlflow import (
    artifacts,
    experiments,
    logged_models,
    logging,
    registry,
    runs,
    unsupported,
)
from loopml.api.mlflow.wire import refusal

router = APIRouter(tags=["mlflow"])
for part in (experiments, runs, logging, logged_models, registry):
    router.include_router(part.router)
router.include_router(artifacts.router)
router.include_router(artifacts.tracking_router)
router.include_router(unsupported.router)  # last: it answers every path the others do not

__all__ = ["refusal", "router"]
