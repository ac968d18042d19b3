"""``POST /v1/feedback``: ground-truth labels for prediction ids, whenever they arrive.

The body is read as JSON whatever its Content-Type (as the scoring routes do:
``curl -d`` sends a form type), then validated against ``FeedbackRequest``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from loopml.auth.permissions import Permission, requires
from loopml.serving import payloads
from loopml.serving.feedback import Label
from loopml.serving.routes.deps import ServingNotStarted
from loopml.serving.routes.schemas import FEEDBACK_BODY, FeedbackReceipt, FeedbackRequest

router = APIRouter(prefix="/v1", tags=["predictions"])


@router.post(
    "/feedback",
    summary="Attach ground-truth labels to earlier predictions",
    status_code=202,
    response_model=FeedbackReceipt,
    openapi_extra={"requestBody": FEEDBACK_BODY},
)
@requires(Permission.SCORE)
async def feedback(request: Request) -> FeedbackReceipt:
    receiver = getattr(request.app.state, "feedback", None)
    if receiver is None:
        raise ServingNotStarted(
            "The feedback log is not open in this server.",
            hint="Start the app with its lifespan (loopml serve, or `with TestClient(app)`).",
        )
    body = _validated(payloads.read_json(await request.body()))
    labels = [Label(i.prediction_id, i.label, i.event_time, i.attributes) for i in body.feedback]
    receipt = await run_in_threadpool(receiver.receive, labels)
    return FeedbackReceipt(**vars(receipt))


def _validated(document: dict) -> FeedbackRequest:
    try:
        return FeedbackRequest.model_validate(document, strict=True)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None
