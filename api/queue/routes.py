"""GET /v1/queue: the waiting chats in pick-up order."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from api.deps import ADVISOR, QueueServiceDep, require
from api.queue.schemas import QueueOut
from api.responses import JsonAnswer
from api.schemas import ErrorOut

router = APIRouter(prefix="/v1", tags=["queue"])
QUEUE_OUT = JsonAnswer(QueueOut)


@router.get("/queue", response_model=QueueOut, dependencies=[Depends(require(*ADVISOR))],
            responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}}, summary="The advisor queue")
def get_queue(queue: QueueServiceDep):
    """Waiting chats in order, each with its triage, priority, waiting time and why it stands where
    it stands (`reason_nl`), the red-flag cues and the guidance cards chosen for it."""
    # The body is spliced from stored JSON (api/queue/view.py): validated as it is, sent unchanged.
    return Response(QUEUE_OUT.check_json(queue.json()), media_type="application/json")
