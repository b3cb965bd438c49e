"""The queue as advisors read it: lapsed claims go back to the queue first, then the waiting chats
are ranked (api/queue/view.py keeps their ready-made JSON per chat version)."""

from __future__ import annotations

from api.chats.service import ChatService


class QueueService:
    def __init__(self, chats: ChatService):
        self.chats = chats

    def json(self) -> bytes:
        """GET /v1/queue as JSON bytes."""
        self.chats.expire_claims()
        return self.chats.queue_view.json()
