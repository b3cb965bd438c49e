"""What the service keeps of a chat after it ends, and for how long (`triage purge`).

Client text is kept only while the chat is open: the model re-reads the combined text on every new
message and the advisor reads it. Copies of it live in more places than the messages:

- `chat_messages.raw_text`, `chats.raw_preview`: the text itself;
- `chats.prediction`: the red flags quote the text (`text`, with offsets) and the explanation's
  word and character features are pieces of it;
- `chats.summary`: the queue's copy of the red flags and the Dutch summary (`summary_nl`), which
  quotes them and ends with the advisor's override reason;
- `chats.override` and the `override` events in `chat_events`: the advisor's reason, free text.
  Reasons are redacted before they are stored at all (api/chats.py).

When a chat ends (closed, the client left, or abandoned: `end_chat_text`) the text is deleted and
every copy of it in the chat is redacted in the same transaction, with the whole text as context
(api/audit/prediction_redaction.py redact_prediction, as the audit records are). After TRIAGE_RAW_RETENTION_DAYS
`purge()` removes the rest: quotes, features and reasons are emptied and the chat keeps its labels,
times and outcome only (`chats.purged_at`). The audit records keep their redacted text for review,
as documented in docs/api.md; their raw text (TRIAGE_STORE_RAW_TEXT) goes after the retention too.

A chat nobody touched for TRIAGE_ABANDONED_HOURS (no client message, no advisor action or
heartbeat; the client never said goodbye and nobody closed it) is closed by `purge()` with outcome
`disconnected` and a `disconnected` history event, and its text goes as on any close.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from api.db.models import AuditRecord, Chat, ChatEvent, ChatMessage, utcnow
from api.db.session import Database
from triage.labels import OVERRIDABLE_HEADS

log = logging.getLogger("triage.api")

OPEN_STATUSES = ("waiting", "claimed")
ENDED_STATUSES = ("closed", "left")
REASON_REMOVED_NL = "verwijderd na de bewaartermijn"
PURGE_BATCH = 200  # chats scrubbed per transaction: short write transactions


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# --- at the end of a chat --------------------------------------------------------------------------

def _redacted(texts: list[str | None], prediction: dict) -> dict:
    from api.audit import redact_prediction
    from api.predictions.service import combine_client_text

    combined, _ = combine_client_text([t for t in texts if t])
    _, out, _ = redact_prediction(combined, prediction)
    for flag in out.get("red_flags", []):  # the chat's schema needs offsets: 0 when unknown
        flag["start_char"] = flag.get("start_char") or 0
        flag["end_char"] = flag.get("end_char") or 0
    return out


def _texts(session: Session, chat_id: str) -> list[str | None]:
    return list(session.scalars(select(ChatMessage.raw_text).where(ChatMessage.chat_id == chat_id)
                                .order_by(ChatMessage.seq)))


def prepare_end(db: Database, chat_id: str) -> dict | None:
    """Redaction before the write transaction that ends the chat (a few ms of CPU that would
    otherwise hold the write lock): the chat's version and its redacted prediction. Used by
    end_chat_text only if the chat did not change in between."""
    with db.read() as session:
        row = session.execute(select(Chat.version, Chat.prediction).where(Chat.chat_id == chat_id)).first()
        if row is None:
            return None
        texts = _texts(session, chat_id)
    return {"chat_id": chat_id, "version": row.version, "prediction": _redacted(texts, row.prediction)}


def end_chat_text(session: Session, chat_id: str, prepared: dict | None = None) -> None:
    """The chat ended: delete the client text and redact every copy of it in the chat (in the
    caller's transaction, after the status change, which moved the version on by one). Redaction
    sees the whole combined text, as the model did."""
    texts = _texts(session, chat_id)
    session.execute(update(ChatMessage).where(ChatMessage.chat_id == chat_id).values(raw_text=None)
                    .execution_options(synchronize_session=False))
    version = session.scalar(select(Chat.version).where(Chat.chat_id == chat_id))
    chat = session.get(Chat, chat_id)
    if chat is None or version is None:
        return
    chat.raw_preview = None
    if prepared is not None and prepared["chat_id"] == chat_id and prepared["version"] + 1 == version:
        prediction = prepared["prediction"]
    else:  # a message came in meanwhile (or nothing was prepared): redact what is there now
        prediction = _redacted(texts, chat.prediction)
    chat.prediction = prediction
    chat.summary = _summary(chat, prediction)


def _summary(chat: Chat, prediction: dict) -> dict:
    from api.chats.summary import build_summary

    marks = chat.summary.get("triage", {})
    summary = build_summary(prediction, chat.override, chat.guidance, marks.get("alert"), marks.get("returned"))
    # The effective triage and severity are the chat's as they were; only the text changes.
    summary["triage"].update({k: marks[k] for k in (*OVERRIDABLE_HEADS, "needs_review", "severity", "severity_nl")
                              if k in marks})
    return summary


# --- after the retention period ---------------------------------------------------------------------

def strip_prediction(prediction: dict) -> dict:
    """A prediction with nothing left of the client's text: red flags without quotes, no features."""
    from triage.explain import summary_nl

    flags = [{**f, "text": "", "start_char": 0, "end_char": 0} for f in prediction.get("red_flags", [])]
    explanation = {k: ([] if isinstance(v, list) and v and isinstance(v[0], dict) and "feature" in v[0] else v)
                   for k, v in prediction.get("explanation", {}).items()}
    out = {**prediction, "red_flags": flags, "explanation": explanation}
    try:
        explanation["summary_nl"] = summary_nl(out).replace(' ("")', "")
    except (KeyError, TypeError, ValueError):
        explanation["summary_nl"] = ""
    return out


def _strip_chat(chat: Chat) -> None:
    if chat.override:
        chat.override = {**chat.override, "reason": REASON_REMOVED_NL}
    prediction = strip_prediction(chat.prediction)
    chat.prediction = prediction
    chat.summary = _summary(chat, prediction)  # its alert and return notices name advisors and cues only


def _strip_events(session: Session, chat_id: str) -> int:
    n = 0
    for event in session.scalars(select(ChatEvent).where(ChatEvent.chat_id == chat_id,
                                                         ChatEvent.kind == "override")):
        if event.data.get("reason") not in (None, REASON_REMOVED_NL):
            event.data = {**event.data, "reason": REASON_REMOVED_NL}
            n += 1
    return n


# --- abandoned chats ------------------------------------------------------------------------------

def close_abandoned(db: Database, hours: float, now: datetime | None = None, dry_run: bool = False) -> list[str]:
    """Close chats nobody touched for `hours` as `disconnected`; returns their ids. Each chat in its
    own short transaction, conditional on its version: a message or claim that comes in meanwhile
    keeps the chat open."""
    now = now or utcnow()
    cutoff = now - timedelta(hours=hours)
    last = func.coalesce(Chat.last_seen_at, Chat.updated_at)
    with db.read() as session:
        rows = session.execute(select(Chat.chat_id, Chat.version, Chat.updated_at, Chat.last_seen_at)
                               .where(Chat.status.in_(OPEN_STATUSES), Chat.updated_at < cutoff,
                                      or_(Chat.last_seen_at.is_(None), last < cutoff))).all()
    if dry_run:
        return [r.chat_id for r in rows]
    closed = []
    for chat_id, version, updated_at, last_seen in rows:
        last_activity = max(t for t in (updated_at, last_seen) if t is not None)
        with db.write() as session:
            done = session.execute(
                update(Chat).where(Chat.chat_id == chat_id, Chat.version == version, Chat.status.in_(OPEN_STATUSES))
                .values(status="closed", outcome="disconnected", closed_at=now, updated_at=now, raw_preview=None,
                        version=version + 1, claimed_by=None, claimed_key=None, claimed_name=None,
                        claimed_at=None, last_seen_at=None)
                .execution_options(synchronize_session=False)).rowcount
            if done != 1:
                continue
            end_chat_text(session, chat_id)
            session.add(ChatEvent(chat_id=chat_id, at=now, kind="disconnected", actor=None, data={
                "outcome": "disconnected", "last_activity": iso(last_activity), "abandoned_hours": hours}))
        closed.append(chat_id)
    if closed:
        log.info("closed %d abandoned chats as disconnected (no activity for %g h)", len(closed), hours)
    return closed


# --- `triage purge` ---------------------------------------------------------------------------------

def purge(settings, now: datetime | None = None, db: Database | None = None, dry_run: bool = False) -> dict:
    """Close abandoned chats, then delete what is past retention. Returns what was done:

    - `disconnected`: chats closed as abandoned (TRIAGE_ABANDONED_HOURS);
    - `cleared`: raw text deleted, per column: audit_records.raw_text older than
      TRIAGE_RAW_RETENTION_DAYS (all of it when TRIAGE_STORE_RAW_TEXT is off), and
      chat_messages.raw_text / chats.raw_preview of chats ended longer ago (the service empties
      them when a chat ends; this catches what an older version or an interrupted request left);
    - `stripped`: chats ended longer ago than the retention whose quotes, features and override
      reasons were emptied now (`chats`), and their override events (`chat_events`).
    """
    now = now or utcnow()
    cutoff = now - timedelta(days=settings.raw_retention_days)
    own = db is None
    if own:
        from api.db import migrate

        db = migrate.open_migrated(settings.resolved_database_url)
    try:
        disconnected = close_abandoned(db, settings.abandoned_hours, now, dry_run)
        ended = [Chat.status.in_(ENDED_STATUSES), Chat.closed_at.is_not(None), Chat.closed_at < cutoff]
        audit_where = [AuditRecord.raw_text.is_not(None)]
        if settings.store_raw_text:
            audit_where.append(AuditRecord.created_at < cutoff)
        message_where = [ChatMessage.raw_text.is_not(None), ChatMessage.chat_id.in_(select(Chat.chat_id)
                                                                                      .where(*ended))]
        chat_where = [Chat.raw_preview.is_not(None), *ended]
        strip_where = [Chat.purged_at.is_(None), *ended]
        if dry_run:
            with db.read() as session:
                def count(model, where):
                    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

                cleared = {"audit_records.raw_text": count(AuditRecord, audit_where),
                           "chat_messages.raw_text": count(ChatMessage, message_where),
                           "chats.raw_preview": count(Chat, chat_where)}
                stripped = {"chats": count(Chat, strip_where), "chat_events": count(ChatEvent, [
                    ChatEvent.kind == "override", ChatEvent.chat_id.in_(select(Chat.chat_id).where(*strip_where))])}
        else:
            with db.write() as session:
                cleared = {
                    "audit_records.raw_text": session.execute(
                        update(AuditRecord).where(*audit_where).values(raw_text=None)
                        .execution_options(synchronize_session=False)).rowcount,
                    "chat_messages.raw_text": session.execute(
                        update(ChatMessage).where(*message_where).values(raw_text=None)
                        .execution_options(synchronize_session=False)).rowcount,
                    "chats.raw_preview": session.execute(
                        update(Chat).where(*chat_where).values(raw_preview=None)
                        .execution_options(synchronize_session=False)).rowcount,
                }
            cleared = {k: int(v or 0) for k, v in cleared.items()}
            stripped = {"chats": 0, "chat_events": 0}
            while True:
                with db.write() as session:
                    chats = session.scalars(select(Chat).where(*strip_where).order_by(Chat.closed_at)
                                            .limit(PURGE_BATCH)).all()
                    for chat in chats:
                        _strip_chat(chat)
                        stripped["chat_events"] += _strip_events(session, chat.chat_id)
                        chat.purged_at = now
                if not chats:
                    break
                stripped["chats"] += len(chats)
        return {"cutoff": iso(cutoff), "dry_run": dry_run, "disconnected": len(disconnected),
                "abandoned_hours": settings.abandoned_hours, "cleared": cleared, "stripped": stripped}
    finally:
        if own:
            db.dispose()
