"""The heads' labels as rows (api/db/models.py: audit_labels, review_labels): a head's value as
row labels and back, the rows of a prediction, of gold labels and of a review, and reading them.

Everything here loops over triage.labels.HEAD_REGISTRY, so a new head is stored, read, reviewed
and counted without a column or a migration of its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import AuditLabel, AuditRecord, Review, ReviewLabel
from triage.labels import HEAD_REGISTRY, Head

MODEL, GOLD = "model", "gold"
REVIEWED_HEADS: tuple[Head, ...] = tuple(h for h in HEAD_REGISTRY if h.reviewed)
# The heads whose top score makes a record low-confidence: the multiclass ones (a binary head's
# top score is never below 0.5, a multi-label head has no single top).
CONFIDENCE_HEADS: tuple[str, ...] = tuple(h.name for h in HEAD_REGISTRY if h.kind == "multiclass")


def encode(head: Head, value: Any) -> list[str]:
    """A head's value as row labels: one for a single-label head ("true"/"false" for a binary
    one), the set in the head's class order for a multi-label head."""
    if head.kind == "multilabel":
        chosen = {str(v) for v in (value or [])}
        known = [str(c) for c in head.classes if str(c) in chosen]
        return known + sorted(chosen - set(known))
    if head.kind == "binary":
        return ["true" if value else "false"]
    return [str(value)]


def decode(head: Head, labels: Iterable[str | None]) -> Any:
    """Row labels back to the head's value; None for a single-label head without a row."""
    present = [label for label in labels if label is not None]
    if head.kind == "multilabel":
        return encode(head, present)
    if not present:
        return None
    return present[0] == "true" if head.kind == "binary" else present[0]


def class_labels(head: Head) -> list[str]:
    """A single-label head's labels as the statistics report them (binary: "true", "false")."""
    return ["true", "false"] if head.kind == "binary" else [str(c) for c in head.classes]


# --- rows to write -----------------------------------------------------------------------------------

def model_rows(prediction: Mapping) -> list[list]:
    """[head, label, score] per row of the model's labels (JSON-friendly: the audit outbox holds
    them). A single-label head's score is its top score, a multi-label label's its own score."""
    scores = prediction.get("scores", {})
    rows: list[list] = []
    for head in HEAD_REGISTRY:
        head_scores = scores.get(head.name) or {}
        if head.kind == "multilabel":
            for label in encode(head, prediction.get(head.name, [])):
                score = head_scores.get(label)
                rows.append([head.name, label, None if score is None else float(score)])
        else:
            top = float(max(head_scores.values(), default=0.0))
            rows.append([head.name, encode(head, prediction[head.name])[0], top])
    return rows


def audit_label_rows(record_id: int, rows: Iterable[list]) -> list[dict]:
    return [{"record_id": record_id, "source": MODEL, "head": head, "label": label, "score": score}
            for head, label, score in rows]


def gold_rows(record_id: int, gold: Mapping) -> list[dict]:
    """The rows of the resolved gold labels (api.audit.agreement.resolve_gold); none for an unresolved head."""
    return [{"record_id": record_id, "source": GOLD, "head": head.name, "label": label, "score": None}
            for head in REVIEWED_HEADS if gold.get(head.name) is not None
            for label in encode(head, gold[head.name])]


def review_rows(review_id: int, labels: Mapping, ok: Mapping) -> list[dict]:
    """A review's rows: its label(s) and verdict per head; an empty multi-label set keeps its
    verdict in one row with label NULL."""
    out = []
    for head in REVIEWED_HEADS:
        for label in encode(head, labels[head.name]) or [None]:
            out.append({"review_id": review_id, "head": head.name, "label": label, "ok": bool(ok[head.name])})
    return out


# --- reading -----------------------------------------------------------------------------------------

