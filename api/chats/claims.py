"""Advisors' claims: claim, heartbeat, reassign, release, and claims that lapse without a sign of
life from the advisor's page."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.chats.base import SUPERVISOR_ROLES, ChatCore
from api.chats.summary import actor_data, iso
from api.db.models import Chat, ChatEvent, utcnow
from api.domain_errors import ChatConflict
from api.security import Principal
from triage.override import who

log = logging.getLogger("triage.api")

HEARTBEAT_WRITE_SECONDS = 10.0  # a heartbeat within this of the last one is not written again
EXPIRY_CHECK_SECONDS = 5.0      # how often one process looks for lapsed claims


class ChatClaims(ChatCore):
    # --- advisor actions -----------------------------------------------------------------------
    # A claim belongs to the API key that made it (Principal.key_id; personal accounts later).
    # Only that key, or an admin (the supervisor until that role exists), may send its heartbeat,
    # release, override or close it: 403 `not_claimer` for anyone else. Who acted is the key's
    # label; the name an advisor typed at sign-in is kept beside it as self-declared (`name`):
    # several advisors may share one key until personal accounts exist.

    def claim(self, chat_id: str, actor: Principal, name: str | None = None) -> dict:
        now = utcnow()
        with self.db.write() as session:
            if not self._transition(session, chat_id, ("waiting",),
                                    dict(status="claimed", claimed_by=actor.label, claimed_key=actor.key_id,
                                         claimed_name=name, claimed_at=now, last_seen_at=now, updated_at=now)):
                status, claimed_by, _, claimed_name = self._state(session, chat_id)
                if status == "claimed":
                    raise ChatConflict("already_claimed",
                                   f"chat '{chat_id}' is already claimed by {who(claimed_by, claimed_name)}")
                raise ChatConflict("chat_not_waiting", f"chat '{chat_id}' is {status} and cannot be claimed")
            self._clear_returned(session, chat_id)
            session.add(ChatEvent(chat_id=chat_id, at=now, kind="claimed", actor=actor.label,
                                  data=actor_data(actor, name)))
        return self.view(chat_id, history=True)

    @staticmethod
    def _clear_returned(session: Session, chat_id: str) -> None:
        """A person took the chat: the notice that its earlier claim lapsed has served."""
        chat = session.get(Chat, chat_id)
        triage = chat.summary.get("triage", {})
        if triage.get("returned"):
            chat.summary = {**chat.summary, "triage": {**triage, "returned": None}}

    def heartbeat(self, chat_id: str, actor: Principal) -> dict:
        """The claiming advisor's page is alive. Written at most every HEARTBEAT_WRITE_SECONDS and
        without a version bump: it changes nothing an optimistic writer of the chat relies on."""
        now = utcnow()
        with self.db.read() as session:
            state = self._state(session, chat_id)
            last_seen = session.scalar(select(Chat.last_seen_at).where(Chat.chat_id == chat_id))
        self._check_holder(chat_id, state, actor)
        # With a short timeout (tests) a write every 10 s would let a live claim lapse.
        every = min(HEARTBEAT_WRITE_SECONDS, self.settings.claim_timeout_seconds / 4)
        if last_seen is None or (now - last_seen).total_seconds() >= every:
            with self.db.write() as session:
                done = session.execute(
                    update(Chat).where(Chat.chat_id == chat_id, Chat.status == "claimed", *self._holds(actor))
                    .values(last_seen_at=now).execution_options(synchronize_session=False)).rowcount
                if done != 1:
                    self._check_holder(chat_id, self._state(session, chat_id), actor)
        return self.view(chat_id, history=True)

    def _check_holder(self, chat_id: str, state: tuple, actor: Principal) -> None:
        status, claimed_by, claimed_key, claimed_name = state
        if status != "claimed":
            raise ChatConflict("chat_not_claimed", f"chat '{chat_id}' is {status}; it is no longer claimed")
        if claimed_key is not None and claimed_key != actor.key_id and actor.role not in SUPERVISOR_ROLES:
            raise self._not_claimer(chat_id, claimed_by, claimed_name, "keep")

    def reassign(self, chat_id: str, target: Principal, name: str | None, actor: Principal) -> dict:
        """A supervisor (for now: admin) hands a claimed chat to another advisor's key."""
        now = utcnow()
        with self.db.write() as session:
            status, previous, previous_key, previous_name = self._state(session, chat_id)
            same = ((Chat.claimed_key == previous_key) if previous_key is not None else Chat.claimed_key.is_(None),)
            if status != "claimed" or not self._transition(
                    session, chat_id, ("claimed",),
                    dict(claimed_by=target.label, claimed_key=target.key_id, claimed_name=name, claimed_at=now,
                         last_seen_at=now, updated_at=now), same):
                status = self._state(session, chat_id)[0]
                raise ChatConflict("chat_not_claimed", f"chat '{chat_id}' is {status}; only a claimed chat can be "
                                                   f"reassigned")
            session.add(ChatEvent(chat_id=chat_id, at=now, kind="reassigned", actor=actor.label, data={
                **actor_data(actor, None), "from": previous, "from_key": previous_key, "from_name": previous_name,
                "to": target.label, "to_key": target.key_id, "to_name": name}))
        return self.view(chat_id, history=True)

    def expire_claims(self, now: datetime | None = None, force: bool = False) -> list[str]:
        """Claims whose advisor's page has shown no sign of life for claim_timeout_seconds go back to
        the queue with their waiting time, a notice and a history event. Called on queue reads, at
        most every EXPIRY_CHECK_SECONDS per process; every update is conditional, so several
        processes doing it at once return each chat once."""
        mono = time.monotonic()
        if not force and mono - self._expiry_checked < EXPIRY_CHECK_SECONDS:
            return []
        self._expiry_checked = mono
        now = now or utcnow()
        cutoff = now - timedelta(seconds=self.settings.claim_timeout_seconds)
        with self.db.read() as session:
            stale = session.execute(select(Chat.chat_id, Chat.version, Chat.claimed_by, Chat.claimed_key,
                                           Chat.claimed_name, Chat.last_seen_at)
                                    .where(Chat.status == "claimed", Chat.last_seen_at < cutoff)).all()
        returned = []
        for chat_id, version, advisor, key, name, last_seen in stale:
            minutes = max(1, round((now - last_seen).total_seconds() / 60))
            holder = who(advisor, name)
            notice = {"at": iso(now), "from": holder,
                      "text_nl": f"Terug in de wachtrij: {holder or 'de adviseur'} gaf {minutes} min geen teken "
                                 f"van leven. Controleer of er al contact was."}
            with self.db.write() as session:
                chat = session.get(Chat, chat_id)
                if chat is None or chat.version != version or chat.status != "claimed":
                    continue
                summary = {**chat.summary, "triage": {**chat.summary.get("triage", {}), "returned": notice}}
                if not self._transition(session, chat_id, ("claimed",),
                                        dict(status="waiting", claimed_by=None, claimed_key=None, claimed_name=None,
                                             claimed_at=None, last_seen_at=None, updated_at=now, summary=summary),
                                        (Chat.version == version, Chat.last_seen_at < cutoff)):
                    continue
                session.add(ChatEvent(chat_id=chat_id, at=now, kind="claim_expired", actor=None,
                                      data={"advisor": advisor, "key": key, "name": name,
                                            "last_seen_at": iso(last_seen)}))
            log.warning("claim of chat %s by an advisor lapsed after %d min without sign of life", chat_id, minutes)
            returned.append(chat_id)
        return returned

    def list_chats(self, status: str) -> dict:
        """The chats in one open state, for the team's overview ("in behandeling bij ...")."""
        self.expire_claims()
        with self.db.read() as session:
            chats = session.scalars(select(Chat).where(Chat.status == status).order_by(Chat.received_at)).all()
            items = [{"chat_id": c.chat_id, "status": c.status, "claimed_by": c.claimed_by,
                      "claimed_key": c.claimed_key, "claimed_name": c.claimed_name,
                      "claimed_at": iso(c.claimed_at), "last_seen_at": iso(c.last_seen_at),
                      "received_at": iso(c.received_at), "message_count": c.message_count,
                      "conversation": c.conversation, "previous_chat_id": c.previous_chat_id,
                      "preview": c.raw_preview, "triage": c.summary["triage"]} for c in chats]
        return {"items": items, "count": len(items)}

    def release(self, chat_id: str, actor: Principal) -> dict:
        now = utcnow()
        with self.db.write() as session:
            name = session.scalar(select(Chat.claimed_name).where(Chat.chat_id == chat_id,
                                                                  Chat.claimed_key == actor.key_id))
            if not self._transition(session, chat_id, ("claimed",),
                                    dict(status="waiting", claimed_by=None, claimed_key=None, claimed_name=None,
                                         claimed_at=None, last_seen_at=None, updated_at=now), self._holds(actor)):
                status, claimed_by, _, claimed_name = self._state(session, chat_id)
                if status == "claimed":
                    raise self._not_claimer(chat_id, claimed_by, claimed_name, "release")
                raise ChatConflict("chat_not_claimed", f"chat '{chat_id}' is {status}; only a claimed chat can be released")
            session.add(ChatEvent(chat_id=chat_id, at=now, kind="released", actor=actor.label,
                                  data=actor_data(actor, name)))
        return self.view(chat_id)
