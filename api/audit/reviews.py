"""Reviewers' reviews of audit records: storing a review and resolving the record's gold labels
from all its reviews (api/agreement.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.agreement import HEADS, resolve_gold
from api.audit.prediction_redaction import redact_text
from api.audit.record_views import detail, record_not_found, review_labels
from api.db.models import AuditRecord, Review, utcnow
from api.db.session import Database
from api.errors import ApiError
from triage.labels import TOPICS


def review(db: Database, record_id: int, body, reviewer: str, reviewer_name: str | None) -> tuple[dict, bool]:
    """Store a reviewer's review (a second one by the same reviewer replaces the first) and
    resolve the record's gold labels again. Returns (record detail, created)."""
    now = utcnow()
    note = redact_text(body.note) if body.note else None
    for attempt in range(2):
        try:
            with db.write() as session:
                # a row lock on PostgreSQL; SQLite ignores FOR UPDATE (its writes are serialised)
                query = select(AuditRecord).where(AuditRecord.id == record_id).with_for_update()
                record = session.scalars(query).first()
                if record is None:
                    raise record_not_found(record_id)
                labels = _review_labels(record, body)
                existing = session.scalars(select(Review).where(Review.record_id == record_id,
                                                                Review.reviewer == reviewer)).first()
                created = existing is None
                if created:
                    existing = Review(record_id=record_id, reviewer=reviewer, created_at=now)
                    session.add(existing)
                existing.reviewer_name = reviewer_name
                existing.updated_at = now
                existing.note = note
                for key, value in labels.items():
                    setattr(existing, key, value)
                session.flush()
                reviews = session.scalars(select(Review).where(Review.record_id == record_id)
                                          .order_by(Review.id)).all()
                gold = resolve_gold([review_labels(v) for v in reviews])
                record.review_count = len(reviews)
                record.gold_role, record.gold_minor, record.gold_urgency = gold["role"], gold["minor"], gold["urgency"]
                record.gold_topics = gold["topics"]
                record.gold_resolved = gold["resolved"]
                session.flush()
                return detail(record, reviews), created
        except IntegrityError:
            if attempt:  # the same reviewer's concurrent first review won: replace it
                raise
    raise AssertionError("unreachable")


def _review_labels(record: AuditRecord, body) -> dict:
    """The reviewer's labels per head: the model's where *_ok, else the correction (422 when the
    review contradicts itself)."""
    corrected = body.corrected
    out: dict[str, Any] = {}
    for head in HEADS:
        ok = getattr(body, f"{head}_ok")
        model_label = getattr(record, head)
        given = getattr(corrected, head) if corrected is not None else None
        field = f"corrected.{head}"
        if ok:
            if given is not None and given != model_label:
                raise ApiError(422, "contradictory_review", f"{head}_ok is true but {field} differs from the model's "
                                                            f"{head}; set {head}_ok to false to correct it", field=field)
            out[head] = model_label
        else:
            if given is None:
                raise ApiError(422, "correction_missing", f"{head}_ok is false: give the correct label in {field}",
                               field=field)
            if given == model_label:
                raise ApiError(422, "contradictory_review", f"{field} is the model's own {head}; set {head}_ok to "
                                                            f"true instead", field=field)
            out[head] = given
        out[f"{head}_ok"] = bool(ok)
    topics = list(record.topics or [])
    if corrected is not None and corrected.topics is not None:
        chosen = set(corrected.topics)
        out["topics"] = [t for t in TOPICS if t in chosen]
        out["topics_ok"] = chosen == set(topics)
    else:
        out["topics"] = [t for t in TOPICS if t in set(topics)]
        out["topics_ok"] = True
    return out
