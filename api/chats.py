"""The chat lifecycle and the advisor queue, on top of the database and the model.

States: waiting -> claimed -> closed; claimed -> waiting (release); waiting|claimed -> left (the
client went away); waiting -> closed (an advisor closes it without taking it).

Every state change is one conditional UPDATE (`... WHERE status IN (...)`) whose row count decides
who won, so two advisors, threads or server processes can never both claim a chat, on SQLite and on
PostgreSQL alike. The model runs outside database transactions; re-triage on a new message writes
with an optimistic check on the chat's version and retries when the chat changed meanwhile.

Client text is stored only in `chat_messages.raw_text` and `chats.raw_preview` (see
api/db/models.py) and emptied when the chat is closed or the client left. It is never logged, and
events (the history) hold labels and cues, never text.

Every triage the model makes for a chat (the opener, and again on each new client message) is
also stored as an audit record with the redacted text (api/audit.py), in the same transaction as
the chat; an advisor's override is linked to the chat's latest audit record.
"""

from __future__ import annotations

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
from api.errors import ApiError, conflict, not_found
from api.queue_view import QueueView
from api.schemas import ChatCreate, CloseRequest, MessageCreate, OverrideRequest
from api.settings import ApiSettings
from api.triager import Triager, combine_client_text
from triage.explain import ROLE_NL, URGENCY_NL
from triage.guidance import RED_FLAGS
from triage.labels import URGENCY_RANK
from triage.queue import QueueItem, RankedItem, rank
from triage.severity import severity

log = logging.getLogger("triage.api")

OPEN_STATUSES = ("waiting", "claimed")
MAX_CLOCK_SKEW = timedelta(minutes=5)
MESSAGE_RETRIES = 5
HEARTBEAT_WRITE_SECONDS = 10.0  # a heartbeat within this of the last one is not written again
EXPIRY_CHECK_SECONDS = 5.0      # how often one process looks for lapsed claims
WHEN_RANK = {"now": 0, "unspecified": 1, "recent": 2, "past": 3}


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _preview(text: str, chars: int) -> str | None:
    if chars <= 0:
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= chars else flat[: chars - 1].rstrip() + "…"


# --- the effective triage: the model's, with an advisor's override on top ----------------------

def effective_triage(prediction: dict, override: dict | None) -> tuple[dict, list[str]]:
    triage = {"urgency": prediction["urgency"], "role": prediction["role"], "minor": prediction["minor"]}
    fields = (override or {}).get("fields", {})
    for key in ("urgency", "role", "minor"):
        if key in fields:
            triage[key] = fields[key]
    # A person has looked at an overridden triage: it no longer waits for review.
    triage["needs_review"] = bool(prediction["needs_review"]) and not fields
    return triage, [k for k in ("urgency", "role", "minor") if k in fields]


