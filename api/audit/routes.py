"""The reviewers' workflow: audit records of served predictions, reviews, export and statistics."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse

from api.audit import MAX_PAGE, AuditFilters
from api.deps import REVIEW, AuditDep, require
from api.errors import ApiError
from api.responses import JsonAnswer
from api.audit.schemas import AuditPage, AuditRecordDetail, AuditStats, ReviewRequest
from api.schemas import CHAT_ID_PATTERN, FILTER_RANGE, MAX_RECORD_ID, ErrorOut, FilterTime, Role, Urgency
from api.security import Principal

router = APIRouter(prefix="/v1/audit", tags=["audit"])

ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}}
AUDIT_PAGE, AUDIT_RECORD, AUDIT_STATS = JsonAnswer(AuditPage), JsonAnswer(AuditRecordDetail), JsonAnswer(AuditStats)
RecordId = Annotated[int, Path(ge=1, le=MAX_RECORD_ID, description="the audit record's id")]


def _period(date_from: datetime | None, date_to: datetime | None) -> None:
    def utc(v):
        return v.replace(tzinfo=timezone.utc) if v.tzinfo is None else v

    if date_from is not None and date_to is not None and utc(date_from) > utc(date_to):
        raise ApiError(422, "invalid_period", "'from' lies after 'to'", field="from")


async def period_filters(
    date_from: Annotated[FilterTime | None, Query(alias="from", description="records created at or after this time "
                                                  f"(ISO-8601; without a timezone: UTC; {FILTER_RANGE})")] = None,
    date_to: Annotated[FilterTime | None, Query(alias="to", description="records created before this time "
                                                f"({FILTER_RANGE})")] = None,
    model_version: Annotated[str | None, Query(max_length=100, description="only this model version")] = None,
) -> AuditFilters:
    _period(date_from, date_to)
    return AuditFilters(date_from=date_from, date_to=date_to, model_version=model_version)


async def record_filters(
    base: Annotated[AuditFilters, Depends(period_filters)],
    needs_review: Annotated[bool | None, Query(description="the model flagged the record for review")] = None,
    low_confidence: Annotated[bool | None, Query(description="top role or urgency score below 0.6")] = None,
    overridden: Annotated[bool | None, Query(description="an advisor overrode the triage")] = None,
    reviewed: Annotated[bool | None, Query(description="has at least one review")] = None,
    resolved: Annotated[bool | None, Query(description="its gold labels are resolved from the reviews")] = None,
    role: Annotated[Role | None, Query(description="the model's role")] = None,
    urgency: Annotated[Urgency | None, Query(description="the model's urgency")] = None,
    minor: Annotated[bool | None, Query(description="the model's minor")] = None,
    source: Annotated[Literal["triage", "chat", "message", "queue"] | None,
                      Query(description="triage: POST /v1/triage; chat: a new chat; message: re-triage on a new "
                                        "message; queue: chat or message")] = None,
    chat_id: Annotated[str | None, Query(max_length=64, pattern=CHAT_ID_PATTERN)] = None,
    request_key: Annotated[str | None, Query(pattern=r"^[0-9a-f]{32}$",
                                             description="the X-Audit-Record-Key of a POST /v1/triage")] = None,
) -> AuditFilters:
    base.needs_review, base.low_confidence, base.overridden = needs_review, low_confidence, overridden
    base.reviewed, base.resolved, base.role, base.urgency, base.minor = reviewed, resolved, role, urgency, minor
    base.source, base.chat_id, base.request_key = source, chat_id, request_key
    return base


def reviewer_id(principal: Principal) -> str:
    """Who a reviewer is: the key's non-secret id (one review per reviewer per record)."""
    return principal.key_id or principal.label


@router.get("/predictions", response_model=AuditPage, responses=ERRORS, summary="Audit records, newest first")
def list_records(filters: Annotated[AuditFilters, Depends(record_filters)], audit: AuditDep,
                 limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size (at most {MAX_PAGE})")] = 50,
                 cursor: Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous "
                                                                                 "page")] = None,
                 _p: Principal = Depends(require(*REVIEW))):
    """Filters combine with AND. Pages are keyset-paginated: follow `next_cursor` until it is null
    (stable while new records arrive: they are newer than every page already read)."""
    return AUDIT_PAGE(audit.list(filters, limit, cursor))


@router.get("/predictions/{record_id}", response_model=AuditRecordDetail, responses=ERRORS,
            summary="One audit record with its explanation, overrides, reviews and gold labels")
def get_record(record_id: RecordId, audit: AuditDep, principal: Principal = Depends(require(*REVIEW))):
    """Reviews are made independently: for a key with the `reviewer` role that has not reviewed
    this record yet, `reviews` is empty, `gold` is null and `reviews_hidden` is true (the other
    reviewers' verdicts and the gold labels follow once it has posted its own review). The admin
    sees everything."""
    viewer = reviewer_id(principal) if principal.role == "reviewer" else None
    return AUDIT_RECORD(audit.get(record_id, viewer))


@router.post("/predictions/{record_id}/reviews", response_model=AuditRecordDetail, status_code=201,
             responses={200: {"model": AuditRecordDetail}, **ERRORS}, summary="Review a prediction")
def review_record(record_id: RecordId, body: ReviewRequest, audit: AuditDep,
                  principal: Principal = Depends(require(*REVIEW))):
    """Head by head: is the model's label right (`role_ok`, `minor_ok`, `urgency_ok`)? Where not,
    give the right label in `corrected`; `corrected.topics` is the complete right topic set. The
    reviewer is the API key (each reviewer has a key of their own). One review per reviewer per
    record: 201 for a first review, 200 when it replaces the reviewer's earlier review. Answers
    with the record, its reviews and the gold labels resolved from them."""
    record, created = audit.review(record_id, body, reviewer_id(principal), principal.name)
    return AUDIT_RECORD(record, 201 if created else 200)


@router.get("/export", responses={200: {"content": {"application/x-ndjson": {}},
                                        "description": "training JSONL, one reviewed record per line"}, **ERRORS},
            response_class=StreamingResponse, summary="Reviewed records with gold labels as training JSONL")
def export(filters: Annotated[AuditFilters, Depends(period_filters)], audit: AuditDep,
           principal: Principal = Depends(require(*REVIEW))):
    """Records whose gold labels are resolved, oldest first, in the opener format of
    docs/training-data.md (`id`, redacted `text`, gold `role`, `minor`, `urgency`, `topics`, plus
    metadata). Streamed: `triage train --data export.jsonl --with-seed`. A key with the `reviewer`
    role gets only the records it reviewed itself (settled labels stay hidden until one's own
    review); the admin gets every settled record."""
    viewer = reviewer_id(principal) if principal.role == "reviewer" else None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(audit.export_lines(filters, viewer=viewer), media_type="application/x-ndjson",
                             headers={"Content-Disposition": f'attachment; filename="triage-audit-{stamp}.jsonl"'})


@router.get("/stats", response_model=AuditStats, responses=ERRORS,
            summary="Label distribution per week, review and override rates, accuracy per model version, "
                    "agreement, under-triage, acute recall and precision, confusion matrices")
def stats(filters: Annotated[AuditFilters, Depends(period_filters)], audit: AuditDep,
          _p: Principal = Depends(require(*REVIEW))) -> dict[str, Any]:
    return AUDIT_STATS(audit.stats(filters))
