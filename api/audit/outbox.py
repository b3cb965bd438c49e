"""The audit outbox: a local, append-only, fsynced journal of audit records (files only, no threads).

POST /v1/triage answers only once its audit record is in this journal (api/audit/writer.py), so
an answered prediction survives a `kill -9` or a power cut even while the database is slow or
down; the records go on to the database afterwards. The journal holds what the database will
hold: records already redacted (and the raw text only when TRIAGE_STORE_RAW_TEXT stores it in
the database too).

Layout of the outbox directory (mode 0700, files 0600):
  <instance>.lock             held (flock) by the server process that writes <instance>-*.jsonl
  <instance>-<seq>.jsonl      segments; one record per line: "<crc32 hex> <json>\\n"
Each server process (uvicorn worker) writes its own segments, so no two processes append to one
file. A segment whose instance lock is free belongs to a process that died: another process
adopts it (takes the lock) and replays it into the database. Replays are idempotent: a record's
request key is unique in the database, and a record already there is skipped.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

log = logging.getLogger("triage.api")

_SEGMENT = re.compile(r"^(?P<instance>[0-9a-f]{32})-(?P<seq>\d{8})\.jsonl$")
_DATETIME_FIELDS = ("created_at",)


# --- records <-> lines ------------------------------------------------------------------------------

def encode(values: dict) -> bytes:
    """One journal line for an audit record's values (AuditStore.build)."""
    plain = {k: (v.isoformat() if k in _DATETIME_FIELDS and isinstance(v, datetime) else v)
             for k, v in values.items()}
    payload = json.dumps(plain, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    return b"%08x %s\n" % (zlib.crc32(payload), payload)


def decode(line: bytes) -> dict | None:
    """The record of a journal line; None for a damaged line (a torn write at a crash)."""
    crc, _, payload = line.rstrip(b"\n").partition(b" ")
    try:
        if int(crc, 16) != zlib.crc32(payload):
            return None
        values = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(values, dict):
        return None
    for key in _DATETIME_FIELDS:
        if isinstance(values.get(key), str):
            values[key] = datetime.fromisoformat(values[key])
    return values


def read_records(path: Path, start: int, end: int, limit: int, final: bool) -> tuple[list[dict], int, int, int]:
    """Up to `limit` lines of a segment from byte `start`, not beyond `end`. Returns (records, the
    offset after the last line read, lines read, damaged lines skipped). `final`: the segment
    gets no more appends, so an unfinished last line is a torn write (skipped), not one in flight."""
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(max(0, end - start))
    records, lines, damaged, pos = [], 0, 0, 0
    while lines < limit and pos < len(data):
        nl = data.find(b"\n", pos)
        if nl < 0:
            if not final:
                break
            nl = len(data) - 1  # the torn tail of a process that died while writing
            values = None
        else:
            values = decode(data[pos:nl])
        lines += 1
        if values is None:
            damaged += 1
        else:
            records.append(values)
        pos = nl + 1
    return records, start + pos, lines, damaged


# --- segments -------------------------------------------------------------------------------------------

@dataclass
class Segment:
    path: Path
    size: int = 0          # bytes known durable (fsynced); the drain reads up to here
    drained: int = 0       # bytes whose records are in the database
    sealed: bool = False   # no more appends: delete once drained
    instance: str = ""
    created: float = 0.0   # time.monotonic() when it was opened

    @property
    def backlog(self) -> int:
        return self.size - self.drained


def fsync_dir(directory: Path) -> None:
    """Make a created or deleted file name durable (the entry lives in the directory)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class OutboxDir:
    """The outbox directory of one server process: its instance lock, its segments, and the segments
    of dead processes it adopts."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)
        self.instance = uuid.uuid4().hex
        self._lock_fd = self._take_lock(self.instance, create=True)
        assert self._lock_fd is not None
        self._seq = 0
        self._held: dict[str, int] = {}  # adopted instances -> lock fd

    def _lock_path(self, instance: str) -> Path:
        return self.directory / f"{instance}.lock"

    def _take_lock(self, instance: str, create: bool = False) -> int | None:
        """The lock of `instance` (an open fd), or None when a live process holds it."""
        path = self._lock_path(instance)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if create:
                    raise RuntimeError("outbox instance lock is taken") from None
                return None
            try:
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)  # another process removed the file between our open and flock: again

    def new_segment_file(self) -> tuple[Segment, int]:
        """A new, empty segment of this process, open for appending."""
        self._seq += 1
        path = self.directory / f"{self.instance}-{self._seq:08d}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fsync_dir(self.directory)
        return Segment(path, instance=self.instance), fd

    def adopt_orphans(self) -> list[tuple[Segment, int]]:
        """The segments of processes that died (their lock is free), now locked by this process,
        oldest first, with the number of lines in each. Their size is what is on disk: what was
        answered from them had been fsynced."""
        by_instance: dict[str, list[Path]] = {}
        for path in self.directory.iterdir():
            match = _SEGMENT.match(path.name)
            if match and match["instance"] != self.instance and match["instance"] not in self._held:
                by_instance.setdefault(match["instance"], []).append(path)
        adopted = []
        for instance, paths in by_instance.items():
            fd = self._take_lock(instance)
            if fd is None:
                continue  # a live process writes these
            self._held[instance] = fd
            for path in sorted(paths):
                try:
                    data = path.read_bytes()
                except FileNotFoundError:
                    continue  # another process finished it between the listing and the lock
                adopted.append((Segment(path, size=len(data), sealed=True, instance=instance),
                                data.count(b"\n") + (not data.endswith(b"\n") and bool(data))))
        # Lock files whose segments are gone (their process ended cleanly, or was killed idle).
        for lock in self.directory.glob("*.lock"):
            instance = lock.stem
            if instance != self.instance and instance not in self._held and instance not in by_instance:
                fd = self._take_lock(instance)
                if fd is not None:
                    self._unlink_lock(instance, fd)
        return adopted

    def remove(self, segment: Segment) -> None:
        """Delete a drained segment; the adopted instance's lock goes with its last segment."""
        segment.path.unlink(missing_ok=True)
        fsync_dir(self.directory)
        instance = segment.instance
        if instance in self._held and not any(self.directory.glob(f"{instance}-*.jsonl")):
            self._unlink_lock(instance, self._held.pop(instance))

    def _unlink_lock(self, instance: str, fd: int) -> None:
        self._lock_path(instance).unlink(missing_ok=True)
        os.close(fd)

    def close(self, *, own_segments_left: bool) -> None:
        """Release the locks. The own lock file stays when segments wait for a later replay."""
        for instance, fd in list(self._held.items()):
            os.close(fd)  # the adopted lock stays: whoever starts next replays the rest
        self._held.clear()
        if self._lock_fd is not None:
            if not own_segments_left:
                self._lock_path(self.instance).unlink(missing_ok=True)
            os.close(self._lock_fd)
            self._lock_fd = None
