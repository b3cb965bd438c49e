"""POST /v1/triage: a stateless prediction with guidance cards."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import QUEUE, get_triager, json_response, require
from api.schemas import ErrorOut, TriageRequest, TriageResponse

router = APIRouter(prefix="/v1", tags=["triage"])


@router.post("/triage", response_model=TriageResponse, dependencies=[Depends(require(*QUEUE))],
             responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 413: {"model": ErrorOut}},
             summary="Triage a text (nothing is stored)")
def triage_text(body: TriageRequest, triager=Depends(get_triager)):
    """Everything `triage predict` returns for the text, plus the guidance cards chosen for it and
    why. Runs in the thread pool: the model is CPU-bound."""
    prediction, guidance = triager.triage(body.text)
    return json_response({**prediction, "guidance": guidance})
