"""Audit records of POST /v1/triage: durable before the answer, in the database soon after.

Two threads per server process:

* the journal thread takes every record waiting (group commit), builds them (AuditStore.build),
  appends them to the local outbox (api/audit/outbox.py) with one write and one fdatasync, and
  only then lets the waiting requests answer. Many concurrent requests share one fsync (~0.2 ms
  on an idle disk). The redaction (~1 ms of CPU, most of a record's cost) is started by the
  request while a model process predicts (redact_early), so it is mostly off the answer's path.
* the drain thread copies the outbox into the database in batches (one short transaction per
  batch, at most one per `linger` seconds when traffic is light), skipping records already there
  (the request key is unique), and deletes segments once they are durable in the database. It
  retries a failing database with backoff (0.2 s doubling to 10 s) for as long as it takes, and
  replays the segments of server processes that died (at start, then every 30 s).

Why an outbox and not a database transaction before each answer: the answer then depends only on
the local disk, not on the database's write lock (held for seconds under a write storm on SQLite)
or its availability; during a database outage predictions go on being served and audited.

Limits (what a request gets instead of an unaudited answer: 503 `audit_unavailable`, at once):
* the outbox holds at most `max_bytes` (TRIAGE_AUDIT_OUTBOX_MAX_MB) of records not yet in the
  database: full, new predictions are refused until the database takes records again;
* a write or fsync to the outbox failed (the next request after a second tries again);
* the journal has not finished a write for `stall_seconds` (a disk that hangs); a request waits
  at most `wait_timeout` seconds for its record to be durable.
Chat triage (POST /v1/chats, messages) still writes its record in the chat's own transaction.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from api.audit.outbox import OutboxDir, Segment, encode, read_records
from api.db.models import AuditLabel, AuditRecord, utcnow

log = logging.getLogger("triage.api")

ADOPT_EVERY_SECONDS = 30.0
BACKOFF_START, BACKOFF_MAX = 0.2, 10.0
DISK_RETRY_SECONDS = 1.0


class AuditUnavailable(RuntimeError):
    """The audit record cannot be made durable: the prediction must not be served."""


@dataclass
class _Waiting:
    args: tuple  # (now, text, prediction, guidance, source, request_key, redaction or None)
    future: asyncio.Future | None
    loop: asyncio.AbstractEventLoop | None
    since: float


def _settle(futures: list[asyncio.Future], error: Exception | None) -> None:
    for future in futures:
        if not future.done():
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)


class AuditWriter:
    def __init__(self, store, directory: Path, *, max_bytes: int = 256 * 2**20, segment_bytes: int = 8 * 2**20,
                 segment_seconds: float = 60.0, max_batch: int = 500, linger: float = 0.5,
                 wait_timeout: float = 5.0, stall_seconds: float = 2.0, drain_on_close: float = 10.0):
        self.store = store
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.segment_seconds = segment_seconds
        self.max_batch = max_batch
        self.linger = linger
        self.wait_timeout = wait_timeout
        self.stall_seconds = stall_seconds
        self.drain_on_close = drain_on_close
        self.outbox = OutboxDir(directory)

        self._lock = threading.Condition()  # everything below
        self._waiting: list[_Waiting] = []
        self._segments: list[Segment] = []  # oldest first; the active one is also self._active
        self._active: Segment | None = None
        self._fd: int | None = None
        self._backlog_bytes = 0     # in the outbox, not yet in the database
        self._backlog_records = 0
        self._disk_error: tuple[str, float] | None = None   # (what, when)
        self._db_error: tuple[str, float] | None = None     # (type, failing since)
        self._journal_busy_since: float | None = None
        self._closing = False
        self.failed_batches = 0

        self._wake_drain = threading.Event()
        self._hurry = threading.Event()      # flush() and close(): drain now, do not linger
        self._drain_stop = threading.Event()
        self._retry_now = threading.Event()  # flush() and close(): end a backoff wait
        self._drain_deadline = float("inf")
        self._journal = threading.Thread(target=self._journal_loop, daemon=True, name="triage-audit-journal")
        self._drain = threading.Thread(target=self._drain_loop, daemon=True, name="triage-audit-drain")
        self._adopt()  # what dead processes left counts as pending from the start (flush() waits for it)
        self._next_adopt = time.monotonic() + ADOPT_EVERY_SECONDS
        self._journal.start()
        self._drain.start()

    # --- the request side (event loop) -----------------------------------------------------------
    @property
    def pending(self) -> int:
        """Records accepted and not yet in the database."""
        return len(self._waiting) + self._backlog_records

    def check(self) -> None:
        """Raise AuditUnavailable when a record could not be made durable now (no waiting)."""
        now = time.monotonic()
        if self._closing:
            raise AuditUnavailable("the server is shutting down")
        if self._disk_error is not None and now - self._disk_error[1] < DISK_RETRY_SECONDS:
            raise AuditUnavailable(f"the audit outbox cannot be written ({self._disk_error[0]})")
        busy = self._journal_busy_since
        oldest = self._waiting[0].since if self._waiting else None
        stalled = min((t for t in (busy, oldest) if t is not None), default=None)
        if stalled is not None and now - stalled > self.stall_seconds:
            raise AuditUnavailable(f"the audit outbox disk has not answered for {now - stalled:.0f} s")
        if self._backlog_bytes >= self.max_bytes:
            raise AuditUnavailable(f"the audit outbox is full ({self._backlog_records} records wait for the "
                                   "database)")

    @staticmethod
    def redact_early(text: str) -> asyncio.Future:
        """Start redact(text), most of a record's CPU, in a thread now, e.g. while a model process
        predicts: the journal then has little left to do before the fsync. Pass the result to
        write()."""
        from triage.redact import redact

        return asyncio.ensure_future(run_in_threadpool(redact, text))

    async def write(self, text: str, prediction: dict[str, Any], guidance: list[dict], *, source: str,
                    request_key: str, now: datetime | None = None, redaction=None) -> None:
        """Return once the record is durable in the outbox; raise AuditUnavailable if it cannot be."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._submit((now or utcnow(), text, prediction, guidance, source, request_key, redaction), future, loop)
        try:
            await asyncio.wait_for(future, self.wait_timeout)
        except TimeoutError:
            raise AuditUnavailable(f"the audit record was not durable within {self.wait_timeout:.0f} s") from None

    def _submit(self, args: tuple, future, loop) -> None:
        with self._lock:
            self.check()
            self._waiting.append(_Waiting(args, future, loop, time.monotonic()))
            self._lock.notify_all()

    def health(self) -> tuple[bool, str]:
        """(accepting records, what /readyz says)."""
        try:
            self.check()
        except AuditUnavailable as exc:
            return False, str(exc)
        db_error = self._db_error
        if db_error is not None:
            return True, (f"ok: {self._backlog_records} record(s) wait in the outbox; writing them to the "
                          f"database fails ({db_error[0]}) for {time.monotonic() - db_error[1]:.0f} s, retrying")
        return True, "ok"

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every record accepted so far is in the database; False on timeout."""
        deadline = time.monotonic() + timeout
        self._hurry.set()
        self._wake_drain.set()
        self._retry_now.set()
        try:
            with self._lock:
                while self.pending:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._lock.wait(min(left, 0.1))
            return True
        finally:
            self._hurry.clear()

    def close(self, timeout: float | None = None) -> None:
        """Stop accepting, finish the journal, drain to the database for up to `drain_on_close`
        seconds; what is left stays in the outbox and is replayed by the next start."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._lock.notify_all()
        self._journal.join(30)
        self._drain_deadline = time.monotonic() + (self.drain_on_close if timeout is None else timeout)
        self._hurry.set()
        self._drain_stop.set()
        self._wake_drain.set()
        self._retry_now.set()
        self._drain.join(self.drain_on_close + 30)
        own_left = any(s.instance == self.outbox.instance for s in self._segments)
        if self._backlog_records:
            log.error("%d audit record(s) are not in the database yet; they stay in the outbox %s and are "
                      "written by the next start", self._backlog_records, self.outbox.directory)
        self.outbox.close(own_segments_left=own_left)

    # --- the journal thread ------------------------------------------------------------------------
    def _journal_loop(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._closing:
                    if not self._lock.wait(1.0):
                        self._seal_if_old()
                batch, self._waiting = self._waiting, []
                if not batch and self._closing:
                    break
                self._journal_busy_since = batch[0].since
            try:
                self._commit(batch)
            finally:
                with self._lock:
                    self._journal_busy_since = None
                    self._lock.notify_all()
        with self._lock:
            self._seal_active()

    def _commit(self, batch: list[_Waiting]) -> None:
        lines, accepted = [], []
        for item in batch:
            if item.future is not None and item.future.done():
                continue  # the request gave up (timed out): no answer is served
            now, text, prediction, guidance, source, key, redaction = item.args
            try:
                lines.append(encode(self.store.build(text, prediction, guidance, source=source, now=now,
                                                     request_key=key, redaction=redaction)))
                accepted.append(item)
            except Exception as exc:  # noqa: BLE001 - the type only: messages may quote the text
                log.error("audit record could not be built (%s); the prediction is not served", type(exc).__name__)
                self._resolve([item], AuditUnavailable("the audit record could not be built"))
        if not lines:
            return
        data = b"".join(lines)
        try:
            segment = self._append(data)
        except OSError as exc:
            what = f"{type(exc).__name__}: {os.strerror(exc.errno) if exc.errno else 'I/O error'}"
            log.error("the audit outbox could not be written (%s); %d prediction(s) refused", what, len(accepted))
            with self._lock:
                self._disk_error = (what, time.monotonic())
            self._resolve(accepted, AuditUnavailable(f"the audit outbox cannot be written ({what})"))
            return
        with self._lock:
            segment.size += len(data)
            self._backlog_bytes += len(data)
            self._backlog_records += len(lines)
            self._disk_error = None
        self._resolve(accepted, None)
        self._wake_drain.set()

    def _append(self, data: bytes) -> Segment:
        """Write and fdatasync `data` at the end of the active segment (a new one when it is old or
        large). On an error the segment is cut back to its durable size and sealed."""
        with self._lock:
            active = self._active
            if active is not None and (active.size >= self.segment_bytes
                                       or time.monotonic() - active.created >= self.segment_seconds):
                self._seal_active()
                active = None
        if active is None:
            active, fd = self.outbox.new_segment_file()
            active.created = time.monotonic()
            with self._lock:
                self._active, self._fd = active, fd
                self._segments.append(active)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
            os.fdatasync(self._fd)
        except OSError:
            try:
                os.ftruncate(self._fd, active.size)  # nothing half-written is replayed
            except OSError:
                pass
            with self._lock:
                self._seal_active()
            raise
        return active

    def _seal_active(self) -> None:
        """(lock held) No more appends to the active segment."""
        if self._active is not None:
            self._active.sealed = True
            self._active = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _seal_if_old(self) -> None:
        """(lock held) Seal an idle segment after `segment_seconds`, so that records leave the
        outbox soon after they are in the database."""
        active = self._active
        if active is not None and active.size and time.monotonic() - active.created >= self.segment_seconds:
            self._seal_active()
            self._wake_drain.set()

    @staticmethod
    def _resolve(items: list[_Waiting], error: Exception | None) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future]] = {}
        for item in items:
            if item.future is not None:
                by_loop.setdefault(item.loop, []).append(item.future)
        for loop, futures in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, futures, error)
            except RuntimeError:
                pass  # the loop is closed: nobody waits

    # --- the drain thread -----------------------------------------------------------------------------
    def _drain_loop(self) -> None:
        delay = BACKOFF_START
        while True:
            if time.monotonic() >= self._next_adopt and not self._drain_stop.is_set():
                self._adopt()
                self._next_adopt = time.monotonic() + ADOPT_EVERY_SECONDS
            chunk = self._next_chunk()
            if chunk is None:
                self._remove_drained()
                if self._drain_stop.is_set():
                    break
                self._wake_drain.wait(1.0)
                self._wake_drain.clear()
                if not self._hurry.is_set():
                    self._hurry.wait(self.linger)  # gather a batch: one transaction for many records
                continue
            segment, records, end, lines, damaged = chunk
            if damaged:
                log.error("%d damaged line(s) in audit outbox segment %s skipped", damaged, segment.path.name)
            try:
                if records:
                    self._insert(records)
            except Exception as exc:  # noqa: BLE001 - keep the records and try again
                self.failed_batches += 1
                with self._lock:
                    if self._db_error is None:
                        self._db_error = (type(exc).__name__, time.monotonic())
                if time.monotonic() + delay > self._drain_deadline:
                    break  # shutting down: the rest stays in the outbox for the next start
                log.error("writing %d audit record(s) to the database failed (%s); retrying in %.1f s",
                          len(records), type(exc).__name__, delay)
                self._retry_now.wait(delay)
                self._retry_now.clear()
                delay = min(BACKOFF_MAX, delay * 2)
                continue
            delay = BACKOFF_START
            with self._lock:
                self._backlog_bytes -= end - segment.drained
                self._backlog_records -= lines
                segment.drained = end
                self._db_error = None
                self._lock.notify_all()

    def _insert(self, rows: list[dict]) -> None:
        """Insert the records that are not in the database yet (a replay skips the others), and the
        label rows of those inserted (mapped back by their unique request key)."""
        from api.audit.head_rows import audit_label_rows
        from api.audit.records import split_values

        db = self.store.db
        if db.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        split = [split_values(values) for values in rows]
        statement = (insert(AuditRecord).on_conflict_do_nothing(index_elements=["request_key"])
                     .returning(AuditRecord.id, AuditRecord.request_key))
        with db.write() as session:
            if db.dialect == "postgresql":
                # Durable at commit even on a cluster run with synchronous_commit=off: the
                # outbox's copy is deleted on the strength of it.
                session.execute(text("SET LOCAL synchronous_commit TO on"))
            inserted = {key: record_id for record_id, key in
                        session.execute(statement, [columns for columns, _ in split])}
            labels = []
            for columns, label_rows in split:
                record_id = inserted.pop(columns["request_key"], None)  # pop: a key twice in a batch
                if record_id is not None:
                    labels += audit_label_rows(record_id, label_rows)
            if labels:
                session.execute(insert(AuditLabel), labels)

    def _make_durable(self) -> None:
        """On SQLite (synchronous=NORMAL, WAL) a commit is safe from a process kill but reaches the
        disk only at a checkpoint: fsync the WAL and the database before an outbox copy is deleted."""
        db = self.store.db
        if db.dialect != "sqlite":
            return
        database = db.engine.url.database
        for path in (f"{database}-wal", database):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _adopt(self) -> None:
        try:
            adopted = self.outbox.adopt_orphans()
        except OSError as exc:
            log.error("the audit outbox could not be scanned for records to replay (%s)", type(exc).__name__)
            return
        if not adopted:
            return
        with self._lock:
            for segment, lines in adopted:
                self._segments.insert(0, segment)
                self._backlog_bytes += segment.size
                self._backlog_records += lines
        log.info("replaying %d audit record(s) left in the outbox by a stopped server process",
                 sum(lines for _, lines in adopted))

    def _next_chunk(self):
        with self._lock:
            work = next((s for s in self._segments if s.backlog > 0), None)
            if work is None:
                return None
            start, end, final = work.drained, work.size, work.sealed
        records, stop, lines, damaged = read_records(work.path, start, end, self.max_batch, final)
        if lines == 0:
            return None
        return work, records, stop, lines, damaged

    def _remove_drained(self) -> None:
        with self._lock:
            done = [s for s in self._segments if s.sealed and s.backlog <= 0]
        if not done:
            return
        try:
            self._make_durable()  # what was inserted survives a power cut before its copy goes
            for segment in done:
                self.outbox.remove(segment)
        except OSError as exc:
            log.error("drained audit outbox segments could not be removed (%s)", type(exc).__name__)
            return
        with self._lock:
            self._segments = [s for s in self._segments if s not in done]
