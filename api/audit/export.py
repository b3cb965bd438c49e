"""Export of the reviewed audit records with resolved gold labels as training JSONL
(docs/training-data.md), and the same records as labelled texts for the quality gate."""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import select

from api.audit.filters import AuditFilters
from api.audit.head_rows import REVIEWED_HEADS, labels_of
from api.audit.record_views import iso
from api.db.models import AuditRecord, Review
from api.db.session import Database
from triage.labels import HEADS, MAX_TEXT_CHARS

EXPORT_CHUNK = 500


def export_lines(db: Database, filters: AuditFilters, *, end_line: bool = True,
                 viewer: str | None = None) -> Iterator[bytes]:
    """Reviewed records with resolved gold labels as training JSONL (docs/training-data.md),
    oldest first, read in chunks (each chunk its own short transaction). The last line says the
    export is complete (triage/export_file.py): a cut stream lacks it. `viewer`: a reviewer
    sees settled labels only of records they reviewed themselves (reviews stay independent)."""
    from api.predictions.service import combine_client_text
    from triage.export_file import ExportDigest

    digest = ExportDigest()
    after = 0
    where = [*filters.conditions(), AuditRecord.gold_resolved.is_(True)]
    if viewer is not None:
        where.append(AuditRecord.id.in_(select(Review.record_id).where(Review.reviewer == viewer)))
    while True:
        with db.read() as session:
            rows = session.execute(
                select(AuditRecord.id, AuditRecord.redacted_text, AuditRecord.model_version,
                       AuditRecord.created_at, AuditRecord.review_count)
                .where(*where, AuditRecord.id > after).order_by(AuditRecord.id).limit(EXPORT_CHUNK)).all()
            labels = labels_of(session, {row.id: row.review_count for row in rows})
        if not rows:
            if end_line:
                yield digest.end_line()
            return
        for row in rows:
            text, _ = combine_client_text([row.redacted_text], MAX_TEXT_CHARS)
            if not text.strip():
                continue
            line = {"id": f"audit-{row.id}", "text": text, **_gold_labels(labels[row.id].gold),
                    "origin": "audit", "audit_id": row.id, "model_version": row.model_version,
                    "created_at": iso(row.created_at), "reviews": row.review_count}
            encoded = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
            digest.add(encoded)
            yield encoded
        after = rows[-1].id


def _gold_labels(gold: dict) -> dict:
    """A resolved record's gold labels as training labels (docs/training-data.md): a binary head
    as a bool, a multi-label head as its known labels in class order."""
    out = {}
    for head in REVIEWED_HEADS:
        value = gold[head.name]
        if head.kind == "binary":
            value = bool(value)
        elif head.kind == "multilabel":
            value = [label for label in head.classes if label in (value or [])]
        out[head.name] = value
    return out


def gold_examples(db: Database) -> list:
    """The resolved gold records as labelled texts (for the quality gate)."""
    from triage.versions.gate import LabelledText

    examples = []
    for line in export_lines(db, AuditFilters(), end_line=False):
        d = json.loads(line)
        examples.append(LabelledText(id=d["id"], text=d["text"], **{head: d[head] for head in HEADS},
                                     source="audit", split="test"))
    return examples
