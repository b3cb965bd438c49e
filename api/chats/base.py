"""What every job of the chat service shares: the database, the model, the audit store and the
queue's cache; a triage of a chat's client text; conditional state changes; and the chat as the
API answers with it (every action answers with the chat).

The jobs are mixins over ChatCore (api/chats/intake.py, claims.py, overrides.py, closing.py);
api/chats/service.py puts them together as ChatService.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.audit import AuditStore
from api.chats.summary import build_summary, iso, override_out
from api.db.models import Chat, ChatEvent, ChatMessage, utcnow
from api.db.session import Database
from api.domain_errors import ChatNotFound, NotClaimer
from api.predictions.service import Triager, combine_client_text
from api.queue.view import QueueView
from api.security import Principal
from api.settings import ApiSettings
from triage.labels import HEADS
from triage.override import effective_triage, who

OPEN_STATUSES = ("waiting", "claimed")
SUPERVISOR_ROLES = ("admin",)   # may act on any advisor's claim (a supervisor role comes later)
PREVIOUS_SHOWN = 5              # earlier conversations of a returning client shown in its chat


class ChatCore:
    def __init__(self, db: Database, triager: Triager, settings: ApiSettings):
        self.db = db
        self.triager = triager
        self.settings = settings
        self.audit = AuditStore(db, settings)
        self.queue_view = QueueView(db)
        self._expiry_checked = float("-inf")

    # --- triage -----------------------------------------------------------------------------
    def _triage(self, texts: list[str], override: dict | None) -> dict[str, Any]:
        combined, truncated = combine_client_text(texts)
        prediction = self.triager.predict(combined)
        triage, _ = effective_triage(prediction, override)
        guidance = self.triager.guidance({**prediction, **triage})
        return {"prediction": prediction, "override": override, "triage": triage, "guidance": guidance,
                "summary": build_summary(prediction, override, guidance), "truncated": truncated,
                "chars": len(combined), "text": combined}

    def _with_marks(self, result: dict, alert: dict | None, returned: dict | None) -> dict:
        """The result with its summary carrying the chat's alert and return notice."""
        summary = build_summary(result["prediction"], result["override"], result["guidance"], alert, returned)
        return {**result, "summary": summary}

    def _audit_values(self, result: dict, source: str, chat_id: str, message_count: int) -> dict:
        return self.audit.build(result["text"], result["prediction"], result["guidance"], source=source,
                                chat_id=chat_id, message_count=message_count, effective=result["triage"],
                                truncated=result["truncated"])

    @staticmethod
    def _apply(chat_values: dict, result: dict) -> dict:
        triage = result["triage"]
        chat_values.update(
            urgency=triage["urgency"], role=triage["role"], minor=triage["minor"],
            needs_review=triage["needs_review"], prediction=result["prediction"], override=result["override"],
            guidance=result["guidance"], summary=result["summary"],
            severity=result["summary"]["triage"]["severity"],
            model_version=result["prediction"]["model_version"])
        return chat_values

    @staticmethod
    def _current(session: Session, platform_id: str) -> Chat | None:
        """The platform id's current conversation: the latest (only the latest can be open)."""
        return session.scalars(select(Chat).where(Chat.platform_chat_id == platform_id)
                               .order_by(Chat.conversation.desc()).limit(1)).first()

    def _retriage_with(self, prediction: dict, override: dict | None) -> dict:
        triage, _ = effective_triage(prediction, override)
        guidance = self.triager.guidance({**prediction, **triage})
        return {"override": override, "triage": triage, "guidance": guidance,
                "summary": build_summary(prediction, override, guidance)}

    # --- advisor actions -----------------------------------------------------------------------
    # A claim belongs to the API key that made it (Principal.key_id; personal accounts later).
    # Only that key, or an admin (the supervisor until that role exists), may send its heartbeat,
    # release, override or close it: 403 `not_claimer` for anyone else. Who acted is the key's
    # label; the name an advisor typed at sign-in is kept beside it as self-declared (`name`):
    # several advisors may share one key until personal accounts exist.

    def _transition(self, session: Session, chat_id: str, allowed: tuple[str, ...], values: dict,
                    extra_where=()) -> bool:
        done = session.execute(
            update(Chat).where(Chat.chat_id == chat_id, Chat.status.in_(allowed), *extra_where)
            .values(version=Chat.version + 1, **values).execution_options(synchronize_session=False)).rowcount
        return done == 1

    def _state(self, session: Session, chat_id: str) -> tuple[str, str | None, str | None, str | None]:
        """(status, claimed_by, claimed_key, claimed_name) of a chat; 404 when there is none."""
        row = session.execute(select(Chat.status, Chat.claimed_by, Chat.claimed_key, Chat.claimed_name)
                              .where(Chat.chat_id == chat_id)).first()
        if row is None:
            raise ChatNotFound(chat_id)
        return tuple(row)

    @staticmethod
    def _holds(actor: Principal):
        """SQL: the chat's claim is this key's (or was made before claims had keys), unless admin."""
        if actor.role in SUPERVISOR_ROLES:
            return ()
        return ((Chat.claimed_key == actor.key_id) | Chat.claimed_key.is_(None),)

    @staticmethod
    def _not_claimer(chat_id: str, claimed_by: str | None, claimed_name: str | None, verb: str) -> NotClaimer:
        return NotClaimer(f"chat '{chat_id}' is claimed by {who(claimed_by, claimed_name)}; only "
                          f"the key that claimed it, or an admin, may {verb} it")

    # --- reading ------------------------------------------------------------------------------

    def view(self, chat_id: str, history: bool = False, truncated: bool = False) -> dict:
        with self.db.read() as session:
            chat = session.get(Chat, chat_id)
            if chat is None:
                raise ChatNotFound(chat_id)
            out = self._view(session, chat, utcnow(), history)
        out["text_truncated"] = truncated
        return out

    def _view(self, session: Session, chat: Chat, now: datetime, history: bool = False) -> dict:
        ranked = None
        if chat.status == "waiting":
            ranked = self.queue_view.place(chat.chat_id, now, session.connection())
        out = {
            "chat_id": chat.chat_id, "status": chat.status, "received_at": iso(chat.received_at),
            "waiting_seconds": round(ranked.waiting_seconds, 3) if ranked else None,
            "position": ranked.position if ranked else None,
            "priority": ranked.priority if ranked else None,
            "reason_nl": ranked.reason_nl if ranked else None,
            "reason_detail_nl": ranked.reason_detail_nl if ranked else None,
            "message_count": chat.message_count, "triage": chat.summary["triage"], "prediction": chat.prediction,
            "override": override_out(chat.override), "guidance": chat.guidance,
            "claimed_by": chat.claimed_by, "claimed_key": chat.claimed_key, "claimed_name": chat.claimed_name,
            "claimed_at": iso(chat.claimed_at), "last_seen_at": iso(chat.last_seen_at),
            "claim_timeout_seconds": self.settings.claim_timeout_seconds, "closed_at": iso(chat.closed_at),
            "outcome": chat.outcome, "updated_at": iso(chat.updated_at), "text_truncated": False,
        }
        messages = session.execute(select(ChatMessage.seq, ChatMessage.received_at, ChatMessage.raw_text)
                                   .where(ChatMessage.chat_id == chat.chat_id).order_by(ChatMessage.seq)).all()
        out["messages"] = [{"seq": seq, "received_at": iso(at), "text": text} for seq, at, text in messages]
        out.update(self._conversations(session, chat))
        if history:
            events = session.scalars(select(ChatEvent).where(ChatEvent.chat_id == chat.chat_id)
                                     .order_by(ChatEvent.id)).all()
            out["history"] = [{"at": iso(e.at), "kind": e.kind, "actor": e.actor, "data": e.data} for e in events]
        return out

    @staticmethod
    def _conversations(session: Session, chat: Chat) -> dict:
        """Where the chat stands among the conversations of its platform id: the earlier ones
        (newest first: when, how they ended, their triage) and the later one, if the client came
        back. Queried only when there can be any."""
        platform_id = chat.platform_chat_id or chat.chat_id
        out = {"platform_chat_id": platform_id, "conversation": chat.conversation,
               "previous_chat_id": chat.previous_chat_id, "next_chat_id": None, "previous": []}
        if chat.conversation > 1:
            rows = session.scalars(select(Chat).where(Chat.platform_chat_id == platform_id,
                                                      Chat.conversation < chat.conversation)
                                   .order_by(Chat.conversation.desc()).limit(PREVIOUS_SHOWN)).all()
            out["previous"] = [{
                "chat_id": c.chat_id, "conversation": c.conversation, "status": c.status,
                "received_at": iso(c.received_at), "closed_at": iso(c.closed_at), "outcome": c.outcome,
                "message_count": c.message_count, "claimed_by": c.claimed_by, "claimed_name": c.claimed_name,
                "triage": {k: c.summary.get("triage", {}).get(k)
                           for k in (*HEADS, "overridden", "summary_nl")},
            } for c in rows]
        if chat.status not in OPEN_STATUSES:
            out["next_chat_id"] = session.scalar(select(Chat.chat_id).where(
                Chat.platform_chat_id == platform_id, Chat.conversation == chat.conversation + 1))
        return out
