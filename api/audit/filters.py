"""Filters and paging of the audit records: which records a listing, export or statistic covers,
and the opaque cursor of the listing's next page."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from api.audit.head_rows import CONFIDENCE_HEADS, MODEL, encode
from api.db.models import AuditLabel, AuditRecord
from api.errors import ApiError
from api.schemas import MAX_RECORD_ID
from triage.labels import HEAD_BY_NAME, SINGLE_LABEL_HEADS

LOW_CONFIDENCE = 0.6      # a record is low-confidence when a multiclass head's top score is below this
MAX_PAGE = 200


def with_label(head: str, value, source: str = MODEL):
    """Records whose `source` label of a single-label head is `value` (reads the label index only)."""
    label = encode(HEAD_BY_NAME[head], value)[0]
    return AuditRecord.id.in_(select(AuditLabel.record_id).where(
        AuditLabel.head == head, AuditLabel.source == source, AuditLabel.label == label))


def low_confidence():
    """Records with a multiclass head's top score below LOW_CONFIDENCE (a range of the score index
    per head)."""
    return AuditRecord.id.in_(select(AuditLabel.record_id).where(
        AuditLabel.head.in_(CONFIDENCE_HEADS), AuditLabel.source == MODEL, AuditLabel.score < LOW_CONFIDENCE))


@dataclass
class AuditFilters:
    needs_review: bool | None = None
    low_confidence: bool | None = None
    overridden: bool | None = None
    reviewed: bool | None = None
    resolved: bool | None = None
    # The model's label of a single-label head (named as the head; the router sets them).
    role: str | None = None
    minor: bool | None = None
    urgency: str | None = None
    model_version: str | None = None
    source: str | None = None
    chat_id: str | None = None
    request_key: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None

    def conditions(self) -> list:
        r = AuditRecord
        where = []
        for column, value in ((r.needs_review, self.needs_review), (r.overridden, self.overridden),
                              (r.gold_resolved, self.resolved), (r.model_version, self.model_version),
                              (r.chat_id, self.chat_id), (r.request_key, self.request_key)):
            if value is not None:
                where.append(column == value)
        for head in SINGLE_LABEL_HEADS:
            value = getattr(self, head, None)
            if value is not None:
                where.append(with_label(head, value))
        if self.source is not None:
            where.append(r.source.in_(("chat", "message")) if self.source == "queue" else r.source == self.source)
        if self.low_confidence is not None:
            low = low_confidence()
            where.append(low if self.low_confidence else ~low)
        if self.reviewed is not None:
            where.append(r.review_count > 0 if self.reviewed else r.review_count == 0)
        if self.date_from is not None:
            where.append(r.created_at >= _utc(self.date_from))
        if self.date_to is not None:
            where.append(r.created_at < _utc(self.date_to))
        return where


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def encode_cursor(record_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{record_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        if prefix != "id" or not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_RECORD_ID:
            raise ValueError  # also ids the database cannot hold (MAX_RECORD_ID)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(422, "invalid_cursor", "cursor is not a cursor returned by this endpoint",
                       field="cursor") from None
