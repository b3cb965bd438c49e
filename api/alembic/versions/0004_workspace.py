"""severity of acute chats and the claim's last sign of life

- chats.severity: orders acute chats among themselves (triage/severity.py), read by the queue;
- chats.last_seen_at: the claiming advisor's page was last seen; a claim without sign of life for
  TRIAGE_CLAIM_TIMEOUT_SECONDS returns to the queue.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.db.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("severity", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_seen_at", UTCDateTime(), nullable=True))
    # Claims made before this version have no sign of life yet: count from the claim.
    op.execute("UPDATE chats SET last_seen_at = claimed_at WHERE status = 'claimed'")


def downgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("last_seen_at")
        batch.drop_column("severity")
