"""What every MLflow route needs: the store, the artifacts, the project and the actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

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


def get_actor(request: Request) -> str:
    """Who the server authenticated, else the server's own actor (an open loopback server).
    Never what the client claims: MLflow's ``user_id`` field is not a credential."""
    user = getattr(request.state, "user", None)
    name = getattr(user, "name", None) or (user if isinstance(user, str) else None)
    return name or request.app.state.context.settings.actor


MlflowDep = Annotated[Mlflow, Depends(get_mlflow)]
ActorDep = Annotated[str, Depends(get_actor)]
