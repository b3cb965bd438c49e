"""returning clients get a new, linked conversation; claims belong to an API key

- chats.platform_chat_id: the chat platform's conversation id. Platforms reuse it when a client
  comes back; each time the earlier conversation is closed or left a new chat row starts
  (`conversation` 2, 3, ...; chat_id "<platform id>~2") linked to the earlier one by
  previous_chat_id. Unique on (platform_chat_id, conversation): two racing returns make one row.
- chats.claimed_key: the id of the API key that claimed the chat (api/security.py key_id); only
  that key (or an admin) may heartbeat, release, override or close it. claimed_by becomes the
  key's label; claimed_name the name the advisor typed at sign-in (self-declared, shown beside it).

Only columns are added (SQLite ALTER TABLE ADD COLUMN, no table rebuild). Claims made before this
version have no claimed_key: any advisor key may act on them, as before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("platform_chat_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("conversation", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("previous_chat_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("claimed_key", sa.String(32), nullable=True))
        batch.add_column(sa.Column("claimed_name", sa.String(100), nullable=True))
    op.execute("UPDATE chats SET platform_chat_id = chat_id")
    op.create_index("ix_chats_platform_conversation", "chats", ["platform_chat_id", "conversation"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_chats_platform_conversation", table_name="chats")
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("claimed_name")
        batch.drop_column("claimed_key")
        batch.drop_column("previous_chat_id")
        batch.drop_column("conversation")
        batch.drop_column("platform_chat_id")
