"""Reviewers' reviews of audit records: storing a review and resolving the record's gold labels
from all its reviews (api/audit/agreement.py). Heads come from the registry (api/audit/head_rows.py)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from api.audit.agreement import resolve_gold
from api.audit.head_rows import GOLD, REVIEWED_HEADS, Verdict, gold_rows, labels_of, review_rows, verdicts_of
from api.audit.prediction_redaction import redact_text
from api.audit.record_views import detail, record_not_found
from api.db.models import AuditLabel, AuditRecord, Review, ReviewLabel, utcnow
from api.db.session import Database
from api.errors import ApiError


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
                labels = labels_of(session, {record.id: record.review_count})[record.id]
                given = _verdict(labels.model, body)
                existing = session.scalars(select(Review).where(Review.record_id == record_id,
                                                                Review.reviewer == reviewer)).first()
                created = existing is None
                if created:
                    existing = Review(record_id=record_id, reviewer=reviewer, created_at=now)
                    session.add(existing)
                existing.reviewer_name = reviewer_name
                existing.updated_at = now
                existing.note = note
                session.flush()
                session.execute(delete(ReviewLabel).where(ReviewLabel.review_id == existing.id))
                session.execute(insert(ReviewLabel), review_rows(existing.id, given.labels, given.ok))
                reviews = session.scalars(select(Review).where(Review.record_id == record_id)
                                          .order_by(Review.id)).all()
                verdicts = verdicts_of(session, [v.id for v in reviews])
                gold = resolve_gold([verdicts[v.id].labels for v in reviews])
                record.review_count = len(reviews)
                record.gold_resolved = gold["resolved"]
                session.execute(delete(AuditLabel).where(AuditLabel.record_id == record_id,
                                                         AuditLabel.source == GOLD))
                if rows := gold_rows(record_id, gold):
                    session.execute(insert(AuditLabel), rows)
                session.flush()
                labels = labels_of(session, {record.id: record.review_count})[record.id]
                return detail(record, labels, [(v, verdicts[v.id]) for v in reviews]), created
        except IntegrityError:
            if attempt:  # the same reviewer's concurrent first review won: replace it
                raise
    raise AssertionError("unreachable")


def _verdict(model: dict, body) -> Verdict:
    """The reviewer's labels per head: the model's where `<head>_ok`, else the correction (422 when
    the review contradicts itself). A multi-label head has no `_ok` in the body: it is ok when the
    correction (optional) is the model's set."""
    corrected = body.corrected
    out = Verdict()
    for head in REVIEWED_HEADS:
        name = head.name
        model_label = model[name]
        given = getattr(corrected, name, None) if corrected is not None else None
        if head.kind == "multilabel":
            chosen = set(model_label or []) if given is None else set(given)
            out.labels[name] = [label for label in head.classes if label in chosen]
            out.ok[name] = chosen == set(model_label or [])
            continue
        ok = getattr(body, f"{name}_ok")
        field = f"corrected.{name}"
        if ok:
            if given is not None and given != model_label:
                raise ApiError(422, "contradictory_review", f"{name}_ok is true but {field} differs from the "
                                                            f"model's {name}; set {name}_ok to false to correct it",
                               field=field)
            out.labels[name] = model_label
        else:
            if given is None:
                raise ApiError(422, "correction_missing", f"{name}_ok is false: give the correct label in {field}",
                               field=field)
            if given == model_label:
                raise ApiError(422, "contradictory_review", f"{field} is the model's own {name}; set {name}_ok to "
                                                            f"true instead", field=field)
            out.labels[name] = given
        out.ok[name] = bool(ok)
    return out
