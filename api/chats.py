"""The chat lifecycle and the advisor queue, on top of the database and the model.

States: waiting -> claimed -> closed; claimed -> waiting (release); waiting|claimed -> left (the
client went away); waiting -> closed (an advisor closes it without taking it).

A chat row is one conversation. Platforms reuse their conversation id when a client comes back:
once a conversation ended (closed or left), the same platform id starts the next one, "<id>~2",
linked to the earlier (`previous_chat_id`), so a returning client always waits in the queue and the
advisor sees the earlier contact. The platform's endpoints (new chat, message, leave) address the
platform id's current conversation; advisors address exactly one conversation.

A claim belongs to the API key that made it (`claimed_key`); only that key or an admin may act on
the claimed chat. Names typed by advisors are kept as self-declared, beside the key's label.

Every state change is one conditional UPDATE (`... WHERE status IN (...)`) whose row count decides
who won, so two advisors, threads or server processes can never both claim a chat, on SQLite and on
PostgreSQL alike. The model runs outside database transactions; re-triage on a new message writes
with an optimistic check on the chat's version and retries when the chat changed meanwhile.

Client text is stored only in `chat_messages.raw_text` and `chats.raw_preview` (see
api/db/models.py) and emptied when the chat is closed or the client left. It is never logged, and
events (the history) hold labels and cues, never text.

Every triage the model makes for a chat (the opener, and again on each new client message) is
also stored as an audit record with the redacted text (api/audit/), in the same transaction as
the chat; an advisor's override is linked to the chat's latest audit record.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.audit import AuditStore, redact_text
from api.db.models import Chat, ChatEvent, ChatMessage, utcnow
from api.db.session import Database
from api.domain_errors import ChatConflict, ChatNotFound, NotClaimer
from api.queue_view import QueueView
from api.retention import end_chat_text, prepare_end
from api.schemas import CHAT_ID_MAX, ChatCreate, CloseRequest, MessageCreate, OverrideRequest
from api.security import Principal
from api.settings import ApiSettings
from api.triager import Triager, combine_client_text
from triage.guidance import RED_FLAGS
from triage.override import effective_triage, lapse_override, merge_override, override_note, who
from triage.severity import severity

log = logging.getLogger("triage.api")

OPEN_STATUSES = ("waiting", "claimed")
MESSAGE_RETRIES = 5
HEARTBEAT_WRITE_SECONDS = 10.0  # a heartbeat within this of the last one is not written again
EXPIRY_CHECK_SECONDS = 5.0      # how often one process looks for lapsed claims
SUPERVISOR_ROLES = ("admin",)   # may act on any advisor's claim (a supervisor role comes later)
PREVIOUS_SHOWN = 5              # earlier conversations of a returning client shown in its chat


def _actor_data(actor: Principal, name: str | None) -> dict:
    """What a history event keeps of who acted, besides its actor (the key's label)."""
    return {"key": actor.key_id, **({"name": name} if name else {})}


def conversation_id(platform_id: str, number: int) -> str:
    """The chat id of conversation `number` of a platform chat id: the platform's id itself for the
    first, "<platform id>~2" and so on after it ("~" never occurs in a platform id). Within the 64
    characters of a chat id; a long platform id is cut and a hash of it keeps the id unique."""
    if number == 1:
        return platform_id
    tail = f"~{number}"
    if len(platform_id) + len(tail) > CHAT_ID_MAX:
        tail = f"~{hashlib.sha256(platform_id.encode()).hexdigest()[:8]}{tail}"
        return platform_id[:CHAT_ID_MAX - len(tail)] + tail
    return platform_id + tail


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _preview(text: str, chars: int) -> str | None:
    if chars <= 0:
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= chars else flat[: chars - 1].rstrip() + "…"


def chat_severity(prediction: dict, minor: bool) -> tuple[float, str]:
    """How severe the chat is among acute chats (triage/severity.py), with the Dutch reason."""
    p_acute = prediction.get("scores", {}).get("urgency", {}).get("acute", 0.0)
    out = severity(prediction["red_flags"], p_acute, bool(minor), RED_FLAGS)
    return out.score, out.text_nl


def build_summary(prediction: dict, override: dict | None, guidance: list[dict], alert: dict | None = None,
                  returned: dict | None = None) -> dict:
    """What the queue shows of a chat, stored with it: {"triage": the effective triage in short,
    "guidance": card references}. GET /v1/queue splices its JSON text into the response as is.

    `alert`: new danger arrived over an advisor's override (the override lapsed); `returned`: the
    chat came back to the queue because its claim lapsed. Both stay until a person acts on them."""
    triage, overridden = effective_triage(prediction, override)
    score, score_nl = chat_severity(prediction, triage["minor"])
    return {
        "triage": {
            **triage,
            "topics": list(prediction["topics"]),
            "overridden": overridden,
            "red_flags": [{k: f[k] for k in ("cue", "label_nl", "text", "when", "floor")}
                          for f in prediction["red_flags"]],
            "summary_nl": prediction["explanation"].get("summary_nl", "") + override_note(override),
            "model_version": prediction["model_version"],
            "severity": score, "severity_nl": score_nl,
            "alert": alert, "returned": returned,
        },
        "guidance": [{"id": c["id"], "title": c["title"], "reason": c["reason"]} for c in guidance],
    }


def _triage_event(prediction: dict, messages: int, chars: int, truncated: bool) -> dict:
    """What the history keeps of a model triage: labels, scores of the chosen labels, cues; no text."""
    return {
        "urgency": prediction["urgency"], "role": prediction["role"], "minor": prediction["minor"],
        "topics": prediction["topics"], "needs_review": prediction["needs_review"],
        "review_reasons": prediction["review_reasons"],
        "urgency_model": prediction["explanation"].get("urgency_model"),
        "red_flag_cues": sorted({f["cue"] for f in prediction["red_flags"]}),
        "model_version": prediction["model_version"], "messages": messages, "chars": chars,
        "truncated": truncated,
    }


class ChatService:
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

    # --- create -----------------------------------------------------------------------------
    # The platform addresses a person by its conversation id and reuses it when the client comes
    # back. Each time the earlier conversation was closed or left, a new chat row starts for that
    # platform id (conversation 2, 3, ...; see conversation_id), linked to the earlier one, so
    # the client waits again and the advisor sees the earlier contact.

    @staticmethod
    def _current(session: Session, platform_id: str) -> Chat | None:
        """The platform id's current conversation: the latest (only the latest can be open)."""
        return session.scalars(select(Chat).where(Chat.platform_chat_id == platform_id)
                               .order_by(Chat.conversation.desc()).limit(1)).first()

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
                    raw_preview=_preview(text, self.settings.preview_chars)), result)
                session.add(Chat(**values))
                session.flush()
                session.add(ChatMessage(chat_id=chat_id, seq=1, received_at=received, chars=len(text), raw_text=text))
                created = {"received_at": iso(received)}
                if previous_id is not None:
                    created.update(previous_chat_id=previous_id, conversation=number)
                session.add(ChatEvent(chat_id=chat_id, at=now, kind="created", actor=None, data=created))
                session.add(ChatEvent(chat_id=chat_id, at=now, kind="triage", actor="model",
                                      data=_triage_event(result["prediction"], 1, result["chars"], result["truncated"])))
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
                data = _triage_event(result["prediction"], count + 1, result["chars"], result["truncated"])
                data["previous"] = {k: old_prediction[k] for k in ("urgency", "role", "minor")}
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
                                  data=_actor_data(actor, name)))
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
                **_actor_data(actor, None), "from": previous, "from_key": previous_key, "from_name": previous_name,
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
                                  data=_actor_data(actor, name)))
        return self.view(chat_id)

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
                                  data={"outcome": body.outcome, **_actor_data(actor, name)}))
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
                **_actor_data(actor, body.advisor), "set": given, "reason": reason,
                "before": {k: before[k] for k in ("urgency", "role", "minor")},
                "after": {k: after[k] for k in ("urgency", "role", "minor")},
                "model": {k: chat.prediction[k] for k in ("urgency", "role", "minor")},
            }))
            self.audit.add_override(session, chat.platform_chat_id or chat_id, {
                "at": iso(now), "advisor": actor.label, "name": body.advisor, "key": actor.key_id, "fields": given,
                "reason": reason,
                "before": {k: before[k] for k in ("urgency", "role", "minor")},
                "after": {k: after[k] for k in ("urgency", "role", "minor")}})
        if self.triager.metrics is not None:
            for key in given:
                self.triager.metrics.overrides.labels(key).inc()
        return self.view(chat_id, history=True)

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
            "override": _override_out(chat.override), "guidance": chat.guidance,
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
                           for k in ("urgency", "role", "minor", "topics", "overridden", "summary_nl")},
            } for c in rows]
        if chat.status not in OPEN_STATUSES:
            out["next_chat_id"] = session.scalar(select(Chat.chat_id).where(
                Chat.platform_chat_id == platform_id, Chat.conversation == chat.conversation + 1))
        return out

    def queue_json(self) -> bytes:
        """GET /v1/queue as JSON bytes (api/queue_view.py); lapsed claims come back first."""
        self.expire_claims()
        return self.queue_view.json()


def _override_out(override: dict | None) -> dict | None:
    if not override:
        return None
    return {k: override.get(k) for k in ("fields", "reason", "advisor", "name", "at")}
