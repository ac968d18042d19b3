"""``POST /v1/feedback``: ground-truth labels for prediction ids, whenever they arrive."""

from __future__ import annotations

from fastapi import APIRouter, Request

from loopml.auth.permissions import Permission, requires
from loopml.serving.routes.deps import ServingNotStarted
from loopml.serving.routes.schemas import FeedbackAccepted, FeedbackRequest

router = APIRouter(prefix="/v1", tags=["predictions"])


@router.post(
    "/feedback",
    summary="Attach ground-truth labels to earlier predictions",
    status_code=202,
    response_model=FeedbackAccepted,
)
@requires(Permission.SCORE)
def feedback(body: FeedbackRequest, request: Request) -> FeedbackAccepted:
    log = getattr(request.app.state, "feedback_log", None)
    if log is None:
        raise ServingNotStarted(
            "The feedback log is not open in this server.",
            hint="Start the app with its lifespan (loopml serve, or `with TestClient(app)`).",
        )
    log.append(
        {"prediction_id": item.prediction_id, "label": item.label, "time": item.time}
        for item in body.feedback
    )
    return FeedbackAccepted(accepted=len(body.feedback))
