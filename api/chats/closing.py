"""A chat ends: an advisor closes it, or the client left. Either way its stored client text is
deleted (api/retention.py); labels and history stay."""

from __future__ import annotations

from sqlalchemy import select

from api.chats.base import OPEN_STATUSES, ChatCore
from api.chats.summary import actor_data
from api.db.models import Chat, ChatEvent, utcnow
from api.domain_errors import ChatConflict, ChatNotFound
from api.retention import end_chat_text, prepare_end
from api.chats.schemas import CloseRequest
from api.security import Principal


class ChatClosing(ChatCore):
    def close(self, chat_id: str, body: CloseRequest, actor: Principal) -> dict:
        """A waiting chat: any advisor may close it; a claimed one: its claimer or an admin."""
        now = utcnow()
        holds = self._holds(actor)
        where = ((Chat.status == "waiting") | holds[0],) if holds else ()
        ending = prepare_end(self.db, chat_id)  # redaction outside the write transaction
        with self.db.write() as session:
            name = session.scalar(select(Chat.claimed_name).where(Chat.chat_id == chat_id,
                                                                  Chat.claimed_key == actor.key_id))
            if not self._transition(session, chat_id, OPEN_STATUSES,
                                    dict(status="closed", closed_at=now, outcome=body.outcome, updated_at=now,
                                         raw_preview=None), where):
                status, claimed_by, _, claimed_name = self._state(session, chat_id)
                if status == "claimed":
                    raise self._not_claimer(chat_id, claimed_by, claimed_name, "close")
                raise ChatConflict("chat_not_open", f"chat '{chat_id}' is already {status}")
            end_chat_text(session, chat_id, ending)
            session.add(ChatEvent(chat_id=chat_id, at=now, kind="closed", actor=actor.label,
                                  data={"outcome": body.outcome, **actor_data(actor, name)}))
        return self.view(chat_id)

    def leave(self, chat_id: str) -> dict:
        """DELETE /v1/chats/{id}: the client left; the platform id addresses its current
        conversation. Idempotent for a chat that was already left."""
        now = utcnow()
        ending = prepare_end(self.db, chat_id)  # redaction outside the write transaction
        with self.db.write() as session:
            addressed = session.get(Chat, chat_id)
            if addressed is None:
                raise ChatNotFound(chat_id)
            chat_id = (self._current(session, addressed.platform_chat_id or chat_id) or addressed).chat_id
            if not self._transition(session, chat_id, OPEN_STATUSES,
                                    dict(status="left", closed_at=now, updated_at=now, raw_preview=None)):
                status = self._state(session, chat_id)[0]
                if status != "left":
                    raise ChatConflict("chat_not_open", f"chat '{chat_id}' is already {status}")
            else:
                end_chat_text(session, chat_id, ending)
                session.add(ChatEvent(chat_id=chat_id, at=now, kind="left", actor=None, data={}))
        return self.view(chat_id)
