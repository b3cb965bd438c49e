"""The waiting chats kept in queue order as they come and go (the queue policy itself: triage/queue.py)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from datetime import datetime

from triage.queue import (DEFAULT_POLICY, QueueItem, QueuePolicy, RankedItem, _acute_entry, _after_acute,
                          _check_aware, _entry, _Kind, _priority, head_start)


class QueueIndex:
    """The waiting chats, kept in queue order as chats come and go, so that one chat's entry
    (`place`) costs O(kinds · log n) instead of a pass over every waiting chat: what every chat
    write answers with. `place(id, now)` equals `rank_one(index.items(), id, now)`.

    Why an order can be kept although priorities grow with time: all chats of one kind (urgency,
    minor, review) have the same head start, so among themselves they stay in arrival order
    (longest waiting first, then chat_id), whatever `now` is. Each kind is kept as a list sorted by
    (arrival, chat_id); a chat's position is the sum over kinds of how many of that kind rank
    ahead of it, found by bisection with the very key rank() sorts by (priority rounding included),
    so no approximation of the order is involved. The one exception to arrival order: chats
    stamped in the future (clock skew) all count as waiting 0 s and so order by chat_id; they sit
    at the end of their kind's list and are re-sorted when present. Acute chats order by severity
    first; they are few and are compared one by one.

    Not thread-safe: callers serialise access (api/queue/view.py holds a lock)."""

    def __init__(self, policy: QueuePolicy = DEFAULT_POLICY):
        self.policy = policy
        self._items: dict[str, QueueItem] = {}
        self._acute: dict[str, QueueItem] = {}
        # Per non-acute kind: (waiting_since, chat_id) sorted, and the kind's head start.
        self._kinds: dict[tuple[str, bool, bool], list[tuple[datetime, str]]] = {}
        self._starts: dict[tuple[str, bool, bool], float] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, chat_id: str) -> bool:
        return chat_id in self._items

    def items(self) -> list[QueueItem]:
        return list(self._items.values())

    def add(self, item: QueueItem) -> None:
        """Adds a waiting chat (ValueError for a chat already in, an unknown urgency or a naive time)."""
        if item.chat_id in self._items:
            raise ValueError(f"chat {item.chat_id!r} is in the queue twice")
        _check_aware(item.waiting_since, f"waiting_since of chat {item.chat_id!r}")
        start = head_start(item, self.policy)  # checks the urgency
        if item.urgency == "acute":
            self._acute[item.chat_id] = item
        else:
            kind = (item.urgency, item.minor, item.needs_review)
            self._starts[kind] = start
            insort(self._kinds.setdefault(kind, []), (item.waiting_since, item.chat_id))
        self._items[item.chat_id] = item

    def discard(self, chat_id: str) -> None:
        """Removes a chat if it is in (a claimed, closed or changed chat)."""
        item = self._items.pop(chat_id, None)
        if item is None:
            return
        if item.urgency == "acute":
            del self._acute[chat_id]
            return
        entries = self._kinds[(item.urgency, item.minor, item.needs_review)]
        del entries[bisect_left(entries, (item.waiting_since, chat_id))]

    def place(self, chat_id: str, now: datetime) -> RankedItem | None:
        """rank()'s entry for one chat (None if it is not in the index)."""
        _check_aware(now, "now")
        item = self._items.get(chat_id)
        if item is None:
            return None
        aging = self.policy.aging_per_minute
        n_acute = len(self._acute)
        wait = max(0.0, (now - item.waiting_since).total_seconds())
        if item.urgency == "acute":
            prio = _priority(self.policy.acute_base, wait, aging)
            key = (-item.severity, -wait, chat_id)
            ahead = 0
            for other in self._acute.values():
                w = max(0.0, (now - other.waiting_since).total_seconds())
                ahead += (-other.severity, -w, other.chat_id) < key
            return _acute_entry(item, ahead, n_acute, prio, wait)
        mine = (item.urgency, item.minor, item.needs_review)
        prio = _priority(self._starts[mine], wait, aging)
        key = (-prio, -wait, chat_id)
        i, jumped, overtakes = n_acute, 0, 0
        later = dict.fromkeys(self.policy.base, -1.0)
        for kind, entries in self._kinds.items():
            n = len(entries)
            if not n:
                continue
            start = self._starts[kind]
            # The kind in rank order: arrival order, except that chats from `now` on (wait 0) go
            # last by chat_id. `recent`: how many have waited more than 0 s.
            recent = bisect_left(entries, (now,))
            ordered = entries if recent == n else entries[:recent] + sorted(entries[recent:], key=_second)
            # How many of the kind rank ahead (the same key as rank(): it is monotone along `ordered`).
            lo, hi = 0, n
            while lo < hi:
                mid = (lo + hi) // 2
                since, other = ordered[mid]
                w = max(0.0, (now - since).total_seconds())
                if (-_priority(start, w, aging), -w, other) < key:
                    lo = mid + 1
                else:
                    hi = mid
            ahead = lo
            # Waits do not increase along `ordered`: those waiting at least / more than this chat
            # are prefixes (a distinct arrival is a distinct wait, to the microsecond).
            if wait > 0.0:
                at_least = bisect_right(entries, item.waiting_since, key=_first)
                longer = bisect_left(entries, item.waiting_since, key=_first)
            else:
                at_least, longer = n, recent
            i += ahead
            jumped += max(0, ahead - at_least)            # ahead of it, waited less
            behind = ahead + (kind == mine)               # the chat itself stands at `ahead` in its kind
            overtakes += max(0, longer - behind)          # behind it, waited longer
            if behind < n:
                w = max(0.0, (now - ordered[behind][0]).total_seconds())
                if w > later[kind[0]]:
                    later[kind[0]] = w
        return _entry(item, i, prio, wait, _Kind.of(item, self.policy), aging, _after_acute(n_acute),
                      jumped, overtakes, later)


def _first(pair: tuple) -> object:
    return pair[0]


def _second(pair: tuple) -> object:
    return pair[1]
