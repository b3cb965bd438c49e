"""The active model version in the database: one row per activation, the newest row is active.

Every server process and every instance reads the newest row (api/model_versions/follower.py) and
serves that version, so an activation through any of them reaches all (docs/model-versions.md).
`supersedes` is the id of the row an activation replaced, unique: two activations gated against
the same active version at once cannot both be recorded (the second gets a conflict).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import Base, UTCDateTime


class ModelActivation(Base):
    __tablename__ = "model_activations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(100), nullable=False)
    previous: Mapped[str | None] = mapped_column(String(100), nullable=True)
    supersedes: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    by: Mapped[str] = mapped_column(String(200), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    forced: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    passed_gate: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    failures: Mapped[list | None] = mapped_column(JSON, nullable=True)