@dataclass
class RecordLabels:
    """An audit record's labels per head, decoded."""

    model: dict[str, Any] = field(default_factory=dict)
    top_scores: dict[str, float] = field(default_factory=dict)   # single-label heads
    gold: dict[str, Any] = field(default_factory=dict)           # None: unresolved or not reviewed


def record_labels(rows: Iterable, reviewed: bool) -> RecordLabels:
    """From one record's rows (source, head, label, score). `reviewed`: the record has reviews, so
    a multi-label head without gold rows has the empty set as gold (without reviews: None)."""
    grouped: dict[tuple[str, str], list] = defaultdict(list)
    for source, head, label, score in rows:
        grouped[(source, head)].append((label, score))
    out = RecordLabels()
    for head in HEAD_REGISTRY:
        model = grouped.get((MODEL, head.name), [])
        out.model[head.name] = decode(head, [label for label, _ in model])
        if head.kind != "multilabel":
            out.top_scores[head.name] = model[0][1] if model else None
    for head in REVIEWED_HEADS:
        gold = grouped.get((GOLD, head.name))
        if gold is None:
            out.gold[head.name] = [] if head.kind == "multilabel" and reviewed else None
        else:
            out.gold[head.name] = decode(head, [label for label, _ in gold])
    return out


def labels_of(session: Session, review_counts: Mapping[int, int], where: list | None = None) -> dict[int, RecordLabels]:
    """The labels of the records {id: review_count}: by their ids (the primary key), or, given
    `where` (conditions on audit_records that select exactly those records), in one join."""
    rows: dict[int, list] = defaultdict(list)
    columns = (AuditLabel.record_id, AuditLabel.source, AuditLabel.head, AuditLabel.label, AuditLabel.score)
    if where is not None:
        queries = [select(*columns).join(AuditRecord, AuditRecord.id == AuditLabel.record_id).where(*where)]
    else:
        ids = list(review_counts)
        queries = [select(*columns).where(AuditLabel.record_id.in_(ids[start:start + 500]))  # bounded IN lists
                   for start in range(0, len(ids), 500)]
    for query in queries:
        for record_id, source, head, label, score in session.execute(query):
            rows[record_id].append((source, head, label, score))
    return {rid: record_labels(rows.get(rid, []), bool(n)) for rid, n in review_counts.items()}


@dataclass
class Verdict:
    """A review's labels and whether each confirms the model's (`ok`), per reviewed head."""

    labels: dict[str, Any] = field(default_factory=dict)
    ok: dict[str, bool] = field(default_factory=dict)


def verdict(rows: Iterable) -> Verdict:
    """From one review's rows (head, label, ok)."""
    grouped: dict[str, list] = defaultdict(list)
    for head, label, ok in rows:
        grouped[head].append((label, ok))
    out = Verdict()
    for head in REVIEWED_HEADS:
        found = grouped.get(head.name, [])
        out.labels[head.name] = decode(head, [label for label, _ in found])
        out.ok[head.name] = bool(found and found[0][1])
    return out


def verdicts_of(session: Session, review_ids: Iterable[int], where: list | None = None) -> dict[int, Verdict]:
    """The verdicts of the reviews: by their ids, or, given `where` (conditions on audit_records
    that select exactly the records of those reviews), in one join."""
    ids = list(review_ids)
    rows: dict[int, list] = defaultdict(list)
    columns = (ReviewLabel.review_id, ReviewLabel.head, ReviewLabel.label, ReviewLabel.ok)
    if where is not None:
        queries = [select(*columns).join(Review, Review.id == ReviewLabel.review_id)
                   .join(AuditRecord, AuditRecord.id == Review.record_id).where(*where).order_by(ReviewLabel.id)]
    else:
        queries = [select(*columns).where(ReviewLabel.review_id.in_(ids[start:start + 500])).order_by(ReviewLabel.id)
                   for start in range(0, len(ids), 500)]
    for query in queries:
        for review_id, head, label, ok in session.execute(query):
            rows[review_id].append((head, label, ok))
    return {rid: verdict(rows.get(rid, [])) for rid in ids}
