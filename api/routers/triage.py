"""POST /v1/triage: a prediction with guidance cards; an audit record (redacted) is kept of it."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import QUEUE, get_audit, get_triager, json_response, require
from api.schemas import ErrorOut, TriageRequest, TriageResponse

router = APIRouter(prefix="/v1", tags=["triage"])

AUDIT_HEADER = "X-Audit-Record-Id"


@router.post("/triage", response_model=TriageResponse, dependencies=[Depends(require(*QUEUE))],
             responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 413: {"model": ErrorOut}},
             summary="Triage a text (the chat is not stored; an audit record with the redacted text is)")
def triage_text(body: TriageRequest, triager=Depends(get_triager), audit=Depends(get_audit)):
    """Everything `triage predict` returns for the text, plus the guidance cards chosen for it and
    why. Runs in the thread pool: the model is CPU-bound. The prediction is kept as an audit record
    with the redacted text (for reviewers); its id is in the `X-Audit-Record-Id` response header."""
    prediction, guidance = triager.triage(body.text)
    record_id = audit.record(audit.build(body.text, prediction, guidance, source="triage"))
    response = json_response({**prediction, "guidance": guidance})
    response.headers[AUDIT_HEADER] = str(record_id)
    return response
