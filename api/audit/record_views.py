"""How an audit record appears in the API's answers: its summary in a listing, its detail with
reviews and gold labels, and the timestamps' format."""

from __future__ import annotations

from datetime import datetime, timezone

from api.audit.agreement import TIE_BREAK, resolve_gold
from api.audit.filters import LOW_CONFIDENCE
from api.audit.head_rows import CONFIDENCE_HEADS, RecordLabels, Verdict
from api.db.models import AuditRecord, Review
from api.errors import ApiError
from triage.labels import SINGLE_LABEL_HEADS

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


def summary(r: AuditRecord, labels: RecordLabels) -> dict:
    text = " ".join(r.redacted_text.split())
    top = {head: labels.top_scores[head] for head in CONFIDENCE_HEADS}
    return {
        "id": r.id, "created_at": iso(r.created_at), "source": r.source, "request_key": r.request_key,
        "chat_id": r.chat_id,
        "model_version": r.model_version, "spacy_pipeline": r.spacy_pipeline,
        **labels.model,
        "top_scores": top,
        "needs_review": r.needs_review, "review_reasons": list((r.prediction or {}).get("review_reasons", [])),
        "low_confidence": any(score is not None and score < LOW_CONFIDENCE for score in top.values()),
        "overridden": r.overridden, "review_count": r.review_count, "gold_resolved": r.gold_resolved,
        "preview": text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS - 1].rstrip() + "…",
    }


def detail(r: AuditRecord, labels: RecordLabels, reviews: list[tuple[Review, Verdict]],
           viewer: str | None = None) -> dict:
    """The record with its reviews (each with its verdict) and gold labels; those are hidden from a
    reviewer (`viewer`) who has not reviewed the record yet, so that each review is made independently."""
    hidden = viewer is not None and not any(v.reviewer == viewer for v, _ in reviews)
    out = summary(r, labels)
    out.update(
        text=r.redacted_text, text_chars=r.text_chars, text_truncated=r.text_truncated,
        redactions=dict(r.redactions or {}), raw_text_stored=r.raw_text is not None,
        message_count=r.message_count, prediction=r.prediction, explanation=(r.prediction or {}).get("explanation"),
        guidance=r.guidance, effective=r.effective, overrides=list(r.overrides or []),
        reviews=[] if hidden else [_review_out(v, verdict) for v, verdict in reviews],
        gold=None if hidden else _gold_out(r, labels, [verdict for _, verdict in reviews]),
        reviews_hidden=hidden,
    )
    return out


def _review_out(v: Review, verdict: Verdict) -> dict:
    return {"reviewer": v.reviewer, "reviewer_name": v.reviewer_name, "created_at": iso(v.created_at),
            "updated_at": iso(v.updated_at), **{f"{head}_ok": ok for head, ok in verdict.ok.items()},
            "labels": dict(verdict.labels), "note": v.note}


def _gold_out(r: AuditRecord, labels: RecordLabels, verdicts: list[Verdict]) -> dict:
    resolved = resolve_gold([v.labels for v in verdicts])
    tie_broken = []
    for head in TIE_BREAK:
        votes = resolved["votes"].get(head, {})
        top = max(votes.values(), default=0)
        if sum(1 for n in votes.values() if n == top) > 1:
            tie_broken.append(head)
    return {**labels.gold,
            "resolved": r.gold_resolved, "reviews": len(verdicts), "votes": resolved["votes"],
            "unresolved": [h for h in SINGLE_LABEL_HEADS if verdicts and resolved[h] is None],
            "tie_broken": tie_broken}
