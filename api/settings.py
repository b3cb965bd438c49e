"""Service settings, read from TRIAGE_* environment variables (and .env), on top of the core ones.

Contract (names are part of the interface):
  TRIAGE_DATABASE_URL  SQLAlchemy URL; default a SQLite file in TRIAGE_DATA_DIR.
                       PostgreSQL: postgresql+psycopg://user:password@host:port/db
  TRIAGE_DATA_DIR      service data: the SQLite database and the generated admin key
  TRIAGE_API_KEYS      comma-separated role:key pairs, e.g. "queue:k1,advisor:k2"
  TRIAGE_SPACY_MODEL, TRIAGE_MODEL_DIR  see triage/settings.py
  TRIAGE_STORE_RAW_TEXT, TRIAGE_RAW_RETENTION_DAYS  raw text in audit records (default off; 30 days)
  TRIAGE_AUDIT_OUTBOX_DIR, TRIAGE_AUDIT_OUTBOX_MAX_MB  the local journal of POST /v1/triage's audit
                       records (api/audit/writer.py; default <data dir>/audit-outbox, 256 MB)
  TRIAGE_MODEL_POLL_SECONDS  how often each process checks the database's active model version (2)
  TRIAGE_ABANDONED_HOURS  open chats untouched this long are closed as disconnected by `triage purge` (24)
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from triage.settings import Settings

ROLES: tuple[str, ...] = ("queue", "advisor", "reviewer", "admin")
ADMIN_KEY_FILE = "admin.key"
SQLITE_FILE = "triage.sqlite3"
MAX_AUTO_MODEL_PROCESSES = 4  # each holds a model (~250 MB)


class ApiKeyConfigError(ValueError):
    """TRIAGE_API_KEYS cannot be parsed."""


class ApiSettings(Settings):
    database_url: str | None = Field(None, description="SQLAlchemy database URL (default: SQLite in data_dir)")
    api_keys: str = Field("", description="comma-separated role:key pairs")
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="largest request body accepted (413 above)")
    guidance_dir: Path | None = Field(None, description="directory of guidance cards (default: guidance/)")
    guidance_limit: int = Field(4, ge=0, le=20, description="guidance cards returned per triage")
    preview_chars: int = Field(80, ge=0, le=500, description="length of the opener preview shown to advisors")
    max_messages_per_chat: int = Field(200, ge=1, description="client messages kept per waiting chat")
    claim_timeout_seconds: float = Field(
        120.0, ge=5, le=3600, description="a claimed chat whose advisor's page has sent no sign of life (claim or "
                                          "heartbeat; the page sends one every 10 s) for this long goes back to "
                                          "the queue, keeping its waiting time")
    key_cache_seconds: float = Field(30.0, ge=0, description="how long database API keys are cached")
    metrics_public: bool = Field(False, description="serve /metrics without an API key")
    received_at_max_age_seconds: int = Field(
        86400, ge=60, le=7 * 86400, description="a `received_at` sent by the chat platform may lie at most this "
                                                "far in the past (422 otherwise): it orders the queue")
    received_at_max_future_seconds: int = Field(
        300, ge=0, le=3600, description="... and at most this far in the future (the clocks' skew)")
    log_level: str = Field("info")
    workers: int = Field(1, ge=1, le=32, description="uvicorn worker processes for `triage serve` (balanced per "
                                                      "connection; one model copy each)")
    model_poll_seconds: float = Field(2.0, ge=0.2, le=60, description="how often every server process reads "
                                      "the active model version from the database; a new one is loaded "
                                      "and swapped in behind the requests")
    model_processes: int | None = Field(
        None, ge=0, le=32, description="processes that run predictions for this server (balanced per request, "
                                       "micro-batched); 0: in the server process; unset: one per core but one "
                                       f"(at least 1, at most {MAX_AUTO_MODEL_PROCESSES}) on a machine with "
                                       "several cores and TRIAGE_WORKERS=1, else 0")
    db_pool_size: int = Field(10, ge=1, description="database connections per pool (reads and writes each have "
                                                    "one pool, each with as many overflow connections)")
    # Writes must not make reads wait (api/db/session.py, api/write_gate.py).
    db_busy_timeout_ms: int = Field(10_000, ge=0, le=600_000, description="SQLite: how long a write waits for "
                                    "another process's write lock before failing (503 database_unavailable)")
    db_lock_timeout_ms: int = Field(5_000, ge=0, le=600_000, description="PostgreSQL lock_timeout of every "
                                    "session: a statement waiting this long for a lock fails (0: no limit)")
    db_statement_timeout_ms: int = Field(30_000, ge=0, le=3_600_000, description="PostgreSQL statement_timeout "
                                         "of every session (0: no limit)")
    chat_write_concurrency: int = Field(8, ge=1, le=256, description="client chat writes (POST /v1/chats and "
                                        "its messages: a prediction each) handled at once per server process; "
                                        "more wait their turn in arrival order, without a thread")
    request_threads: int = Field(100, ge=10, le=1000, description="threads for request handlers per server "
                                 "process; above the writes that can wait, so reads always find one")
    # Slow or unauthenticated clients (api/slow_clients.py, api/middleware.py).
    header_timeout_seconds: float = Field(10.0, gt=0, le=300, description="a request's line and headers must "
                                          "arrive within this time of the connection (or of the previous "
                                          "response); else the connection is closed")
    body_timeout_seconds: float = Field(10.0, gt=0, le=300, description="a request body must arrive within "
                                        "this time of its headers; else 408 and the connection is closed")
    max_header_bytes: int = Field(32 * 1024, ge=4096, le=1024 * 1024, description="largest request line plus "
                                  "headers (431 above)")
    keep_alive_seconds: int = Field(5, ge=1, le=300, description="an idle keep-alive connection is closed "
                                    "after this long")
    # Audit records (api/audit/): the redacted text is always stored; the raw text only with this on.
    store_raw_text: bool = Field(False, description="also keep the raw (unredacted) text of audit records, for "
                                                    "raw_retention_days; `triage purge` deletes it afterwards")
    raw_retention_days: int = Field(30, ge=1, le=3650, description="days raw client text may be kept (audit "
                                                                   "records, and closed or left chats)")
    abandoned_hours: float = Field(24.0, gt=0, le=24 * 30, description="`triage purge` closes a waiting or claimed "
                                   "chat nobody touched for this long (no client message, advisor action or "
                                   "heartbeat) as `disconnected`, and its text goes as on any close")

    # The audit outbox (api/audit/writer.py): records are durable here before the answer.
    audit_outbox_dir: Path | None = Field(None, description="local directory of the audit outbox, on a disk of "
                                                            "this machine (default: <data_dir>/audit-outbox)")
    audit_outbox_max_mb: float = Field(256, gt=0, le=1_000_000, description="audit records not yet in the database "
                                     "that the outbox holds; when full, POST /v1/triage answers 503 audit_unavailable")

    @property
    def resolved_audit_outbox_dir(self) -> Path:
        return Path(self.audit_outbox_dir) if self.audit_outbox_dir else Path(self.data_dir) / "audit-outbox"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{Path(self.data_dir).resolve() / SQLITE_FILE}"

    @property
    def admin_key_path(self) -> Path:
        return Path(self.data_dir) / ADMIN_KEY_FILE

    @property
    def resolved_model_processes(self) -> int:
        """TRIAGE_MODEL_PROCESSES, or what it means unset: the GIL keeps one process's predictions on
        one core, so with several cores predictions go to model processes, one per core but one: the
        server process itself (HTTP, database, audit redaction) keeps about half a core busy under
        load. On 2 cores, one model process answers 8 clients with p99 52 ms, two with 59 ms: two
        split the batches (less efficient) and contend with the server for the cores."""
        if self.model_processes is not None:
            return self.model_processes
        if self.workers > 1:
            return 0  # each uvicorn worker holds a model already
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return min(cores - 1, MAX_AUTO_MODEL_PROCESSES) if cores >= 2 else 0

    def parsed_api_keys(self) -> list[tuple[str, str]]:
        """[(role, key)] from TRIAGE_API_KEYS; raises ApiKeyConfigError naming the bad entry."""
        pairs: list[tuple[str, str]] = []
        for number, entry in enumerate(self.api_keys.split(","), start=1):
            entry = entry.strip()
            if not entry:
                continue
            role, sep, key = entry.partition(":")
            role, key = role.strip(), key.strip()
            if not sep or not key:
                raise ApiKeyConfigError(f"TRIAGE_API_KEYS entry #{number} must be role:key")
            if role not in ROLES:
                raise ApiKeyConfigError(
                    f"TRIAGE_API_KEYS entry #{number} has unknown role '{role}'; roles are {', '.join(ROLES)}")
            if len(key) < 16:
                raise ApiKeyConfigError(f"TRIAGE_API_KEYS entry #{number}: the key must be at least 16 characters")
            pairs.append((role, key))
        return pairs
