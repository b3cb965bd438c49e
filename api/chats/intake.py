"""A chat arrives and the client writes more: a new chat (idempotent on its id; a returning
client starts a new conversation) and further client messages, each triaged again."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.chats.base import OPEN_STATUSES, ChatCore
from api.chats.summary import conversation_id, iso, preview, triage_event
from api.db.models import Chat, ChatEvent, ChatMessage, utcnow
from api.domain_errors import ChatConflict, ChatNotFound
from api.chats.schemas import ChatCreate, MessageCreate
from triage.labels import OVERRIDABLE_HEADS
from triage.override import lapse_override

log = logging.getLogger("triage.api")

MESSAGE_RETRIES = 5


class ChatIntake(ChatCore):
    # --- create -----------------------------------------------------------------------------
    # The platform addresses a person by its conversation id and reuses it when the client comes
    # back. Each time the earlier conversation was closed or left, a new chat row starts for that
    # platform id (conversation 2, 3, ...; see conversation_id), linked to the earlier one, so
    # the client waits again and the advisor sees the earlier contact.

    def create(self, body: ChatCreate) -> tuple[dict, bool]:
        now = utcnow()
        received = (body.received_at or now).astimezone(timezone.utc)
        with self.db.read() as session:
            current = self._current(session, body.chat_id)
            if current is not None and current.status in OPEN_STATUSES:
                return self._replay(session, current, body.text), False
            previous = (current.chat_id, current.conversation) if current is not None else None
        view = self._start(body.chat_id, body.text, received, now, previous)
        if view is None:  # a retry of this request, or another return, started it meanwhile
            with self.db.read() as session:
                current = self._current(session, body.chat_id)
                if current is None or current.status not in OPEN_STATUSES:
                    raise ChatConflict("concurrent_update", f"chat '{body.chat_id}' changed meanwhile; send it again")
                return self._replay(session, current, body.text), False
        return view, True

    def _start(self, platform_id: str, text: str, received: datetime, now: datetime,
               previous: tuple[str, int] | None) -> dict | None:
        """A new conversation of `platform_id` with `text` as its opener, after `previous` (the
        ended conversation's (chat_id, number)) if the client was here before. None when another
        request started it first."""
        previous_id, number = (previous[0], previous[1] + 1) if previous is not None else (None, 1)
        chat_id = conversation_id(platform_id, number)
        result = self._triage([text], None)
        audit = self._audit_values(result, "chat", platform_id, 1)
        try:
            with self.db.write() as session:
                latest = self._current(session, platform_id)
                if (latest.chat_id if latest else None) != previous_id:
                    return None
                values = self._apply(dict(
                    chat_id=chat_id, platform_chat_id=platform_id, conversation=number, previous_chat_id=previous_id,
                    status="waiting", received_at=received, created_at=now, updated_at=now,
                    version=1, message_count=1,
                    raw_preview=preview(text, self.settings.preview_chars)), result)
                session.add(Chat(**values))
                session.flush()
                session.add(ChatMessage(chat_id=chat_id, seq=1, received_at=received, chars=len(text), raw_text=text))
                created = {"received_at": iso(received)}
                if previous_id is not None:
                    created.update(previous_chat_id=previous_id, conversation=number)
                session.add(ChatEvent(chat_id=chat_id, at=now, kind="created", actor=None, data=created))
                session.add(ChatEvent(chat_id=chat_id, at=now, kind="triage", actor="model",
                                      data=triage_event(result["prediction"], 1, result["chars"], result["truncated"])))
                self.audit.add(session, audit)
        except IntegrityError:
            return None  # the same conversation was inserted concurrently
        if previous_id is not None:
            log.info("client of chat %s came back: conversation %d", platform_id, number)
        return self.view(chat_id, truncated=result["truncated"])

    def _replay(self, session: Session, chat: Chat, text: str) -> dict:
        """POST /v1/chats is idempotent on chat_id while the conversation is open: the same chat
        again returns it unchanged."""
        first = session.scalar(select(ChatMessage.raw_text).where(ChatMessage.chat_id == chat.chat_id,
                                                                   ChatMessage.seq == 1))
        if first is not None and first != text:
            raise ChatConflict("chat_exists", f"chat '{chat.platform_chat_id}' is open with another opener; send "
                                          f"further client messages to POST /v1/chats/{chat.platform_chat_id}/messages")
        return self._view(session, chat, utcnow())

    # --- more client messages ----------------------------------------------------------------
    def add_message(self, chat_id: str, body: MessageCreate) -> tuple[dict, bool]:
        """A further client message, while the chat waits or while an advisor has it: stored, shown
        to the advisor, and the whole client text triaged again. New danger over an advisor's
        override lapses the override and raises an alert (see `lapse_override`).

        `chat_id` may be the platform's id or one of its conversations: the message goes to the
        current conversation. Once that was closed or left, the message opens a new conversation
        linked to it (returns (view, True)): a returning client is never dropped."""
        now = utcnow()
        received = (body.received_at or now).astimezone(timezone.utc)
        for _attempt in range(MESSAGE_RETRIES):
            with self.db.read() as session:
                addressed = session.get(Chat, chat_id)
                if addressed is None:
                    raise ChatNotFound(chat_id)
                platform_id = addressed.platform_chat_id or addressed.chat_id
                chat = self._current(session, platform_id) or addressed
                if chat.status not in OPEN_STATUSES:
                    ended = (chat.chat_id, chat.conversation)
                else:
                    ended = None
                    if chat.message_count >= self.settings.max_messages_per_chat:
                        raise ChatConflict("too_many_messages", f"chat '{chat.chat_id}' already has "
                                                            f"{chat.message_count} messages, the most kept per chat")
                    texts = list(session.scalars(select(ChatMessage.raw_text)
                                                 .where(ChatMessage.chat_id == chat.chat_id).order_by(ChatMessage.seq)))
                    chat_id = chat.chat_id
                    version, count, old_override = chat.version, chat.message_count, chat.override
                    old_prediction = chat.prediction
                    old_marks = chat.summary.get("triage", {})
            if ended is not None:
                view = self._start(platform_id, body.text, received, now, ended)
                if view is not None:
                    return view, True
                continue  # someone else started the new conversation: add to it
            texts = [t for t in texts if t] + [body.text]
            result = self._triage(texts, old_override)
            override, lapse = lapse_override(old_override, old_prediction, result["prediction"], now)
            alert = lapse["alert"] if lapse else old_marks.get("alert")
            if lapse:
                result = {**result, **self._retriage_with(result["prediction"], override)}
            result = self._with_marks(result, alert, old_marks.get("returned"))
            audit = self._audit_values(result, "message", platform_id, count + 1)
            with self.db.write() as session:
                values = self._apply(dict(updated_at=now, version=version + 1, message_count=count + 1), result)
                done = session.execute(
                    update(Chat).where(Chat.chat_id == chat_id, Chat.version == version,
                                       Chat.status.in_(OPEN_STATUSES))
                    .values(**values).execution_options(synchronize_session=False)).rowcount
                if done != 1:
                    continue
                session.add(ChatMessage(chat_id=chat_id, seq=count + 1, received_at=received, chars=len(body.text),
                                        raw_text=body.text))
                session.add(ChatEvent(chat_id=chat_id, at=now, kind="message", actor=None,
                                      data={"seq": count + 1, "chars": len(body.text)}))
                data = triage_event(result["prediction"], count + 1, result["chars"], result["truncated"])
                data["previous"] = {k: old_prediction[k] for k in OVERRIDABLE_HEADS}
                session.add(ChatEvent(chat_id=chat_id, at=now, kind="triage", actor="model", data=data))
                self.audit.add(session, audit)
                if lapse:
                    session.add(ChatEvent(chat_id=chat_id, at=now, kind="override_lapsed", actor="model", data={
                        "fields": lapse["fields"], "kept": sorted((override or {}).get("fields", {})),
                        "new_red_flags": lapse["new_red_flags"], "model_urgency": result["prediction"]["urgency"],
                        "reason_nl": lapse["alert"]["text_nl"]}))
            if lapse and self.triager.metrics is not None:
                self.triager.metrics.overrides.labels("lapsed").inc()
            return self.view(chat_id, truncated=result["truncated"]), False
        raise ChatConflict("concurrent_update", f"chat '{chat_id}' changed while the message was added; send it again")
