"""Storage of the audit records: AuditStore builds a record's (redacted) values, writes it, links
advisors' overrides to it and reads records back; reviews, export and statistics are delegated to
their modules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from api.audit import export, reviews, statistics
from api.audit.filters import AuditFilters, decode_cursor, encode_cursor
from api.audit.head_rows import audit_label_rows, labels_of, model_rows, verdicts_of
from api.audit.prediction_redaction import load_redaction, redact_prediction
from api.audit.record_views import detail, iso_week, record_not_found, summary
from api.db.models import AuditLabel, AuditRecord, Review, utcnow
from api.db.session import Database
from triage.labels import HEADS, OVERRIDABLE_HEADS

# What a record's values held per head before the labels were rows (migration 0007).
_OLD_HEAD_KEYS = frozenset((*HEADS, *(f"{head}_score" for head in HEADS)))
# The effective triage a queue record keeps: the heads an advisor can override, and needs_review.
_EFFECTIVE_KEYS = (*OVERRIDABLE_HEADS, "needs_review")


def split_values(values: dict) -> tuple[dict, list[list]]:
    """(audit_records columns, model label rows [head, label, score]) of a record's values
    (AuditStore.build). Values written before the labels were rows (an outbox line of an older
    server) carry per-head columns and no "labels": their rows come from the stored prediction,
    which holds the same labels and scores, and the old columns are dropped."""
    rows = values.get("labels")
    if rows is None:
        rows = model_rows(values["prediction"])
    return {k: v for k, v in values.items() if k != "labels" and k not in _OLD_HEAD_KEYS}, rows


class AuditStore:
    def __init__(self, db: Database, settings):
        self.db = db
        self.settings = settings
        load_redaction()

    # --- writing ---------------------------------------------------------------------------------
    def build(self, text: str, prediction: dict, guidance: list[dict], *, source: str,
              chat_id: str | None = None, message_count: int | None = None, effective: dict | None = None,
              truncated: bool = False, now: datetime | None = None, request_key: str | None = None,
              redaction=None) -> dict:
        """The values of an audit record (redaction happens here, outside any transaction, unless
        `redaction`, redact(text), was made beforehand)."""
        now = now or utcnow()
        redacted, safe, counts = redact_prediction(text, prediction, redaction)
        return dict(
            created_at=now, week=iso_week(now), source=source, request_key=request_key, chat_id=chat_id,
            message_count=message_count,
            model_version=prediction["model_version"], spacy_pipeline=prediction.get("spacy_pipeline", ""),
            labels=model_rows(prediction),
            needs_review=bool(prediction.get("needs_review")), redacted_text=redacted, text_chars=len(text),
            text_truncated=truncated, redactions=counts,
            raw_text=text if self.settings.store_raw_text else None,
            prediction=safe,
            guidance=[{"id": c["id"], "title": c.get("title", ""), "reason": c.get("reason", "")} for c in guidance],
            effective=({k: v for k, v in effective.items() if k in _EFFECTIVE_KEYS} if effective else None),
            overridden=False, overrides=[], review_count=0, gold_resolved=False,
        )

    @staticmethod
    def add(session: Session, values: dict) -> AuditRecord:
        """Insert a record and its model label rows (in the caller's transaction)."""
        columns, rows = split_values(values)
        record = AuditRecord(**columns)
        session.add(record)
        session.flush()
        if rows:
            session.execute(insert(AuditLabel), audit_label_rows(record.id, rows))
        return record

    def record(self, values: dict) -> int:
        with self.db.write() as session:
            return self.add(session, values).id

    def add_override(self, session: Session, chat_id: str, entry: dict) -> int | None:
        """Link an advisor's override to the chat's latest audit record (in the caller's transaction).
        The entry's reason must already be redacted (redact_text)."""
        # a row lock on PostgreSQL; SQLite ignores FOR UPDATE (its writes are serialised)
        query = (select(AuditRecord).where(AuditRecord.chat_id == chat_id).order_by(AuditRecord.id.desc()).limit(1)
                 .with_for_update())
        record = session.scalars(query).first()
        if record is None:
            return None
        record.overrides = [*(record.overrides or []), entry]
        record.overridden = True
        return record.id

    # --- reading ---------------------------------------------------------------------------------
    def list(self, filters: AuditFilters, limit: int = 50, cursor: str | None = None) -> dict:
        where = filters.conditions()
        page_where = list(where)
        if cursor:
            page_where.append(AuditRecord.id < decode_cursor(cursor))
        with self.db.read() as session:
            rows = session.scalars(select(AuditRecord).where(*page_where).order_by(AuditRecord.id.desc())
                                   .limit(limit + 1)).all()
            total = session.scalar(select(func.count()).select_from(AuditRecord).where(*where))
            more = len(rows) > limit
            page = rows[:limit]
            labels = labels_of(session, {r.id: r.review_count for r in page})
            items = [summary(r, labels[r.id]) for r in page]
        return {"items": items, "count": len(items), "total": int(total or 0), "limit": limit,
                "next_cursor": encode_cursor(items[-1]["id"]) if more else None}

    def get(self, record_id: int, viewer: str | None = None) -> dict:
        """One record with its reviews and gold labels. `viewer`: the id of a reviewer who reads
        it; until that reviewer has reviewed the record themselves, the other reviewers' reviews
        and the gold labels are left out (`reviews_hidden`), so that each review is made
        independently. None (the admin): everything."""
        with self.db.read() as session:
            record = session.get(AuditRecord, record_id)
            if record is None:
                raise record_not_found(record_id)
            reviews = session.scalars(select(Review).where(Review.record_id == record_id).order_by(Review.id)).all()
            verdicts = verdicts_of(session, [v.id for v in reviews])
            labels = labels_of(session, {record.id: record.review_count})[record.id]
            return detail(record, labels, [(v, verdicts[v.id]) for v in reviews], viewer)

    # --- reviews, export, statistics (their own modules) ------------------------------------------
    def review(self, record_id: int, body, reviewer: str, reviewer_name: str | None) -> tuple[dict, bool]:
        return reviews.review(self.db, record_id, body, reviewer, reviewer_name)

    def export_lines(self, filters: AuditFilters, *, end_line: bool = True,
                     viewer: str | None = None) -> Iterator[bytes]:
        return export.export_lines(self.db, filters, end_line=end_line, viewer=viewer)

    def gold_examples(self) -> list:
        return export.gold_examples(self.db)

    def stats(self, filters: AuditFilters) -> dict:
        return statistics.stats(self.db, filters)
