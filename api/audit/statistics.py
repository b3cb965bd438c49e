"""Statistics of the audit records per ISO week and model version: review load, low confidence,
overrides, and the model's accuracy, under-triage, acute recall and confusion matrices against the
reviewed (gold) labels."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import case, func, or_, select

from api.agreement import HEADS, agreement
from api.audit.filters import LOW_CONFIDENCE, AuditFilters, _utc
from api.audit.record_views import iso
from api.db.models import AuditRecord, Review
from api.db.session import Database
from triage.labels import ROLES, URGENCIES, URGENCY_RANK


def stats(db: Database, filters: AuditFilters) -> dict:
    r = AuditRecord
    where = filters.conditions()
    low = or_(r.role_score < LOW_CONFIDENCE, r.urgency_score < LOW_CONFIDENCE)

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
                             "reviewed": int(row[5]), "role": dict.fromkeys(ROLES, 0),
                             "urgency": dict.fromkeys(URGENCIES, 0), "minor": {"true": 0, "false": 0}}
        for column, key in ((r.role, "role"), (r.urgency, "urgency"), (r.minor, "minor")):
            for week, label, n in session.execute(select(r.week, column, func.count()).where(*where)
                                                  .group_by(r.week, column)):
                name = ("true" if label else "false") if key == "minor" else label
                weeks[week][key][name] = weeks[week][key].get(name, 0) + int(n)
        queue_where = [*where, r.chat_id.is_not(None)]
        chats = {week: (int(n), int(o)) for week, n, o in session.execute(
            select(r.week, func.count(func.distinct(r.chat_id)),
                   func.count(func.distinct(case((r.overridden.is_(True), r.chat_id), else_=None))))
            .where(*queue_where).group_by(r.week))}
        total_chats, overridden_chats = session.execute(
            select(func.count(func.distinct(r.chat_id)),
                   func.count(func.distinct(case((r.overridden.is_(True), r.chat_id), else_=None))))
            .where(*queue_where)).one()
        reviewed = session.execute(
            select(r.id, r.model_version, r.week, r.role, r.minor, r.urgency, r.topics, r.gold_role, r.gold_minor,
                   r.gold_urgency, r.gold_topics, r.gold_resolved).where(*where, r.review_count > 0)).all()
        review_rows = session.execute(
            select(Review.record_id, Review.reviewer, Review.role, Review.minor, Review.urgency, Review.topics)
            .join(r, r.id == Review.record_id).where(*where)).all()

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
    reviewers = {row.reviewer for row in review_rows}
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
                    "records_with_two_or_more": sum(1 for n in Counter(row.record_id for row in review_rows).values()
                                                    if n >= 2)},
        "weeks": out_weeks,
        "accuracy": {version: _accuracy(rows) for version, rows in sorted(by_version.items())},
        "agreement": agreement([row._asdict() for row in review_rows]),
        "under_triage": _under_triage(reviewed),
        "acute": _acute(reviewed),
        "confusion": {version: _confusion(rows) for version, rows in sorted(by_version.items())},
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _accuracy(rows: list) -> dict:
    """Per head, how often the model's label equals the gold label, on records where it is resolved."""
    out: dict[str, Any] = {"reviewed": len(rows)}
    for head in HEADS:
        pairs = [(getattr(x, head), getattr(x, f"gold_{head}")) for x in rows if getattr(x, f"gold_{head}") is not None]
        out[head] = {"n": len(pairs), "accuracy": _share(sum(1 for m, g in pairs if m == g), len(pairs))}
    pairs = [(set(x.topics or []), set(x.gold_topics)) for x in rows if x.gold_topics is not None]
    out["topics"] = {"n": len(pairs), "exact_match": _share(sum(1 for m, g in pairs if m == g), len(pairs))}
    return out


def _under_triage(rows: list) -> dict:
    """Under-triage: the share of reviewed records (with a resolved urgency) whose reviewed urgency
    is more urgent than the model's (the dangerous error: a chat waits longer than it should)."""
    pairs = [(x.urgency, x.gold_urgency) for x in rows if x.gold_urgency is not None]
    under = sum(1 for model, gold in pairs if URGENCY_RANK[gold] < URGENCY_RANK[model])
    return {"records": len(pairs), "under": under, "rate": _share(under, len(pairs))}


def _acute(rows: list) -> dict:
    """Recall and precision of the model's "acute" against the reviewed urgency."""
    pairs = [(x.urgency, x.gold_urgency) for x in rows if x.gold_urgency is not None]
    reviewed = sum(1 for _, gold in pairs if gold == "acute")
    predicted = sum(1 for model, _ in pairs if model == "acute")
    both = sum(1 for model, gold in pairs if model == gold == "acute")
    return {"records": len(pairs), "reviewed_acute": reviewed, "model_acute": predicted, "both": both,
            "recall": _share(both, reviewed), "precision": _share(both, predicted)}


CONFUSION_LABELS = {"urgency": list(URGENCIES), "role": list(ROLES), "minor": ["true", "false"]}


def _confusion(rows: list) -> dict:
    """Per head a confusion matrix: matrix[i][j] counts the records whose reviewed (gold) label is
    labels[i] and whose model label is labels[j]; records without a gold label for the head are left out."""
    from sklearn.metrics import confusion_matrix  # imported on first use, as in api/agreement.py

    def key(head: str, value) -> str:
        return ("true" if value else "false") if head == "minor" else str(value)

    out = {}
    for head, labels in CONFUSION_LABELS.items():
        pairs = [(key(head, gold), key(head, getattr(x, head)))
                 for x in rows if (gold := getattr(x, f"gold_{head}")) is not None]
        if pairs:
            gold_labels, model_labels = zip(*pairs)
            matrix = confusion_matrix(gold_labels, model_labels, labels=labels).tolist()
        else:  # scikit-learn refuses an empty input
            matrix = [[0] * len(labels) for _ in labels]
        out[head] = {"labels": labels, "rows": "reviewed", "columns": "model", "matrix": matrix, "n": len(pairs)}
    return out
