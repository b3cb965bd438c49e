"""How an audit record appears in the API's answers: its summary in a listing, its detail with
reviews and gold labels, and the timestamps' format."""

from __future__ import annotations

from datetime import datetime, timezone

from api.agreement import HEADS, resolve_gold
from api.audit.filters import LOW_CONFIDENCE
from api.db.models import AuditRecord, Review
from api.errors import ApiError

PREVIEW_CHARS = 120


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def iso_week(value: datetime) -> str:
    year, week, _ = value.astimezone(timezone.utc).isocalendar()
    return f"{year}-W{week:02d}"


def record_not_found(record_id: int) -> ApiError:
    return ApiError(404, "record_not_found", f"no audit record with id {record_id}", field="id")


def summary(r: AuditRecord) -> dict:
    text = " ".join(r.redacted_text.split())
    return {
        "id": r.id, "created_at": iso(r.created_at), "source": r.source, "request_key": r.request_key,
        "chat_id": r.chat_id,
        "model_version": r.model_version, "spacy_pipeline": r.spacy_pipeline,
        "role": r.role, "minor": r.minor, "urgency": r.urgency, "topics": list(r.topics or []),
        "top_scores": {"role": r.role_score, "urgency": r.urgency_score},
        "needs_review": r.needs_review, "review_reasons": list((r.prediction or {}).get("review_reasons", [])),
        "low_confidence": r.role_score < LOW_CONFIDENCE or r.urgency_score < LOW_CONFIDENCE,
        "overridden": r.overridden, "review_count": r.review_count, "gold_resolved": r.gold_resolved,
        "preview": text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS - 1].rstrip() + "…",
    }


def detail(r: AuditRecord, reviews: list[Review], viewer: str | None = None) -> dict:
    """The record with its reviews and gold labels; those are hidden from a reviewer (`viewer`)
    who has not reviewed the record yet, so that each review is made independently."""
    hidden = viewer is not None and not any(v.reviewer == viewer for v in reviews)
    out = summary(r)
    out.update(
        text=r.redacted_text, text_chars=r.text_chars, text_truncated=r.text_truncated,
        redactions=dict(r.redactions or {}), raw_text_stored=r.raw_text is not None,
        message_count=r.message_count, prediction=r.prediction, explanation=(r.prediction or {}).get("explanation"),
        guidance=r.guidance, effective=r.effective, overrides=list(r.overrides or []),
        reviews=[] if hidden else [_review_out(v) for v in reviews],
        gold=None if hidden else _gold_out(r, reviews),
        reviews_hidden=hidden,
    )
    return out


def review_labels(review: Review) -> dict:
    return {"role": review.role, "minor": review.minor, "urgency": review.urgency, "topics": list(review.topics or [])}


def _review_out(v: Review) -> dict:
    return {"reviewer": v.reviewer, "reviewer_name": v.reviewer_name, "created_at": iso(v.created_at),
            "updated_at": iso(v.updated_at), "role_ok": v.role_ok, "minor_ok": v.minor_ok, "urgency_ok": v.urgency_ok,
            "topics_ok": v.topics_ok, "labels": review_labels(v), "note": v.note}


def _gold_out(r: AuditRecord, reviews: list[Review]) -> dict:
    resolved = resolve_gold([review_labels(v) for v in reviews])
    urgency_votes = resolved["votes"].get("urgency", {})
    top = max(urgency_votes.values(), default=0)
    tied = sum(1 for n in urgency_votes.values() if n == top) > 1
    return {"role": r.gold_role, "minor": r.gold_minor, "urgency": r.gold_urgency, "topics": r.gold_topics,
            "resolved": r.gold_resolved, "reviews": len(reviews), "votes": resolved["votes"],
            "unresolved": [h for h in HEADS if reviews and resolved[h] is None],
            "tie_broken": ["urgency"] if tied else []}
