"""GET /v1/queue as JSON bytes, fast enough to poll with a thousand chats waiting.

Per call the queue is ranked anew (positions, priorities and reasons change with every minute
waited), but most of each item does not change while a chat waits: its arrival, message count,
preview, effective triage and guidance. Those parts are kept here per chat, as what rank() needs
and as ready-made JSON, keyed by the chat's `version` (bumped by every change of a chat,
api/chats/). A call reads only (chat_id, version) of the waiting chats and fetches new or changed
chats in full. The stored JSON summary is spliced in as text, never decoded and encoded again.

The cache holds exactly the chats that were waiting at the last call, so text of a chat that was
claimed, closed or left leaves this process's memory at the next call. Several server processes
each keep their own cache; the version in the database keeps them all correct.

Every chat write answers with the chat's place in the queue. For that the cache also keeps the
waiting chats in queue order as they come and go (triage.queue_index.QueueIndex), so a write costs a
read of (chat_id, version) and a few bisections, not a pass that ranks every waiting chat.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import NamedTuple

import orjson
from sqlalchemy import Text, cast, select

from pydantic import create_model

from api.db.models import Chat, utcnow
from api.db.session import Database
from api.queue.schemas import QueueEntry, QueueOut
from api.responses import JsonAnswer, ResponseInvalid
from triage.labels import URGENCIES
from triage.queue import QueueItem, RankedItem, rank
from triage.queue_index import QueueIndex

FETCH_CHUNK = 500  # chat ids per IN (...) query: well below every database's parameter limit

_WAITING = select(Chat.chat_id, Chat.version).where(Chat.status == "waiting")
# The same query as plain SQL for the DB-API cursor: SQLAlchemy's row objects for every waiting
# chat on every chat write cost more than the query itself.
_WAITING_SQL = str(_WAITING.compile(compile_kwargs={"literal_binds": True}))


# The answer is validated against QueueOut without decoding it per call: a chat's unchanging part
# (with stand-ins for the ranked fields) once per chat version, when it is cached; the ranked
# fields of every item and the envelope on every call, by models made of QueueEntry's and QueueOut's
# own fields (so they cannot drift from the document).
RANKED_FIELDS = ("chat_id", "position", "priority", "waiting_seconds", "reason_nl", "reason_detail_nl")
_STAND_IN = b'"position":1,"priority":0.0,"waiting_seconds":0.0,"reason_nl":"","reason_detail_nl":"",'
ENTRY = JsonAnswer(QueueEntry)
RANKED = JsonAnswer(list[create_model("QueueEntryRanked", **{  # type: ignore[call-overload]
    name: (QueueEntry.model_fields[name].annotation, ...) for name in RANKED_FIELDS})])
TAIL = JsonAnswer(create_model("QueueOutTail", **{  # type: ignore[call-overload]
    name: (QueueOut.model_fields[name].annotation, ...) for name in ("count", "by_urgency", "generated_at")}))


def _dumps(value) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)


class _Entry(NamedTuple):
    version: int
    item: QueueItem  # what rank() needs
    body: bytes      # the item's unchanging JSON members, closing its object: '"received_at":...}'
    problem: str | None  # why the item breaks QueueEntry (locations and error types), or None


class QueueView:
    def __init__(self, db: Database):
        self.db = db
        # The cached entries and their index, changed in place: the lock keeps them in step.
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._versions: dict[str, int] = {}
        self._index = QueueIndex()

    @staticmethod
    def _waiting(conn) -> dict[str, int]:
        """(chat_id -> version) of every waiting chat, read before the lock is taken, in `conn`'s
        transaction (begun first if need be, so that what the caller reads next sees the same state)."""
        if not conn.in_transaction():
            conn.begin()
        cursor = conn.connection.cursor()
        try:
            cursor.execute(_WAITING_SQL)
            return dict(cursor.fetchall())
        finally:
            cursor.close()

    def _sync(self, conn, waiting: dict[str, int]) -> None:
        """Makes the cache hold exactly the chats of `waiting` (read on `conn`); new or changed
        chats are read in full on `conn`. Call with the lock held."""
        if waiting == self._versions:
            return  # the same chats in the same versions
        known = self._versions
        stale = [chat_id for chat_id, version in waiting.items() if known.get(chat_id) != version]
        gone = known.keys() - waiting.keys()
        fresh = self._fetch(conn, stale) if stale else {}
        for chat_id in (*gone, *stale):
            if self._entries.pop(chat_id, None) is not None:  # nothing of ended chats stays in memory
                self._index.discard(chat_id)
                del known[chat_id]
        for chat_id, entry in fresh.items():  # a chat gone between the two reads (outside a snapshot) is left out
            self._index.add(entry.item)  # first: if it refuses the item, the cache stays in step
            self._entries[chat_id] = entry
            known[chat_id] = entry.version

    def place(self, chat_id: str, now: datetime | None = None, conn=None) -> RankedItem | None:
        """One waiting chat's entry in the queue (None if it does not wait): what every chat write
        answers with. From the cached index (QueueIndex.place, equal to rank_one and rank()), so a
        write neither reads every waiting chat in full nor ranks the whole queue. `conn`: the
        caller's connection (a second pooled connection per request could exhaust the pool)."""
        if conn is None:
            with self.db.snapshot() as snapshot:
                return self.place(chat_id, now, snapshot)
        waiting = self._waiting(conn)
        with self._lock:
            self._sync(conn, waiting)
            return self._index.place(chat_id, now or utcnow())

    def _current(self) -> dict[str, _Entry]:
        """The entries of the chats waiting now, read in one snapshot (a copy: ranked outside the lock)."""
        with self.db.snapshot() as snapshot:
            waiting = self._waiting(snapshot)
            with self._lock:
                self._sync(snapshot, waiting)
                return dict(self._entries)

    def json(self, now: datetime | None = None) -> bytes:
        now = now or utcnow()
        entries = self._current()
        broken = next((e.problem for e in entries.values() if e.problem is not None), None)
        if broken is not None:
            raise ResponseInvalid(ENTRY.name, broken)
        counts = dict.fromkeys(URGENCIES, 0)
        heads = [{"chat_id": ranked.item.chat_id, "position": ranked.position, "priority": ranked.priority,
                  "waiting_seconds": round(ranked.waiting_seconds, 3), "reason_nl": ranked.reason_nl,
                  "reason_detail_nl": ranked.reason_detail_nl}
                 for ranked in rank([e.item for e in entries.values()], now)]
        RANKED.validate(heads)
        tail = {"count": len(entries), "by_urgency": counts, "generated_at": now}
        pieces = [b'{"items":[']  # joined once at the end: no per-item copies of the bodies
        for head in heads:
            entry = entries[head["chat_id"]]
            counts[entry.item.urgency] += 1
            pieces += (_dumps(head)[:-1], b",", entry.body, b",")
        if len(pieces) > 1:
            pieces.pop()  # the comma after the last item
        TAIL.validate(tail)
        tail = _dumps(tail)
        pieces += (b"],", tail[1:])
        return b"".join(pieces)

    @staticmethod
    def _fetch(conn, chat_ids: list[str]) -> dict[str, _Entry]:
        out = {}
        for i in range(0, len(chat_ids), FETCH_CHUNK):
            query = select(Chat.chat_id, Chat.version, Chat.urgency, Chat.minor, Chat.received_at, Chat.needs_review,
                           Chat.severity, Chat.message_count, Chat.raw_preview, Chat.previous_chat_id,
                           cast(Chat.summary, Text)).where(Chat.chat_id.in_(chat_ids[i:i + FETCH_CHUNK]))
            for (chat_id, version, urgency, minor, received_at, review, severity, messages, preview, previous,
                 summary) in conn.execute(query):
                head = _dumps({"received_at": received_at, "message_count": messages, "preview": preview,
                               "previous_chat_id": previous})
                # Only acute chats need the severity sentence (for their reason); decoded once per version.
                severity_nl = orjson.loads(summary)["triage"].get("severity_nl", "") if urgency == "acute" else ""
                summary = summary.strip().encode("utf-8")  # {"triage": ..., "guidance": ...}
                body = head[1:-1] + (b"," + summary[1:] if len(summary) > 2 else b"}")
                item = QueueItem(chat_id, urgency, bool(minor), received_at, bool(review), float(severity or 0.0),
                                 severity_nl)
                problem = ENTRY.problem_of_json(b"{" + _dumps({"chat_id": chat_id})[1:-1] + b"," + _STAND_IN + body)
                out[chat_id] = _Entry(version, item, body, problem)
        return out
