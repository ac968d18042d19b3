"""What every MLflow route needs: the store, the artifacts, the project and the actor
(``ActorDep``, the authenticated caller as everywhere else: never MLflow's ``user_id``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Request

from loopml.api.deps import ActorDep, inline
from loopml.artifacts import ArtifactStore
from loopml.config import Settings
from loopml.store import Store


@dataclass(frozen=True)
class Mlflow:
    store: Store
    artifacts: ArtifactStore
    settings: Settings

    @property
    def project(self) -> str:
        return self.settings.project


def get_mlflow(request: Request) -> Mlflow:
    context = request.app.state.context
    return Mlflow(context.store, context.artifacts, context.settings)


MlflowDep = Annotated[Mlflow, inline(get_mlflow)]

__all__ = ["ActorDep", "Mlflow", "MlflowDep", "get_mlflow"]
