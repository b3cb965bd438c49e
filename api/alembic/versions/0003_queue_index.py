"""queue index and audit request keys

- chats: (status, chat_id, version) covers GET /v1/queue's poll of the waiting chats;
- audit_records.request_key: the key POST /v1/triage returns (X-Audit-Record-Key); its record is
  written just after the response (api/audit/writer.py), so the caller cannot get the id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Replaces ix_chats_status: the new index serves every query on status as well, and the queue
    # poll (chat_id, version of the waiting chats) reads the index alone.
    op.create_index("ix_chats_status_queue", "chats", ["status", "chat_id", "version"])
    op.drop_index("ix_chats_status", table_name="chats")
    with op.batch_alter_table("audit_records") as batch:
        batch.add_column(sa.Column("request_key", sa.String(32), nullable=True))
    op.create_index("ix_audit_records_request_key", "audit_records", ["request_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_audit_records_request_key", table_name="audit_records")
    with op.batch_alter_table("audit_records") as batch:
        batch.drop_column("request_key")
    op.create_index("ix_chats_status", "chats", ["status"])
    op.drop_index("ix_chats_status_queue", table_name="chats")