def _override_note(override: dict | None) -> str:
    if not override or not override.get("fields"):
        return ""
    fields = override["fields"]
    parts = []
    if "urgency" in fields:
        parts.append(f"urgentie {URGENCY_NL[fields['urgency']]}")
    if "role" in fields:
        parts.append(f"rol {ROLE_NL[fields['role']]}")
    if "minor" in fields:
        parts.append("minderjarig" if fields["minor"] else "niet minderjarig")
    who = f" door {override['advisor']}" if override.get("advisor") else ""
    return f" Aangepast{who}: {', '.join(parts)} (reden: {override.get('reason', '')})."


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
            "summary_nl": prediction["explanation"].get("summary_nl", "") + _override_note(override),
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
    def create(self, body: ChatCreate) -> tuple[dict, bool]:
        now = utcnow()
        received = (body.received_at or now).astimezone(timezone.utc)
        if received > now + MAX_CLOCK_SKEW:
            raise ApiError(422, "invalid_received_at", "received_at lies in the future", field="received_at")
        with self.db.read() as session:
            existing = session.get(Chat, body.chat_id)
            if existing is not None:
                return self._replay(session, existing, body.text), False
        result = self._triage([body.text], None)
        audit = self._audit_values(result, "chat", body.chat_id, 1)
        try:
            with self.db.write() as session:
                if session.get(Chat, body.chat_id) is not None:
                    raise _AlreadyThere()
                values = self._apply(dict(
                    chat_id=body.chat_id, status="waiting", received_at=received, created_at=now, updated_at=now,
                    version=1, message_count=1,
                    raw_preview=_preview(body.text, self.settings.preview_chars)), result)
                session.add(Chat(**values))
                session.flush()
                session.add(ChatMessage(chat_id=body.chat_id, seq=1, received_at=received, chars=len(body.text),
                                        raw_text=body.text))
                session.add(ChatEvent(chat_id=body.chat_id, at=now, kind="created", actor=None,
                                      data={"received_at": iso(received)}))
                session.add(ChatEvent(chat_id=body.chat_id, at=now, kind="triage", actor="model",
                                      data=_triage_event(result["prediction"], 1, result["chars"], result["truncated"])))
                self.audit.add(session, audit)
        except (IntegrityError, _AlreadyThere):
            # Created concurrently by a retry of the same request: answer as a replay.
            with self.db.read() as session:
                existing = session.get(Chat, body.chat_id)
                if existing is None:
                    raise
                return self._replay(session, existing, body.text), False
        return self.view(body.chat_id, truncated=result["truncated"]), True

    def _replay(self, session: Session, chat: Chat, text: str) -> dict:
        """POST /v1/chats is idempotent on chat_id: the same chat again returns it unchanged."""
        first = session.scalar(select(ChatMessage.raw_text).where(ChatMessage.chat_id == chat.chat_id,
                                                                   ChatMessage.seq == 1))
        if first is not None and first != text:
            raise conflict("chat_exists", f"chat '{chat.chat_id}' already exists with another text; send further "
                                          f"client messages to POST /v1/chats/{chat.chat_id}/messages")
        return self._view(session, chat, utcnow())

    # --- more client messages ----------------------------------------------------------------
    def add_message(self, chat_id: str, body: MessageCreate) -> dict:
        """A further client message, while the chat waits or while an advisor has it: stored, shown
        to the advisor, and the whole client text triaged again. New danger over an advisor's
        override lapses the override and raises an alert (see `lapse_override`)."""
        now = utcnow()
        received = (body.received_at or now).astimezone(timezone.utc)
        if received > now + MAX_CLOCK_SKEW:
            raise ApiError(422, "invalid_received_at", "received_at lies in the future", field="received_at")
        for _attempt in range(MESSAGE_RETRIES):
            with self.db.read() as session:
                chat = session.get(Chat, chat_id)
                if chat is None:
                    raise not_found(chat_id)
                if chat.status not in OPEN_STATUSES:
                    raise conflict("chat_not_open", f"chat '{chat_id}' is {chat.status}; messages are only "
                                                    f"taken while the chat waits or is claimed")
                if chat.message_count >= self.settings.max_messages_per_chat:
                    raise conflict("too_many_messages", f"chat '{chat_id}' already has {chat.message_count} "
                                                        f"messages, the most kept per chat")
                texts = list(session.scalars(select(ChatMessage.raw_text).where(ChatMessage.chat_id == chat_id)
                                             .order_by(ChatMessage.seq)))
                version, count, old_override = chat.version, chat.message_count, chat.override
                old_prediction = chat.prediction
                old_marks = chat.summary.get("triage", {})
            texts = [t for t in texts if t] + [body.text]
            result = self._triage(texts, old_override)
            override, lapse = lapse_override(old_override, old_prediction, result["prediction"], now)
            alert = lapse["alert"] if lapse else old_marks.get("alert")
            if lapse:
                result = {**result, **self._retriage_with(result["prediction"], override)}
            result = self._with_marks(result, alert, old_marks.get("returned"))
            audit = self._audit_values(result, "message", chat_id, count + 1)
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
            return self.view(chat_id, truncated=result["truncated"])
        raise conflict("concurrent_update", f"chat '{chat_id}' changed while the message was added; send it again")

    def _retriage_with(self, prediction: dict, override: dict | None) -> dict:
        triage, _ = effective_triage(prediction, override)
        guidance = self.triager.guidance({**prediction, **triage})
        return {"override": override, "triage": triage, "guidance": guidance,
                "summary": build_summary(prediction, override, guidance)}

    # --- advisor actions -----------------------------------------------------------------------
    def _transition(self, session: Session, chat_id: str, allowed: tuple[str, ...], values: dict,
                    extra_where=()) -> bool:
        done = session.execute(
            update(Chat).where(Chat.chat_id == chat_id, Chat.status.in_(allowed), *extra_where)
            .values(version=Chat.version + 1, **values).execution_options(synchronize_session=False)).rowcount
        return done == 1

    def _state(self, session: Session, chat_id: str) -> tuple[str, str | None]:
        row = session.execute(select(Chat.status, Chat.claimed_by).where(Chat.chat_id == chat_id)).first()
        if row is None:
            raise not_found(chat_id)
        return row[0], row[1]

    def claim(self, chat_id: str, advisor: str) -> dict:
        now = utcnow()
        with self.db.write() as session:
            if not self._transition(session, chat_id, ("waiting",),
                                    dict(status="claimed", claimed_by=advisor, claimed_at=now, last_seen_at=now,
                                         updated_at=now)):
                status, claimed_by = self._state(session, chat_id)
                if status == "claimed":
                    raise conflict("already_claimed", f"chat '{chat_id}' is already claimed by {claimed_by}")
                raise conflict("chat_not_waiting", f"chat '{chat_id}' is {status} and cannot be claimed")
            self._clear_returned(session, chat_id)
            session.add(ChatEvent(chat_id=chat_id, at=now, kind="claimed", actor=advisor, data={}))
        return self.view(chat_id, history=True)

    @staticmethod
    def _clear_returned(session: Session, chat_id: str) -> None:
        """A person took the chat: the notice that its earlier claim lapsed has served."""
        chat = session.get(Chat, chat_id)
        triage = chat.summary.get("triage", {})
        if triage.get("returned"):
            chat.summary = {**chat.summary, "triage": {**triage, "returned": None}}

    def heartbeat(self, chat_id: str, advisor: str) -> dict:
        """The claiming advisor's page is alive. Written at most every HEARTBEAT_WRITE_SECONDS and
        without a version bump: it changes nothing an optimistic writer of the chat relies on."""
        now = utcnow()
        with self.db.read() as session:
            row = session.execute(select(Chat.status, Chat.claimed_by, Chat.last_seen_at)
                                  .where(Chat.chat_id == chat_id)).first()
        if row is None:
            raise not_found(chat_id)
        status, claimed_by, last_seen = row
        self._check_holder(chat_id, status, claimed_by, advisor)
        # With a short timeout (tests) a write every 10 s would let a live claim lapse.
        every = min(HEARTBEAT_WRITE_SECONDS, self.settings.claim_timeout_seconds / 4)
        if last_seen is None or (now - last_seen).total_seconds() >= every:
            with self.db.write() as session:
                done = session.execute(
                    update(Chat).where(Chat.chat_id == chat_id, Chat.status == "claimed", Chat.claimed_by == advisor)
                    .values(last_seen_at=now).execution_options(synchronize_session=False)).rowcount
                if done != 1:
                    status, claimed_by = self._state(session, chat_id)
                    self._check_holder(chat_id, status, claimed_by, advisor)
        return self.view(chat_id, history=True)

    @staticmethod
    def _check_holder(chat_id: str, status: str, claimed_by: str | None, advisor: str) -> None:
        if status == "claimed" and claimed_by != advisor:
            raise conflict("claimed_by_other", f"chat '{chat_id}' is claimed by {claimed_by}, not {advisor}",
                           field="advisor")
        if status != "claimed":
            raise conflict("chat_not_claimed", f"chat '{chat_id}' is {status}; it is no longer claimed by {advisor}")

    def reassign(self, chat_id: str, advisor: str, actor: str) -> dict:
        """A supervisor (for now: admin) hands a claimed chat to another advisor."""
        now = utcnow()
        with self.db.write() as session:
            status, previous = self._state(session, chat_id)
            if status != "claimed" or not self._transition(
                    session, chat_id, ("claimed",),
                    dict(claimed_by=advisor, claimed_at=now, last_seen_at=now, updated_at=now),
                    (Chat.claimed_by == previous,)):
                status, _ = self._state(session, chat_id)
                raise conflict("chat_not_claimed", f"chat '{chat_id}' is {status}; only a claimed chat can be "
                                                   f"reassigned")
            session.add(ChatEvent(chat_id=chat_id, at=now, kind="reassigned", actor=actor,
                                  data={"from": previous, "to": advisor}))
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
            stale = session.execute(select(Chat.chat_id, Chat.version, Chat.claimed_by, Chat.last_seen_at)
                                    .where(Chat.status == "claimed", Chat.last_seen_at < cutoff)).all()
        returned = []
        for chat_id, version, advisor, last_seen in stale:
            minutes = max(1, round((now - last_seen).total_seconds() / 60))
            notice = {"at": iso(now), "from": advisor,
                      "text_nl": f"Terug in de wachtrij: {advisor or 'de adviseur'} gaf {minutes} min geen teken "
                                 f"van leven. Controleer of er al contact was."}
            with self.db.write() as session:
                chat = session.get(Chat, chat_id)
                if chat is None or chat.version != version or chat.status != "claimed":
                    continue
                summary = {**chat.summary, "triage": {**chat.summary.get("triage", {}), "returned": notice}}
                if not self._transition(session, chat_id, ("claimed",),
                                        dict(status="waiting", claimed_by=None, claimed_at=None, last_seen_at=None,
                                             updated_at=now, summary=summary),
                                        (Chat.version == version, Chat.last_seen_at < cutoff)):
                    continue
                session.add(ChatEvent(chat_id=chat_id, at=now, kind="claim_expired", actor=None,
                                      data={"advisor": advisor, "last_seen_at": iso(last_seen)}))
            log.warning("claim of chat %s by an advisor lapsed after %d min without sign of life", chat_id, minutes)
            returned.append(chat_id)
        return returned

    def list_chats(self, status: str) -> dict:
        """The chats in one open state, for the team's overview ("in behandeling bij ...")."""
        self.expire_claims()
        with self.db.read() as session:
            chats = session.scalars(select(Chat).where(Chat.status == status).order_by(Chat.received_at)).all()
            items = [{"chat_id": c.chat_id, "status": c.status, "claimed_by": c.claimed_by,
                      "claimed_at": iso(c.claimed_at), "last_seen_at": iso(c.last_seen_at),
                      "received_at": iso(c.received_at), "message_count": c.message_count,
                      "preview": c.raw_preview, "triage": c.summary["triage"]} for c in chats]
        return {"items": items, "count": len(items)}

    def release(self, chat_id: str, advisor: str | None) -> dict:
        now = utcnow()
        where = (Chat.claimed_by == advisor,) if advisor else ()
        with self.db.write() as session:
            if not self._transition(session, chat_id, ("claimed",),
                                    dict(status="waiting", claimed_by=None, claimed_at=None, last_seen_at=None,
                                         updated_at=now), where):
                status, claimed_by = self._state(session, chat_id)
                if status == "claimed":
                    raise conflict("claimed_by_other", f"chat '{chat_id}' is claimed by {claimed_by}, not {advisor}",
                                   field="advisor")
                raise conflict("chat_not_claimed", f"chat '{chat_id}' is {status}; only a claimed chat can be released")
            session.add(ChatEvent(chat_id=chat_id, at=now, kind="released", actor=advisor, data={}))
        return self.view(chat_id)

    def close(self, chat_id: str, body: CloseRequest) -> dict:
        now = utcnow()
        advisor = body.advisor
        where = ((Chat.status == "waiting") | (Chat.claimed_by == advisor),) if advisor else ()
        with self.db.write() as session:
            if not self._transition(session, chat_id, OPEN_STATUSES,
                                    dict(status="closed", closed_at=now, outcome=body.outcome, updated_at=now,
                                         raw_preview=None), where):
                status, claimed_by = self._state(session, chat_id)
                if status == "claimed":
                    raise conflict("claimed_by_other", f"chat '{chat_id}' is claimed by {claimed_by}, not {advisor}",
                                   field="advisor")
                raise conflict("chat_not_open", f"chat '{chat_id}' is already {status}")
            self._purge_text(session, chat_id)
            session.add(ChatEvent(chat_id=chat_id, at=now, kind="closed", actor=advisor,
                                  data={"outcome": body.outcome}))
        return self.view(chat_id)

    def leave(self, chat_id: str) -> dict:
        """DELETE /v1/chats/{id}: the client left. Idempotent for a chat that was already left."""
        now = utcnow()
        with self.db.write() as session:
            if not self._transition(session, chat_id, OPEN_STATUSES,
                                    dict(status="left", closed_at=now, updated_at=now, raw_preview=None)):
                status, _ = self._state(session, chat_id)
                if status != "left":
                    raise conflict("chat_not_open", f"chat '{chat_id}' is already {status}")
            else:
                self._purge_text(session, chat_id)
                session.add(ChatEvent(chat_id=chat_id, at=now, kind="left", actor=None, data={}))
        return self.view(chat_id)

    @staticmethod
    def _purge_text(session: Session, chat_id: str) -> None:
        session.execute(update(ChatMessage).where(ChatMessage.chat_id == chat_id).values(raw_text=None)
                        .execution_options(synchronize_session=False))

    def override(self, chat_id: str, body: OverrideRequest, actor: str) -> dict:
        now = utcnow()
        audit_reason = redact_text(body.reason)  # the reason is free text: redacted for the audit record
        with self.db.write() as session:
            query = select(Chat).where(Chat.chat_id == chat_id)
            if self.db.dialect == "postgresql":
                query = query.with_for_update()
            chat = session.scalars(query).first()
            if chat is None:
                raise not_found(chat_id)
            if chat.status not in OPEN_STATUSES:
                raise conflict("chat_not_open", f"chat '{chat_id}' is {chat.status}; its triage can no longer change")
            before, _ = effective_triage(chat.prediction, chat.override)
            given = {k: v for k, v in (("urgency", body.urgency), ("role", body.role), ("minor", body.minor))
                     if v is not None}
            fields = {**(chat.override or {}).get("fields", {}), **given}
            override = {"fields": fields, "reason": body.reason, "advisor": body.advisor, "key": actor, "at": iso(now),
                        "model_urgency": chat.prediction["urgency"]}
            result = self._retriage_with(chat.prediction, override)
            values = self._apply(dict(updated_at=now, version=chat.version + 1),
                                 {**result, "prediction": chat.prediction})
            for key, value in values.items():
                setattr(chat, key, value)
            after = result["triage"]
            session.add(ChatEvent(chat_id=chat_id, at=now, kind="override", actor=body.advisor or actor, data={
                "set": given, "reason": body.reason,
                "before": {k: before[k] for k in ("urgency", "role", "minor")},
                "after": {k: after[k] for k in ("urgency", "role", "minor")},
                "model": {k: chat.prediction[k] for k in ("urgency", "role", "minor")},
            }))
            self.audit.add_override(session, chat_id, {
                "at": iso(now), "advisor": body.advisor, "key": actor, "fields": given, "reason": audit_reason,
                "before": {k: before[k] for k in ("urgency", "role", "minor")},
                "after": {k: after[k] for k in ("urgency", "role", "minor")}})
        if self.triager.metrics is not None:
            for key in given:
                self.triager.metrics.overrides.labels(key).inc()
        return self.view(chat_id, history=True)

    # --- reading ------------------------------------------------------------------------------
    def _waiting(self, session: Session) -> list:
        return session.execute(select(Chat.chat_id, Chat.urgency, Chat.minor, Chat.received_at, Chat.needs_review,
                                      Chat.severity).where(Chat.status == "waiting")).all()

    @staticmethod
    def _rank(rows, now: datetime, reasons: dict[str, str] | None = None) -> list[RankedItem]:
        reasons = reasons or {}
        return rank([QueueItem(chat_id=r.chat_id, urgency=r.urgency, minor=bool(r.minor), waiting_since=r.received_at,
                               needs_review=bool(r.needs_review), severity=float(r.severity or 0.0),
                               severity_nl=reasons.get(r.chat_id, "")) for r in rows], now)

    def view(self, chat_id: str, history: bool = False, truncated: bool = False) -> dict:
        with self.db.read() as session:
            chat = session.get(Chat, chat_id)
            if chat is None:
                raise not_found(chat_id)
            out = self._view(session, chat, utcnow(), history)
        out["text_truncated"] = truncated
        return out

    def _view(self, session: Session, chat: Chat, now: datetime, history: bool = False) -> dict:
        ranked = None
        if chat.status == "waiting":
            reasons = {chat.chat_id: chat.summary.get("triage", {}).get("severity_nl", "")}
            ranked = next((r for r in self._rank(self._waiting(session), now, reasons)
                           if r.item.chat_id == chat.chat_id), None)
        out = {
            "chat_id": chat.chat_id, "status": chat.status, "received_at": iso(chat.received_at),
            "waiting_seconds": round(ranked.waiting_seconds, 3) if ranked else None,
            "position": ranked.position if ranked else None,
            "priority": ranked.priority if ranked else None,
            "reason_nl": ranked.reason_nl if ranked else None,
            "reason_detail_nl": ranked.reason_detail_nl if ranked else None,
            "message_count": chat.message_count, "triage": chat.summary["triage"], "prediction": chat.prediction,
            "override": _override_out(chat.override), "guidance": chat.guidance,
            "claimed_by": chat.claimed_by, "claimed_at": iso(chat.claimed_at), "last_seen_at": iso(chat.last_seen_at),
            "claim_timeout_seconds": self.settings.claim_timeout_seconds, "closed_at": iso(chat.closed_at),
            "outcome": chat.outcome, "updated_at": iso(chat.updated_at), "text_truncated": False,
        }
        messages = session.execute(select(ChatMessage.seq, ChatMessage.received_at, ChatMessage.raw_text)
                                   .where(ChatMessage.chat_id == chat.chat_id).order_by(ChatMessage.seq)).all()
        out["messages"] = [{"seq": seq, "received_at": iso(at), "text": text} for seq, at, text in messages]
        if history:
            events = session.scalars(select(ChatEvent).where(ChatEvent.chat_id == chat.chat_id)
                                     .order_by(ChatEvent.id)).all()
            out["history"] = [{"at": iso(e.at), "kind": e.kind, "actor": e.actor, "data": e.data} for e in events]
        return out

    def queue_json(self) -> bytes:
        """GET /v1/queue as JSON bytes (api/queue_view.py); lapsed claims come back first."""
        self.expire_claims()
        return self.queue_view.json()


