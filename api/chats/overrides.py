"""An advisor overrides the model's triage (the policy itself: triage/override.py)."""

from __future__ import annotations

from sqlalchemy import select

from api.audit import redact_text
from api.chats.base import OPEN_STATUSES, SUPERVISOR_ROLES, ChatCore
from api.chats.summary import actor_data, iso
from api.db.models import Chat, ChatEvent, utcnow
from api.domain_errors import ChatConflict, ChatNotFound
from api.chats.schemas import OverrideRequest
from api.security import Principal
from triage.labels import OVERRIDABLE_HEADS
from triage.override import effective_triage, merge_override


class ChatOverrides(ChatCore):
    def override(self, chat_id: str, body: OverrideRequest, actor: Principal) -> dict:
        now = utcnow()
        # The reason is free text an advisor types, often with names: redacted before it is stored
        # anywhere (the chat, its history, the audit record); the chat's triage never depends on it.
        reason = redact_text(body.reason)
        with self.db.write() as session:
            # a row lock on PostgreSQL; SQLite ignores FOR UPDATE (its writes are serialised)
            query = select(Chat).where(Chat.chat_id == chat_id).with_for_update()
            chat = session.scalars(query).first()
            if chat is None:
                raise ChatNotFound(chat_id)
            if chat.status not in OPEN_STATUSES:
                raise ChatConflict("chat_not_open", f"chat '{chat_id}' is {chat.status}; its triage can no longer change")
            if (chat.status == "claimed" and chat.claimed_key is not None and chat.claimed_key != actor.key_id
                    and actor.role not in SUPERVISOR_ROLES):
                raise self._not_claimer(chat_id, chat.claimed_by, chat.claimed_name, "override the triage of")
            before, _ = effective_triage(chat.prediction, chat.override)
            given = {k: v for k, v in (("urgency", body.urgency), ("role", body.role), ("minor", body.minor))
                     if v is not None}
            override = merge_override(chat.override, given, reason=reason, advisor=actor.label, name=body.advisor,
                                      key=actor.key_id, at=now, model_urgency=chat.prediction["urgency"])
            result = self._retriage_with(chat.prediction, override)
            values = self._apply(dict(updated_at=now, version=chat.version + 1),
                                 {**result, "prediction": chat.prediction})
            for key, value in values.items():
                setattr(chat, key, value)
            after = result["triage"]
            session.add(ChatEvent(chat_id=chat_id, at=now, kind="override", actor=actor.label, data={
                **actor_data(actor, body.advisor), "set": given, "reason": reason,
                "before": {k: before[k] for k in OVERRIDABLE_HEADS},
                "after": {k: after[k] for k in OVERRIDABLE_HEADS},
                "model": {k: chat.prediction[k] for k in OVERRIDABLE_HEADS},
            }))
            self.audit.add_override(session, chat.platform_chat_id or chat_id, {
                "at": iso(now), "advisor": actor.label, "name": body.advisor, "key": actor.key_id, "fields": given,
                "reason": reason,
                "before": {k: before[k] for k in OVERRIDABLE_HEADS},
                "after": {k: after[k] for k in OVERRIDABLE_HEADS}})
        if self.triager.metrics is not None:
            for key in given:
                self.triager.metrics.overrides.labels(key).inc()
        return self.view(chat_id, history=True)
