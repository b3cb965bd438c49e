"""Filters and paging of the audit records: which records a listing, export or statistic covers,
and the opaque cursor of the listing's next page."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import or_

from api.db.models import AuditRecord
from api.errors import ApiError
from api.schemas import MAX_RECORD_ID

LOW_CONFIDENCE = 0.6      # a record is low-confidence when its top role or urgency score is below this
MAX_PAGE = 200


@dataclass
class AuditFilters:
    needs_review: bool | None = None
    low_confidence: bool | None = None
    overridden: bool | None = None
    reviewed: bool | None = None
    resolved: bool | None = None
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
                              (r.gold_resolved, self.resolved), (r.role, self.role), (r.minor, self.minor),
                              (r.urgency, self.urgency), (r.model_version, self.model_version),
                              (r.chat_id, self.chat_id), (r.request_key, self.request_key)):
            if value is not None:
                where.append(column == value)
        if self.source is not None:
            where.append(r.source.in_(("chat", "message")) if self.source == "queue" else r.source == self.source)
        if self.low_confidence is not None:
            low = or_(r.role_score < LOW_CONFIDENCE, r.urgency_score < LOW_CONFIDENCE)
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
