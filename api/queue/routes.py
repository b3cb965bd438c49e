"""GET /v1/queue: the waiting chats in pick-up order."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from api.deps import ADVISOR, QueueServiceDep, require
from api.queue.schemas import QueueOut
from api.schemas import ErrorOut

router = APIRouter(prefix="/v1", tags=["queue"])


@router.get("/queue", response_model=QueueOut, dependencies=[Depends(require(*ADVISOR))],
            responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}}, summary="The advisor queue")
def get_queue(queue: QueueServiceDep):
    """Waiting chats in order, each with its triage, priority, waiting time and why it stands where
    it stands (`reason_nl`), the red-flag cues and the guidance cards chosen for it."""
    # Spliced from stored JSON and validated against QueueOut as it is built (api/queue/view.py).
    return Response(queue.json(), media_type="application/json")
