"""Write-behind for the audit records of POST /v1/triage.

The stateless triage answers as soon as the prediction is made; redaction and the INSERT of its
audit record happen in one writer thread per server process, which writes whatever has queued up
in one transaction. That takes ~3 ms off each answer and, under concurrent requests, removes the
contention of many threads for the database's write lock (on SQLite a waiting writer sleeps in
steps of up to 100 ms). The caller gets a request key (`X-Audit-Record-Key`) that finds the record.

Guarantees and limits:
* Nothing is dropped: when `max_pending` records wait (the database is down or too slow),
  `submit()` waits up to `submit_timeout` seconds and then raises AuditBacklogFull, and the request
  fails with 503: no prediction is served that cannot be audited.
* A batch that fails to write is retried (backoff up to 5 s) until it is written.
* `close()` (server shutdown) writes everything still queued. A process killed with SIGKILL loses
  the records still queued: normally those of the last few milliseconds.
Chat triage (POST /v1/chats, messages) still writes its record in the chat's own transaction.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import datetime
from typing import Any

from api.db.models import utcnow

log = logging.getLogger("triage.api")

_STOP = object()


class AuditBacklogFull(RuntimeError):
    """Too many audit records wait to be written: the prediction must not be served."""


class AuditWriter:
    def __init__(self, store, *, max_pending: int = 5000, max_batch: int = 200, linger: float = 0.5,
                 submit_timeout: float = 5.0):
        self.store = store
        self.max_batch = max_batch
        self.linger = linger
        self._hurry = threading.Event()  # flush() and close(): write now, do not linger
        self.submit_timeout = submit_timeout
        self._queue: queue.Queue = queue.Queue(max_pending)
        self._pending = 0  # submitted, not yet written (or given up)
        self._done = threading.Condition()
        self._closing = False
        self.failed_batches = 0
        self._thread = threading.Thread(target=self._run, daemon=True, name="triage-audit-writer")
        self._thread.start()

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, text: str, prediction: dict[str, Any], guidance: list[dict], *, source: str,
               request_key: str, now: datetime | None = None) -> None:
        if self._closing:
            raise AuditBacklogFull("the audit writer is shutting down")
        with self._done:
            self._pending += 1
        try:
            self._queue.put((now or utcnow(), text, prediction, guidance, source, request_key),
                            timeout=self.submit_timeout)
        except queue.Full:
            self._finished(1)
            raise AuditBacklogFull(f"{self._queue.maxsize} audit records wait to be written") from None

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every record submitted so far is written; False on timeout."""
        deadline = time.monotonic() + timeout
        self._hurry.set()
        try:
            return self._wait_written(deadline)
        finally:
            self._hurry.clear()

    def _wait_written(self, deadline: float) -> bool:
        with self._done:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._done.wait(left)
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the thread."""
        if self._closing:
            return
        self._closing = True
        self._hurry.set()
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive() or self._pending:
            log.error("audit writer stopped with %d record(s) not written", self._pending)

    # --- the writer thread -----------------------------------------------------------------------
    def _run(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            if item is _STOP:
                break
            batch = [item]
            # Collect for up to `linger` seconds: one transaction for many records, and the
            # redaction work done in bursts rather than between every two requests.
            deadline = time.monotonic() + self.linger
            while len(batch) < self.max_batch:
                left = 0.0 if self._hurry.is_set() else deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=min(left, 0.05)) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    if left <= 0:
                        break
                    continue
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._write(batch)

    def _write(self, batch: list[tuple]) -> None:
        values = []
        for now, text, prediction, guidance, source, key in batch:
            try:
                values.append(self.store.build(text, prediction, guidance, source=source, now=now,
                                               request_key=key))
            except Exception as exc:  # noqa: BLE001 - the type only: messages may quote the text
                log.error("audit record could not be built (%s); it is lost", type(exc).__name__)
        delay = 0.2
        attempts = 0
        while values:
            attempts += 1
            try:
                self.store.add_many(values)
                break
            except Exception as exc:  # noqa: BLE001 - keep the records and try again
                self.failed_batches += 1
                if self._closing and attempts >= 3:
                    log.error("%d audit record(s) could not be written at shutdown (%s)", len(values),
                              type(exc).__name__)
                    break
                log.error("writing %d audit record(s) failed (%s); retrying in %.1f s", len(values),
                          type(exc).__name__, delay)
                time.sleep(delay)
                delay = min(5.0, delay * 2)
        self._finished(len(batch))

    def _finished(self, n: int) -> None:
        with self._done:
            self._pending -= n
            self._done.notify_all()
