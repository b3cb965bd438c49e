"""per-head labels, scores and gold labels as rows, so a new head needs no migration of its own

- audit_labels(record_id, source 'model'|'gold', head, label, score): the model's labels and top
  scores and the resolved gold labels of an audit record, one row per label (a multi-label head
  such as topics: one row per label in its set);
- review_labels(review_id, head, label, ok): a reviewer's label(s) and verdict per head (an empty
  multi-label set: one row with label NULL, which keeps its verdict);
- the per-head columns of audit_records (role, minor, urgency, topics, role_score, urgency_score,
  gold_role, gold_minor, gold_urgency, gold_topics) and reviews (role_ok, minor_ok, urgency_ok,
  topics_ok, role, minor, urgency, topics) are copied into them and dropped.

The minor's top score and the topics' scores had no column: they come from the stored (redacted)
prediction, which holds the model's scores.

SQLite: the columns are dropped in place (ALTER TABLE DROP COLUMN, SQLite 3.35+), not by
rebuilding the table as batch mode does by default: rebuilding drops the old audit_records, and
with foreign_keys=ON (api/db/session.py) that deletes every review and label row through their ON
DELETE CASCADE. For the same reason the downgrade leaves the restored columns nullable on SQLite
(NOT NULL would need the rebuild); on PostgreSQL they are NOT NULL again as in 0006.

The heads are named here on purpose: this is the frozen schema of 0006, not the registry.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CHUNK = 1000
SINGLE = ("role", "minor", "urgency")  # the single-label heads of 0006
# The topics in the order 0006 stored them (the label scheme's order): rows have no order.
TOPIC_ORDER = ("physical", "psychological", "sexual", "neglect", "financial", "coercive_control", "stalking",
               "honour_related", "child_abuse", "elder_abuse", "exploitation", "digital")
RECORD_COLUMNS = ("role", "minor", "urgency", "topics", "role_score", "urgency_score",
                  "gold_role", "gold_minor", "gold_urgency", "gold_topics")
REVIEW_COLUMNS = ("role_ok", "minor_ok", "urgency_ok", "topics_ok", "role", "minor", "urgency", "topics")

# Lightweight tables for the copy (the models move on; a migration must not follow them).
records = sa.table(
    "audit_records", sa.column("id", sa.Integer), sa.column("prediction", sa.JSON),
    sa.column("review_count", sa.Integer), sa.column("role", sa.String), sa.column("minor", sa.Boolean),
    sa.column("urgency", sa.String), sa.column("topics", sa.JSON), sa.column("role_score", sa.Float),
    sa.column("urgency_score", sa.Float), sa.column("gold_role", sa.String), sa.column("gold_minor", sa.Boolean),
    sa.column("gold_urgency", sa.String), sa.column("gold_topics", sa.JSON))
reviews = sa.table(
    "reviews", sa.column("id", sa.Integer), sa.column("role_ok", sa.Boolean), sa.column("minor_ok", sa.Boolean),
    sa.column("urgency_ok", sa.Boolean), sa.column("topics_ok", sa.Boolean), sa.column("role", sa.String),
    sa.column("minor", sa.Boolean), sa.column("urgency", sa.String), sa.column("topics", sa.JSON))
audit_labels = sa.table(
    "audit_labels", sa.column("record_id", sa.Integer), sa.column("source", sa.String),
    sa.column("head", sa.String), sa.column("label", sa.String), sa.column("score", sa.Float))
review_labels = sa.table(
    "review_labels", sa.column("id", sa.Integer), sa.column("review_id", sa.Integer), sa.column("head", sa.String),
    sa.column("label", sa.String), sa.column("ok", sa.Boolean))


def _text(head: str, value) -> str:
    return ("true" if value else "false") if head == "minor" else str(value)


def _chunks(bind, table, columns):
    """The rows of `table` in id order, CHUNK at a time (bounded memory on a large table)."""
    after = 0
    while True:
        rows = bind.execute(sa.select(*columns).where(table.c.id > after).order_by(table.c.id).limit(CHUNK)).all()
        if not rows:
            return
        yield rows
        after = rows[-1].id


def _ordered(topics: list[str]) -> list[str]:
    return sorted(topics, key=lambda t: (TOPIC_ORDER.index(t) if t in TOPIC_ORDER else len(TOPIC_ORDER), t))


def _top(scores) -> float | None:
    values = [v for v in (scores or {}).values() if isinstance(v, (int, float))]
    return float(max(values)) if values else None


def upgrade() -> None:
    op.create_table(
        "audit_labels",
        sa.Column("record_id", sa.Integer(), sa.ForeignKey("audit_records.id", ondelete="CASCADE"), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("head", sa.String(32), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("record_id", "source", "head", "label"),
    )
    op.create_index("ix_audit_labels_label", "audit_labels", ["head", "source", "label", "record_id"])
    op.create_index("ix_audit_labels_score", "audit_labels", ["head", "source", "score", "record_id"])
    op.create_table(
        "review_labels",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("review_id", sa.Integer(), sa.ForeignKey("reviews.id", ondelete="CASCADE"), nullable=False),
        sa.Column("head", sa.String(32), nullable=False),
        sa.Column("label", sa.String(32), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_review_labels_review_id", "review_labels", ["review_id", "head"])

    bind = op.get_bind()
    r = records.c
    for rows in _chunks(bind, records, [r.id, r.prediction, r.review_count, *(r[c] for c in RECORD_COLUMNS)]):
        out = []
        for row in rows:
            scores = (row.prediction or {}).get("scores") or {}
            top = {"role": row.role_score, "urgency": row.urgency_score, "minor": _top(scores.get("minor"))}
            for head in SINGLE:
                out.append({"record_id": row.id, "source": "model", "head": head,
                            "label": _text(head, getattr(row, head)), "score": top[head]})
                gold = getattr(row, f"gold_{head}")
                if gold is not None:
                    out.append({"record_id": row.id, "source": "gold", "head": head, "label": _text(head, gold),
                                "score": None})
            topic_scores = scores.get("topics") or {}
            for topic in dict.fromkeys(row.topics or []):
                score = topic_scores.get(topic)
                out.append({"record_id": row.id, "source": "model", "head": "topics", "label": str(topic),
                            "score": float(score) if isinstance(score, (int, float)) else None})
            for topic in dict.fromkeys(row.gold_topics or []):
                out.append({"record_id": row.id, "source": "gold", "head": "topics", "label": str(topic),
                            "score": None})
        if out:
            bind.execute(audit_labels.insert(), out)
    v = reviews.c
    for rows in _chunks(bind, reviews, [v.id, *(v[c] for c in REVIEW_COLUMNS)]):
        out = []
        for row in rows:
            for head in SINGLE:
                out.append({"review_id": row.id, "head": head, "label": _text(head, getattr(row, head)),
                            "ok": getattr(row, f"{head}_ok")})
            for topic in list(dict.fromkeys(row.topics or [])) or [None]:
                out.append({"review_id": row.id, "head": "topics", "label": topic, "ok": row.topics_ok})
        if out:
            bind.execute(review_labels.insert(), out)

    with op.batch_alter_table("audit_records", recreate="never") as batch:
        for column in RECORD_COLUMNS:
            batch.drop_column(column)
    with op.batch_alter_table("reviews", recreate="never") as batch:
        for column in REVIEW_COLUMNS:
            batch.drop_column(column)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    record_types = {"role": sa.String(16), "minor": sa.Boolean(), "urgency": sa.String(16), "topics": sa.JSON(),
                    "role_score": sa.Float(), "urgency_score": sa.Float(), "gold_role": sa.String(16),
                    "gold_minor": sa.Boolean(), "gold_urgency": sa.String(16), "gold_topics": sa.JSON()}
    review_types = {"role_ok": sa.Boolean(), "minor_ok": sa.Boolean(), "urgency_ok": sa.Boolean(),
                    "topics_ok": sa.Boolean(), "role": sa.String(16), "minor": sa.Boolean(),
                    "urgency": sa.String(16), "topics": sa.JSON()}
    with op.batch_alter_table("audit_records", recreate="never") as batch:
        for column, type_ in record_types.items():
            batch.add_column(sa.Column(column, type_, nullable=True))
    with op.batch_alter_table("reviews", recreate="never") as batch:
        for column, type_ in review_types.items():
            batch.add_column(sa.Column(column, type_, nullable=True))

    bind = op.get_bind()

    def value(head: str, label: str):
        return label == "true" if head == "minor" else label

    r = records.c
    for rows in _chunks(bind, records, [r.id, r.review_count]):
        ids = [row.id for row in rows]
        labels: dict[int, list] = {i: [] for i in ids}
        for row in bind.execute(sa.select(audit_labels.c.record_id, audit_labels.c.source, audit_labels.c.head,
                                          audit_labels.c.label, audit_labels.c.score)
                                .where(audit_labels.c.record_id.in_(ids))):
            labels[row.record_id].append(row)
        for row in rows:
            values: dict = {"topics": [], "gold_topics": [] if row.review_count else None}
            for label in labels[row.id]:
                gold = label.source == "gold"
                if label.head == "topics":
                    values["gold_topics" if gold else "topics"].append(label.label)
                elif label.head in SINGLE:
                    values[f"gold_{label.head}" if gold else label.head] = value(label.head, label.label)
                    if not gold and label.head in ("role", "urgency"):
                        values[f"{label.head}_score"] = label.score
            values["topics"] = _ordered(values["topics"])
            if values["gold_topics"] is not None:
                values["gold_topics"] = _ordered(values["gold_topics"])
            bind.execute(records.update().where(records.c.id == row.id).values(**values))
    v = reviews.c
    for rows in _chunks(bind, reviews, [v.id]):
        ids = [row.id for row in rows]
        values_by_id: dict[int, dict] = {i: {"topics": []} for i in ids}
        for row in bind.execute(sa.select(review_labels.c.review_id, review_labels.c.head, review_labels.c.label,
                                          review_labels.c.ok)
                                .where(review_labels.c.review_id.in_(ids)).order_by(review_labels.c.id)):
            values = values_by_id[row.review_id]
            if row.head == "topics":
                values["topics_ok"] = row.ok
                if row.label is not None:
                    values["topics"].append(row.label)
            elif row.head in SINGLE:
                values[row.head] = value(row.head, row.label)
                values[f"{row.head}_ok"] = row.ok
        for review_id, values in values_by_id.items():
            values["topics"] = _ordered(values["topics"])
            bind.execute(reviews.update().where(reviews.c.id == review_id).values(**values))

    op.drop_index("ix_review_labels_review_id", table_name="review_labels")
    op.drop_table("review_labels")
    op.drop_index("ix_audit_labels_score", table_name="audit_labels")
    op.drop_index("ix_audit_labels_label", table_name="audit_labels")
    op.drop_table("audit_labels")
    if not sqlite:  # NOT NULL as in 0006 (SQLite: see the module's docstring)
        for column in ("role", "minor", "urgency", "topics", "role_score", "urgency_score"):
            op.alter_column("audit_records", column, existing_type=record_types[column], nullable=False)
        for column, type_ in review_types.items():
            op.alter_column("reviews", column, existing_type=type_, nullable=False)
