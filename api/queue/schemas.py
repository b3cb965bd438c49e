"""The response body of GET /v1/queue."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.chats.schemas import EffectiveTriage
from api.schemas import GuidanceRef


class QueueEntry(BaseModel):
    chat_id: str
    position: int
    priority: float
    waiting_seconds: float
    reason_nl: str
    reason_detail_nl: str
    received_at: datetime
    message_count: int
    preview: str | None = Field(description="the start of the first message (for advisors only)")
    previous_chat_id: str | None = Field(None, description="a returning client: their earlier conversation")
    triage: EffectiveTriage
    guidance: list[GuidanceRef]


class QueueOut(BaseModel):
    items: list[QueueEntry]
    count: int
    by_urgency: dict[str, int]
    generated_at: datetime
