"""the active model version in the database: one row per activation, the newest is active

- model_activations(id, version, previous, supersedes UNIQUE, activated_at, by, reason, forced,
  passed_gate, failures).

The table starts empty: the server seeds it at start-up (api/model_versions/pointer.py) from the
model directory's ACTIVE file, which a migration run by `alembic` alone may not be able to see.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.db.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_activations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("previous", sa.String(100), nullable=True),
        sa.Column("supersedes", sa.Integer(), nullable=True),
        sa.Column("activated_at", UTCDateTime(), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("passed_gate", sa.Boolean(), nullable=True),
        sa.Column("failures", sa.JSON(), nullable=True),
        sa.UniqueConstraint("supersedes"),
    )


def downgrade() -> None:
    op.drop_table("model_activations")
