"""audit: audit records of served predictions, and reviewers' reviews

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.db.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("week", sa.String(8), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("chat_id", sa.String(64), nullable=True),
        sa.Column("message_count", sa.Integer(), nullable=True),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("spacy_pipeline", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("minor", sa.Boolean(), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("role_score", sa.Float(), nullable=False),
        sa.Column("urgency_score", sa.Float(), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("redacted_text", sa.Text(), nullable=False),
        sa.Column("text_chars", sa.Integer(), nullable=False),
        sa.Column("text_truncated", sa.Boolean(), nullable=False),
        sa.Column("redactions", sa.JSON(), nullable=False),
        sa.Column("raw_text", sa.Text(), nullable=True),
        sa.Column("prediction", sa.JSON(), nullable=False),
        sa.Column("guidance", sa.JSON(), nullable=False),
        sa.Column("effective", sa.JSON(), nullable=True),
        sa.Column("overridden", sa.Boolean(), nullable=False),
        sa.Column("overrides", sa.JSON(), nullable=False),
        sa.Column("review_count", sa.Integer(), nullable=False),
        sa.Column("gold_role", sa.String(16), nullable=True),
        sa.Column("gold_minor", sa.Boolean(), nullable=True),
        sa.Column("gold_urgency", sa.String(16), nullable=True),
        sa.Column("gold_topics", sa.JSON(), nullable=True),
        sa.Column("gold_resolved", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_audit_records_created_at", "audit_records", ["created_at"])
    op.create_index("ix_audit_records_chat_id", "audit_records", ["chat_id", "id"])
    op.create_index("ix_audit_records_model_version", "audit_records", ["model_version"])
    op.create_index("ix_audit_records_week", "audit_records", ["week"])
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("record_id", sa.Integer(), sa.ForeignKey("audit_records.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reviewer", sa.String(100), nullable=False),
        sa.Column("reviewer_name", sa.String(100), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("role_ok", sa.Boolean(), nullable=False),
        sa.Column("minor_ok", sa.Boolean(), nullable=False),
        sa.Column("urgency_ok", sa.Boolean(), nullable=False),
        sa.Column("topics_ok", sa.Boolean(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("minor", sa.Boolean(), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.UniqueConstraint("record_id", "reviewer", name="uq_reviews_record_reviewer"),
    )
    op.create_index("ix_reviews_record_id", "reviews", ["record_id"])


def downgrade() -> None:
    op.drop_index("ix_reviews_record_id", table_name="reviews")
    op.drop_table("reviews")
    for name in ("ix_audit_records_week", "ix_audit_records_model_version", "ix_audit_records_chat_id",
                 "ix_audit_records_created_at"):
        op.drop_index(name, table_name="audit_records")
    op.drop_table("audit_records")