class _AlreadyThere(Exception):
    pass


def _override_out(override: dict | None) -> dict | None:
    if not override:
        return None
    return {k: override.get(k) for k in ("fields", "reason", "advisor", "at")}


def _worst_when(prediction: dict) -> dict[str, int]:
    """Per red-flag cue the most immediate time it was told with (0 = now)."""
    out: dict[str, int] = {}
    for flag in prediction.get("red_flags", []):
        rank_ = WHEN_RANK.get(flag.get("when"), WHEN_RANK["unspecified"])
        out[flag["cue"]] = min(rank_, out.get(flag["cue"], rank_))
    return out


def lapse_override(override: dict | None, before: dict, after: dict, now: datetime
                   ) -> tuple[dict | None, dict | None]:
    """An advisor's override must never hide new danger.

    New danger is a red flag the chat did not have before this message (or one that is now told
    as happening more immediately), a model urgency above the overridden urgency, or the model now
    finding a minor where the advisor said adult. Then every part of the override that could hide
    it lapses: an urgency that is not above the model's, "not a minor", and the role (the advisor
    judged it on text that no longer tells the whole story). Only parts that make the chat *more*
    urgent stay. Returns (the override that remains, None or {"fields", "new_red_flags", "alert"})."""
    if not override or not override.get("fields"):
        return override, None
    fields = dict(override["fields"])
    old_when, new_when = _worst_when(before), _worst_when(after)
    new_flags = sorted(cue for cue, rank_ in new_when.items() if rank_ < old_when.get(cue, len(WHEN_RANK)))
    above = "urgency" in fields and URGENCY_RANK[after["urgency"]] < URGENCY_RANK[fields["urgency"]]
    minor_found = fields.get("minor") is False and after["minor"]
    if not (new_flags or above or minor_found):
        return override, None
    lapsed = []
    if "urgency" in fields and URGENCY_RANK[fields["urgency"]] >= URGENCY_RANK[after["urgency"]]:
        lapsed.append("urgency")
    if fields.get("minor") is False:
        lapsed.append("minor")
    if "role" in fields:
        lapsed.append("role")
    for key in lapsed:
        fields.pop(key)
    why = []
    if new_flags:
        why.append(f"een nieuw bericht met {'rode vlag' if len(new_flags) == 1 else 'rode vlaggen'} "
                   f"({', '.join(RED_FLAGS.get(c, c) for c in new_flags)})")
    if above:
        why.append(f"het model schat de chat nu {URGENCY_NL[after['urgency']]} in, hoger dan de aanpassing "
                   f"({URGENCY_NL[override['fields']['urgency']]})")
    if minor_found:
        why.append("het model ziet nu een minderjarige chatter")
    who = f" van {override['advisor']}" if override.get("advisor") else ""
    outcome = (f"de aanpassing{who} is vervallen" if lapsed else f"de aanpassing{who} blijft (die is al urgenter)")
    text = f"Nieuw gevaar: {' en '.join(why)}; {outcome}."
    alert = {"at": iso(now), "kind": "override_lapsed", "text_nl": text[0].upper() + text[1:]}
    remaining = {**override, "fields": fields} if fields else None
    return remaining, {"fields": lapsed, "new_red_flags": new_flags, "alert": alert}
