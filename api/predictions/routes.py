"""POST /v1/triage: a prediction with guidance cards; an audit record (redacted) is kept of it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends

from api.audit.writer import AuditUnavailable
from api.deps import QUEUE, AuditWriterDep, TriagerDep, require
from api.errors import ApiError
from api.predictions.schemas import TriageRequest, TriageResponse
from api.responses import JsonAnswer
from api.schemas import ErrorOut

router = APIRouter(prefix="/v1", tags=["triage"])

AUDIT_HEADER = "X-Audit-Record-Key"
TRIAGE_RESPONSE = JsonAnswer(TriageResponse)


@router.post("/triage", response_model=TriageResponse, dependencies=[Depends(require(*QUEUE))],
             responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 413: {"model": ErrorOut},
                        503: {"model": ErrorOut}},
             summary="Triage a text (the chat is not stored; an audit record with the redacted text is)")
async def triage_text(body: TriageRequest, triager: TriagerDep, writer: AuditWriterDep):
    """Everything `triage predict` returns for the text, plus the guidance cards chosen for it and
    why. Async: under load the answer of a model process is awaited without holding a thread; a
    prediction in this process runs in the thread pool (it is CPU-bound). The prediction is kept as
    an audit record with the redacted text (for reviewers): the answer leaves only once that record
    is durable in the local audit outbox (fsynced), from which it reaches the database within about
    a second; the `X-Audit-Record-Key` response header finds it
    (`GET /v1/audit/predictions?request_key=...`). 503 `audit_unavailable` when the record cannot
    be made durable (the outbox is full because the database has been unavailable for long, or its
    disk fails): no prediction goes unaudited."""
    try:
        writer.check()  # refuse before predicting when the record could not be kept anyway
        # When a model process predicts, redact meanwhile, off the answer's path (when this process
        # predicts, a thread redacting at the same time would only slow it down).
        early = writer.redact_early(body.text) if triager.predicts_elsewhere() else None
        prediction, guidance = await triager.triage_async(body.text)
        key = uuid.uuid4().hex
        await writer.write(body.text, prediction, guidance, source="triage", request_key=key,
                           redaction=await early if early is not None else None)
    except AuditUnavailable as exc:
        raise ApiError(503, "audit_unavailable", f"audit records cannot be kept at the moment ({exc}); try again",
                       headers={"Retry-After": "5"}) from None
    return TRIAGE_RESPONSE({**prediction, "guidance": guidance}, headers={AUDIT_HEADER: key})
