"""Database tables.

SENSITIVE DATA CONVENTION: every column that holds text the client typed is named `raw_*`
(chat_messages.raw_text, chats.raw_preview). A later redaction / retention step finds them by that
prefix. They are kept only while the text may still be needed for re-triage of the combined client
text (the chat is waiting or claimed) and emptied when the chat is closed or the client left.
Quotes of it in chats.prediction / chats.summary are redacted then, and emptied after the
retention period (api/retention.py).
Nothing in this module or its callers logs them. audit_records.raw_text exists only when
TRIAGE_STORE_RAW_TEXT is on, and `triage purge` empties it after TRIAGE_RAW_RETENTION_DAYS.

Audit records hold REDACTED text (triage.redact): `redacted_text`, and the red-flag phrases,
explanation and override reasons in their JSON columns are redacted too. Their labels, scores and
gold labels per head are rows (audit_labels, review_labels), not columns: see AuditLabel.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

CHAT_STATUSES = ("waiting", "claimed", "closed", "left")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every database (SQLite stores them naive, in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    pass


class Chat(Base):
    """A chat in the queue; its current (effective) triage and state."""

    __tablename__ = "chats"

    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="waiting")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)  # waiting since
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)  # optimistic concurrency
    message_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    # Effective triage (model prediction with an advisor's override on top): what the queue ranks on.
    urgency: Mapped[str] = mapped_column(String(16), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    minor: Mapped[bool] = mapped_column(Boolean, nullable=False)
    needs_review: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    severity: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)  # orders acute chats
    prediction: Mapped[dict] = mapped_column(JSON, nullable=False)        # latest model output, full
    override: Mapped[dict | None] = mapped_column(JSON, nullable=True)    # latest advisor override
    guidance: Mapped[list] = mapped_column(JSON, nullable=False)          # selected cards, full
    summary: Mapped[dict] = mapped_column(JSON, nullable=False)           # compact triage for the queue
    model_version: Mapped[str] = mapped_column(String(64), nullable=False)
    raw_preview: Mapped[str | None] = mapped_column(Text, nullable=True)  # SENSITIVE: opener preview

    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The claiming advisor's page was last seen (claim or heartbeat): a claim without sign of life
    # for TRIAGE_CLAIM_TIMEOUT_SECONDS goes back to the queue.
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # `triage purge` removed the chat's remaining text (quotes, features, reasons) after retention.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    # A returning client (the platform reuses its conversation id) gets a new row: conversation
    # 2, 3, ... of that platform id, chat_id "<platform id>~2", linked to the earlier one.
    # Set on every row; a row inserted without it (older code, a benchmark) is its own first conversation.
    platform_chat_id: Mapped[str | None] = mapped_column(
        String(64), nullable=True, default=lambda ctx: ctx.get_current_parameters()["chat_id"])
    conversation: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")
    previous_chat_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The claim belongs to an API key (its key_id); claimed_by is the key's label and claimed_name
    # the name the advisor typed at sign-in (self-declared: keys may be shared until accounts exist).
    claimed_key: Mapped[str | None] = mapped_column(String(32), nullable=True)
    claimed_name: Mapped[str | None] = mapped_column(String(100), nullable=True)

    # status first: every query by status; with chat_id and version: the queue poll reads the index only.
    __table_args__ = (Index("ix_chats_status_queue", "status", "chat_id", "version"),
                      Index("ix_chats_platform_conversation", "platform_chat_id", "conversation", unique=True))


class ChatMessage(Base):
    """A client message sent while the chat waits; kept for re-triage on the combined text."""

    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chat_id: Mapped[str] = mapped_column(ForeignKey("chats.chat_id", ondelete="CASCADE"), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    chars: Mapped[int] = mapped_column(Integer, nullable=False)
    raw_text: Mapped[str | None] = mapped_column(Text, nullable=True)  # SENSITIVE: client text

    __table_args__ = (UniqueConstraint("chat_id", "seq", name="uq_chat_messages_chat_seq"),)


class ChatEvent(Base):
    """The history of a chat: model triage, advisor overrides, claims, releases, close, leave."""

    __tablename__ = "chat_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chat_id: Mapped[str] = mapped_column(ForeignKey("chats.chat_id", ondelete="CASCADE"), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    actor: Mapped[str | None] = mapped_column(String(100), nullable=True)
    data: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)

    __table_args__ = (Index("ix_chat_events_chat_id", "chat_id", "id"),)


class ApiKey(Base):
    """API keys stored by the service (the generated admin key and keys added later): hashes only."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    label: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditRecord(Base):
    """One prediction served (POST /v1/triage, or the queue's triage of a chat), kept for review.

    The model's labels and scores and the gold labels are rows of `audit_labels` (one per head and
    label), so that the reviewers' filters and the statistics are plain SQL on every database and
    a new head (triage.labels.HEAD_REGISTRY) needs no column and no migration.
    """

    __tablename__ = "audit_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    week: Mapped[str] = mapped_column(String(8), nullable=False)            # ISO week, "2026-W48"
    source: Mapped[str] = mapped_column(String(16), nullable=False)         # triage | chat | message
    # POST /v1/triage: the key returned to the caller (X-Audit-Record-Key); written after the response.
    request_key: Mapped[str | None] = mapped_column(String(32), nullable=True)
    chat_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # no FK: records outlive chats
    message_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    model_version: Mapped[str] = mapped_column(String(64), nullable=False)
    spacy_pipeline: Mapped[str] = mapped_column(String(64), nullable=False)
    needs_review: Mapped[bool] = mapped_column(Boolean, nullable=False)

    redacted_text: Mapped[str] = mapped_column(Text, nullable=False)
    text_chars: Mapped[int] = mapped_column(Integer, nullable=False)        # length of the raw text
    text_truncated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    redactions: Mapped[dict] = mapped_column(JSON, nullable=False)          # placeholder type -> count
    raw_text: Mapped[str | None] = mapped_column(Text, nullable=True)       # SENSITIVE: only if enabled
    prediction: Mapped[dict] = mapped_column(JSON, nullable=False)          # redacted model output
    guidance: Mapped[list] = mapped_column(JSON, nullable=False)            # [{id, title, reason}]
    effective: Mapped[dict | None] = mapped_column(JSON, nullable=True)     # queue: the triage used

    overridden: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    overrides: Mapped[list] = mapped_column(JSON, nullable=False, default=list)  # advisors' overrides

    # Reviews, and whether the gold labels resolved from them (api/audit/agreement.py; the labels are
    # `audit_labels` rows with source "gold") settle the record; kept up to date per review.
    review_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    gold_resolved: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    __table_args__ = (
        Index("ix_audit_records_created_at", "created_at"),
        Index("ix_audit_records_chat_id", "chat_id", "id"),
        Index("ix_audit_records_model_version", "model_version"),
        Index("ix_audit_records_week", "week"),
        Index("ix_audit_records_request_key", "request_key", unique=True),
    )


