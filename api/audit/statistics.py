"""Statistics of the audit records per ISO week and model version: review load, low confidence,
overrides, and the model's accuracy, under-triage, acute recall and confusion matrices against the
reviewed (gold) labels."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select

from api.audit.agreement import agreement
from api.audit.filters import LOW_CONFIDENCE, AuditFilters, _utc, low_confidence
from api.audit.head_rows import MODEL, REVIEWED_HEADS, class_labels, encode, labels_of, verdicts_of
from api.audit.record_views import iso
from api.db.models import AuditLabel, AuditRecord, Review
from api.db.session import Database
from triage.labels import HEAD_BY_NAME, SINGLE_LABEL_HEADS, URGENCY_RANK


def stats(db: Database, filters: AuditFilters) -> dict:
    r = AuditRecord
    where = filters.conditions()
    low = low_confidence()

    def flag(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    weeks: dict[str, dict] = {}
    with db.read() as session:
        for row in session.execute(
                select(r.week, func.count(), flag(r.needs_review.is_(True)), flag(low),
                       flag(r.overridden.is_(True)), flag(r.review_count > 0))
                .where(*where).group_by(r.week)):
            weeks[row[0]] = {"week": row[0], "records": int(row[1]), "needs_review": int(row[2]),
                             "low_confidence": int(row[3]), "overridden_records": int(row[4]),
                             "reviewed": int(row[5]),
                             **{head: dict.fromkeys(class_labels(HEAD_BY_NAME[head]), 0)
                                for head in SINGLE_LABEL_HEADS}}
        # The model's labels per week and head: a join on the label index.
        for week, head, label, n in session.execute(
                select(r.week, AuditLabel.head, AuditLabel.label, func.count())
                .join(AuditLabel, AuditLabel.record_id == r.id)
                .where(*where, AuditLabel.source == MODEL, AuditLabel.head.in_(SINGLE_LABEL_HEADS))
                .group_by(r.week, AuditLabel.head, AuditLabel.label)):
            weeks[week][head][label] = weeks[week][head].get(label, 0) + int(n)
        queue_where = [*where, r.chat_id.is_not(None)]
        chats = {week: (int(n), int(o)) for week, n, o in session.execute(
            select(r.week, func.count(func.distinct(r.chat_id)),
                   func.count(func.distinct(case((r.overridden.is_(True), r.chat_id), else_=None))))
            .where(*queue_where).group_by(r.week))}
        total_chats, overridden_chats = session.execute(
            select(func.count(func.distinct(r.chat_id)),
                   func.count(func.distinct(case((r.overridden.is_(True), r.chat_id), else_=None))))
            .where(*queue_where)).one()
        reviewed_rows = session.execute(
            select(r.id, r.model_version, r.week, r.review_count, r.gold_resolved)
            .where(*where, r.review_count > 0)).all()
        labels = labels_of(session, {x.id: x.review_count for x in reviewed_rows}, where=[*where, r.review_count > 0])
        reviewed = [_Reviewed(x.id, x.model_version, x.week, x.gold_resolved, labels[x.id].model, labels[x.id].gold)
                    for x in reviewed_rows]
        review_heads = session.execute(
            select(Review.id, Review.record_id, Review.reviewer).join(r, r.id == Review.record_id).where(*where)).all()
        verdicts = verdicts_of(session, [row.id for row in review_heads], where=where)
        review_rows = [{"record_id": row.record_id, "reviewer": row.reviewer, **verdicts[row.id].labels}
                       for row in review_heads]

    total = sum(w["records"] for w in weeks.values())
    out_weeks = []
    for week in sorted(weeks):
        w = weeks[week]
        n_chats, n_over = chats.get(week, (0, 0))
        w["needs_review_share"] = _share(w["needs_review"], w["records"])
        w["low_confidence_share"] = _share(w["low_confidence"], w["records"])
        w["chats"] = n_chats
        w["override_rate"] = _share(n_over, n_chats)
        w["accuracy"] = _accuracy([x for x in reviewed if x.week == week])
        out_weeks.append(w)
    by_version: dict[str, list] = defaultdict(list)
    for x in reviewed:
        by_version[x.model_version].append(x)
    reviewers = {row["reviewer"] for row in review_rows}
    return {
        "filters": {"from": iso(filters.date_from and _utc(filters.date_from)),
                    "to": iso(filters.date_to and _utc(filters.date_to)), "model_version": filters.model_version},
        "records": total,
        "needs_review": {"count": sum(w["needs_review"] for w in weeks.values()),
                         "share": _share(sum(w["needs_review"] for w in weeks.values()), total)},
        "low_confidence": {"count": sum(w["low_confidence"] for w in weeks.values()),
                           "share": _share(sum(w["low_confidence"] for w in weeks.values()), total),
                           "threshold": LOW_CONFIDENCE},
        "overrides": {"chats": int(total_chats or 0), "overridden_chats": int(overridden_chats or 0),
                      "rate": _share(int(overridden_chats or 0), int(total_chats or 0)),
                      "overridden_records": sum(w["overridden_records"] for w in weeks.values())},
        "reviews": {"reviews": len(review_rows), "reviewers": len(reviewers), "records_reviewed": len(reviewed),
                    "records_resolved": sum(1 for x in reviewed if x.gold_resolved),
                    "records_unresolved": sum(1 for x in reviewed if not x.gold_resolved),
                    "records_with_two_or_more": sum(1 for n in Counter(row["record_id"] for row in review_rows).values()
                                                    if n >= 2)},
        "weeks": out_weeks,
        "accuracy": {version: _accuracy(rows) for version, rows in sorted(by_version.items())},
        "agreement": agreement(review_rows),
        "under_triage": _under_triage(reviewed),
        "acute": _acute(reviewed),
        "confusion": {version: _confusion(rows) for version, rows in sorted(by_version.items())},
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class _Reviewed:
    """A reviewed record: its model and gold labels per head."""

    id: int
    model_version: str
    week: str
    gold_resolved: bool
    model: dict
    gold: dict


def _accuracy(rows: list[_Reviewed]) -> dict:
    """Per head, how often the model's label equals the gold label, on records where it is resolved
    (a multi-label head: the exact set)."""
    out: dict[str, Any] = {"reviewed": len(rows)}
    for head in REVIEWED_HEADS:
        name = head.name
        if head.kind == "multilabel":
            sets = [(set(x.model[name] or []), set(x.gold[name])) for x in rows if x.gold[name] is not None]
            out[name] = {"n": len(sets), "exact_match": _share(sum(1 for m, g in sets if m == g), len(sets))}
        else:
            pairs = [(x.model[name], x.gold[name]) for x in rows if x.gold[name] is not None]
            out[name] = {"n": len(pairs), "accuracy": _share(sum(1 for m, g in pairs if m == g), len(pairs))}
    return out


def _under_triage(rows: list[_Reviewed]) -> dict:
    """Under-triage: the share of reviewed records (with a resolved urgency) whose reviewed urgency
    is more urgent than the model's (the dangerous error: a chat waits longer than it should)."""
    pairs = [(x.model["urgency"], x.gold["urgency"]) for x in rows if x.gold["urgency"] is not None]
    under = sum(1 for model, gold in pairs if URGENCY_RANK[gold] < URGENCY_RANK[model])
    return {"records": len(pairs), "under": under, "rate": _share(under, len(pairs))}


def _acute(rows: list[_Reviewed]) -> dict:
    """Recall and precision of the model's "acute" against the reviewed urgency."""
    pairs = [(x.model["urgency"], x.gold["urgency"]) for x in rows if x.gold["urgency"] is not None]
    reviewed = sum(1 for _, gold in pairs if gold == "acute")
    predicted = sum(1 for model, _ in pairs if model == "acute")
    both = sum(1 for model, gold in pairs if model == gold == "acute")
    return {"records": len(pairs), "reviewed_acute": reviewed, "model_acute": predicted, "both": both,
            "recall": _share(both, reviewed), "precision": _share(both, predicted)}


def _confusion(rows: list[_Reviewed]) -> dict:
    """Per single-label head a confusion matrix: matrix[i][j] counts the records whose reviewed
    (gold) label is labels[i] and whose model label is labels[j]; records without a gold label for
    the head are left out."""
    from sklearn.metrics import confusion_matrix  # imported on first use, as in api/audit/agreement.py

    out = {}
    for name in SINGLE_LABEL_HEADS:
        head = HEAD_BY_NAME[name]
        labels = class_labels(head)
        pairs = [(encode(head, gold)[0], encode(head, x.model[name])[0])
                 for x in rows if (gold := x.gold[name]) is not None]
        if pairs:
            gold_labels, model_labels = zip(*pairs)
            matrix = confusion_matrix(gold_labels, model_labels, labels=labels).tolist()
        else:  # scikit-learn refuses an empty input
            matrix = [[0] * len(labels) for _ in labels]
        out[name] = {"labels": labels, "rows": "reviewed", "columns": "model", "matrix": matrix, "n": len(pairs)}
    return out