class AuditLabel(Base):
    """One label of one head of an audit record: the model's (source "model") or the one resolved
    from the reviews (source "gold"). Single-label heads have one row, a multi-label head one row
    per label in its set (none for the empty set). Labels are text: binary heads "true"/"false"
    (api/audit/head_rows.py encodes and decodes them).

    score: for a single-label head of the model, the head's top score (the low-confidence filter
    reads it); for a label of a multi-label head, that label's score; NULL for gold labels.
    """

    __tablename__ = "audit_labels"

    record_id: Mapped[int] = mapped_column(ForeignKey("audit_records.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(8), primary_key=True)
    head: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(32), primary_key=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)

    # The primary key reads a record's labels. The filters (records with a given model or gold
    # label) and the statistics' per-label counts read the label index only; the low-confidence
    # filter reads a range of the score index per head.
    __table_args__ = (Index("ix_audit_labels_label", "head", "source", "label", "record_id"),
                      Index("ix_audit_labels_score", "head", "source", "score", "record_id"))


class Review(Base):
    """A reviewer's verdict on one audit record: one per reviewer per record (a second replaces it).
    Its verdict and labels per head are rows of `review_labels`."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("audit_records.id", ondelete="CASCADE"), nullable=False)
    reviewer: Mapped[str] = mapped_column(String(100), nullable=False)           # stable id from the API key
    reviewer_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)                # redacted

    __table_args__ = (UniqueConstraint("record_id", "reviewer", name="uq_reviews_record_reviewer"),
                      Index("ix_reviews_record_id", "record_id"))


class ReviewLabel(Base):
    """A reviewer's label for one head: the model's where `ok` (the reviewer confirms it), else the
    correction. A multi-label head has one row per label; its empty set one row with label NULL,
    which keeps the head's verdict. `ok` is the same on every row of a head."""

    __tablename__ = "review_labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), nullable=False)
    head: Mapped[str] = mapped_column(String(32), nullable=False)
    label: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)

    __table_args__ = (Index("ix_review_labels_review_id", "review_id", "head"),)
