"""The advisor queue policy: in which order waiting chats should be picked up.

Order
-----
1. Acute chats always come first, the most severe first (triage/severity.py: red flags happening
   now, their kind, the model's P(acute)), then longest waiting first. Acute means danger right
   now; nothing else in the queue may get ahead of such a chat, however long it has waited.
2. All other chats are ordered by a priority score, highest first::

       priority = base[urgency]
                + minor_bonus    if the chatter is a minor
                + review_bonus   if the prediction needs review
                + aging_per_minute * minutes waited

3. Ties: longer waiting first, then chat_id, so the order is total and deterministic.

Defaults and why
----------------
With ``aging_per_minute = 1`` a priority point is a minute of waiting, so the other terms read as
head starts in minutes (``head_start = base + bonuses``):

* ``base``: high 60, normal 30, low 0. In a normal hour waits are well under 30 minutes, so high
  goes before normal before low. Only when the queue backs up does waiting time win.
* ``minor_bonus`` 15: about 10% of chatters are under 18. They drop out sooner and have fewer
  other options. This is a nudge within an urgency, not a jump over one.
* ``review_bonus`` 10: the model was unsure, so the real urgency may be higher. Picking the chat up
  a little earlier lets an advisor correct the triage sooner.
* ``acute_base`` 1000: only makes the displayed priority of acute chats stand out. Acute order
  never depends on it (step 1).

Everyone ages at the same rate, so a non-acute chat's rank equals its rank by *virtual arrival
time* (arrival minus head start). Two consequences follow:

* The queue is stable. Chats already waiting never swap places as time passes; only new
  arrivals slot in.
* Starvation is bounded. Chat X gets ahead of chat Y once X has waited
  ``(head_start(Y) - head_start(X)) / aging_per_minute`` minutes longer than Y. With the
  defaults, a low chat that has waited more than 30 min outranks a new normal chat. After 60 min
  it outranks a new high chat, and after ``max_head_start_minutes`` = 85 min a new chat of any
  non-acute kind (high, minor and needing review). So a chat is only overtaken by acute chats and
  by chats that arrived less than 85 min after it. Its wait is at most what FCFS would give a
  chat arriving 85 min later, plus those 85 min, plus the acute work that comes in meanwhile.

``rank`` decides the order; ``priority`` is only comparable within the non-acute tier.
Consumers should order by ``RankedItem.position``. See triage/queue_sim.py for a simulation of
this helpline's week against first-come-first-served.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from triage.explain import URGENCY_NL
from triage.labels import URGENCIES

NON_ACUTE: tuple[str, ...] = tuple(u for u in URGENCIES if u != "acute")


@dataclass(frozen=True)
class QueuePolicy:
    """Queue parameters (see the module docstring for their meaning and defaults)."""

    base: Mapping[str, float] = field(default_factory=lambda: {"high": 60.0, "normal": 30.0, "low": 0.0},
                                   hash=False)
    minor_bonus: float = 15.0
    review_bonus: float = 10.0
    aging_per_minute: float = 1.0
    acute_base: float = 1000.0

    def __post_init__(self) -> None:
        problems = []
        if set(self.base) != set(NON_ACUTE):
            problems.append(f"base must have exactly the keys {NON_ACUTE}, got {sorted(self.base)}")
        elif not self.base["high"] >= self.base["normal"] >= self.base["low"]:
            problems.append("base must not rank a less urgent level above a more urgent one")
        if self.aging_per_minute <= 0:
            problems.append("aging_per_minute must be > 0 (otherwise low chats can starve)")
        if self.minor_bonus < 0 or self.review_bonus < 0:
            problems.append("bonuses must be >= 0")
        if problems:
            raise ValueError("invalid QueuePolicy: " + "; ".join(problems))

    @property
    def max_head_start_minutes(self) -> float:
        """Extra waiting after which a chat outranks any newly arrived non-acute chat."""
        spread = max(self.base.values()) - min(self.base.values())
        return (spread + self.minor_bonus + self.review_bonus) / self.aging_per_minute


DEFAULT_POLICY = QueuePolicy()


# Plain named tuples rather than frozen dataclasses: GET /v1/queue makes two per waiting chat on
# every call, and a named tuple is about four times cheaper to create.
class QueueItem(NamedTuple):
    chat_id: str
    urgency: str
    minor: bool
    waiting_since: datetime  # timezone-aware (UTC)
    needs_review: bool = False
    severity: float = 0.0    # orders acute chats among themselves (triage/severity.py)
    severity_nl: str = ""    # why, in Dutch


class RankedItem(NamedTuple):
    item: QueueItem
    position: int  # 1-based
    priority: float
    waiting_seconds: float
    reason_nl: str         # a short Dutch sentence: why the chat stands here
    reason_detail_nl: str  # the numbers behind it, on demand


def waiting_seconds(item: QueueItem, now: datetime) -> float:
    """Seconds waited so far. A timestamp in the future (clock skew) counts as zero."""
    _check_aware(now, "now")
    _check_aware(item.waiting_since, f"waiting_since of chat {item.chat_id!r}")
    return max(0.0, (now - item.waiting_since).total_seconds())


def head_start(item: QueueItem, policy: QueuePolicy = DEFAULT_POLICY) -> float:
    """Priority points a non-acute chat has before it has waited at all."""
    _check_urgency(item)
    if item.urgency == "acute":
        return policy.acute_base
    return (policy.base[item.urgency]
            + (policy.minor_bonus if item.minor else 0.0)
            + (policy.review_bonus if item.needs_review else 0.0))


def priority(item: QueueItem, now: datetime, policy: QueuePolicy = DEFAULT_POLICY) -> float:
    """The item's priority score. Acute chats get acute_base + aging only; they order by severity
    and then by wait (see rank)."""
    return _priority(head_start(item, policy), waiting_seconds(item, now), policy.aging_per_minute)


def _priority(start: float, wait: float, aging_per_minute: float) -> float:
    # Rounding makes ties that are equal on paper (high after 10 min == normal after 40 min)
    # also equal in floating point, so the tie-break rule decides and not rounding noise.
    return round(start + aging_per_minute * wait / 60.0, 6)


def _scored(items: Iterable[QueueItem], now: datetime, policy: QueuePolicy) -> list[tuple]:
    """Per item its sort key and figures: (not acute, -severity or -priority, -wait, chat_id,
    item, priority, wait). The queue order is the order of these tuples."""
    _check_aware(now, "now")
    aging = policy.aging_per_minute
    seen: set[str] = set()
    starts: dict[tuple[str, bool, bool], float] = {}
    scored = []
    for item in items:
        chat_id = item.chat_id
        if chat_id in seen:
            raise ValueError(f"chat {chat_id!r} is in the queue twice")
        seen.add(chat_id)
        kind = (item.urgency, item.minor, item.needs_review)
        start = starts.get(kind)
        if start is None:
            start = starts[kind] = head_start(item, policy)  # checks the urgency
        since = item.waiting_since
        if since.tzinfo is None or since.utcoffset() is None:
            _check_aware(since, f"waiting_since of chat {chat_id!r}")
        wait = max(0.0, (now - since).total_seconds())
        prio = _priority(start, wait, aging)
        # chat_ids are unique, so comparison never reaches the item itself.
        acute = item.urgency == "acute"
        # Acute: the most severe first, then the longest waiting; others: the highest priority.
        scored.append((not acute, -item.severity if acute else -prio, -wait, chat_id, item, prio, wait))
    return scored


def _acute_entry(item: QueueItem, i: int, n_acute: int, prio: float, wait: float) -> RankedItem:
    """The entry of the acute chat at 0-based place i among n_acute acute chats."""
    text = f"Acuut, wacht {_minutes(wait)}."
    if n_acute > 1:
        text = (f"Acuut, ernstigste eerst: {_count(i, 'acute chat gaat', 'acute chats gaan')} voor, "
                f"wacht {_minutes(wait)}." if i else f"Acuut, de ernstigste van {n_acute} acute chats; "
                                                   f"wacht {_minutes(wait)}.")
    detail = "Acute chats staan altijd vooraan, de ernstigste eerst, bij gelijke ernst wie langer wacht."
    if item.severity_nl:
        detail = f"{item.severity_nl} Ernst {item.severity:.0f}. {detail}"
    return RankedItem(item, i + 1, prio, wait, text, detail)


def _entry(item: QueueItem, i: int, prio: float, wait: float, k: _Kind, aging: float, after_acute: str,
           jumped: int, overtakes: int, later: dict[str, float]) -> RankedItem:
    """The entry of the non-acute chat at 0-based place i. jumped: non-acute chats ahead of it
    that waited less; overtakes: chats behind it that waited longer; later: per level the longest
    wait among the chats behind it (-1 for none)."""
    text = f"{k.label}, wacht {_minutes(wait)}."
    detail = f"Prioriteit {prio:.0f} = {k.terms}wachttijd {aging * wait / 60:.0f}."
    note = after_acute
    if jumped:
        piece = (f"{_count(jumped, 'chat die korter wacht maar meer voorrang heeft', 'chats die korter wachten maar meer voorrang hebben')} "
                 f"{'gaat' if jumped == 1 else 'gaan'} voor")
        note = f"{note}; {piece}" if note else piece
    if overtakes:
        by_urgency = any(later[u] > wait for u in k.lower)
        by_bonus = k.bonuses if any(later[u] > wait for u in k.other) else ""
        why = " en ".join(w for w in ("hogere urgentie" if by_urgency else "", by_bonus) if w) or "voorrang"
        piece = f"gaat voor {_count(overtakes, 'chat die langer wacht', 'chats die langer wachten')} door {why}"
        note = f"{note}; {piece}" if note else piece
    if note:
        text = f"{text} {note[0].upper()}{note[1:]}."
    if jumped and k.closed_after * 60 > wait:
        detail += f" Vanaf {k.closed_after:.0f} min wachten gaat geen nieuwe niet-acute chat meer voor."
    return RankedItem(item, i + 1, prio, wait, text, detail)


def _after_acute(n_acute: int) -> str:
    return f"na {_count(n_acute, 'acute chat', 'acute chats')}" if n_acute else ""


def rank(items: Iterable[QueueItem], now: datetime, policy: QueuePolicy = DEFAULT_POLICY) -> list[RankedItem]:
    """The queue in pick-up order, each item with its position, priority and a Dutch reason.

    Ranking is O(n log n): the counts in the reasons come from sorted wait lists (bisect), and
    the parts of a reason that depend only on (urgency, minor, review) are made once per call.
    GET /v1/queue ranks every waiting chat on every call, so this is on the advisors' hot path."""
    aging = policy.aging_per_minute
    scored = _scored(items, now, policy)
    scored.sort()
    n_acute = sum(1 for s in scored if not s[0])
    levels = list(policy.base)
    # For the reasons: how many later (lower-ranked) chats have waited longer (bisect over the
    # waits of all chats minus those already passed), and per level the longest wait among later
    # chats (one pass from the end), which says whether urgency or a bonus put this chat first.
    all_waits = sorted(s[6] for s in scored if s[0])
    n_all = len(all_waits)
    ahead_waits: list[float] = []
    later_max: list[dict[str, float] | None] = [None] * len(scored)
    running = dict.fromkeys(levels, -1.0)
    for i in range(len(scored) - 1, n_acute - 1, -1):
        later_max[i] = running.copy()
        s = scored[i]
        if s[6] > running[s[4].urgency]:
            running[s[4].urgency] = s[6]
    after_acute = _after_acute(n_acute)
    kinds: dict[tuple[str, bool, bool], _Kind] = {}
    out = []
    for i, (_, _, _, _, item, prio, wait) in enumerate(scored):
        if i < n_acute:
            out.append(_acute_entry(item, i, n_acute, prio, wait))
            continue
        kind = (item.urgency, item.minor, item.needs_review)
        k = kinds.get(kind)
        if k is None:
            k = kinds[kind] = _Kind.of(item, policy)
        jumped = bisect_left(ahead_waits, wait)                       # non-acute ahead with w < wait
        # behind with w > wait = all with w > wait - ahead with w > wait (self has w == wait)
        overtakes = (n_all - bisect_right(all_waits, wait)) - (i - n_acute - bisect_right(ahead_waits, wait))
        out.append(_entry(item, i, prio, wait, k, aging, after_acute, jumped, overtakes, later_max[i]))
        insort(ahead_waits, wait)
    return out


def rank_one(items: Iterable[QueueItem], chat_id: str, now: datetime,
             policy: QueuePolicy = DEFAULT_POLICY) -> RankedItem | None:
    """rank()'s entry for one chat (None if it is not among the items), in one pass without
    sorting or building every other entry: what a single chat's view needs, on every chat write.
    Equal to `next(r for r in rank(items, now, policy) if r.item.chat_id == chat_id)`."""
    scored = _scored(items, now, policy)
    mine = next((s for s in scored if s[3] == chat_id), None)
    if mine is None:
        return None
    key = mine[:4]
    acute, item, prio, wait = not mine[0], mine[4], mine[5], mine[6]
    n_acute = sum(1 for s in scored if not s[0])
    i = sum(1 for s in scored if s[:4] < key)
    if acute:
        return _acute_entry(item, i, n_acute, prio, wait)
    jumped = overtakes = 0
    later = dict.fromkeys(policy.base, -1.0)
    for s in scored:
        if not s[0]:
            continue
        w = s[6]
        if s[:4] < key:
            jumped += w < wait
        elif s[3] != chat_id:
            overtakes += w > wait
            if w > later[s[4].urgency]:
                later[s[4].urgency] = w
    return _entry(item, i, prio, wait, _Kind.of(item, policy), policy.aging_per_minute, _after_acute(n_acute),
                  jumped, overtakes, later)


class _Kind(NamedTuple):
    """The parts of a non-acute chat's reason that depend only on (urgency, minor, review)."""

    label: str           # "Hoog, minderjarig"
    terms: str           # "basis 60 + minderjarig 15 + "
    bonuses: str         # "minderjarig en controle nodig"
    lower: tuple[str, ...]   # levels with a lower base
    other: tuple[str, ...]   # levels with the same or a higher base
    closed_after: float  # minutes after which no new non-acute chat gets ahead

    @classmethod
    def of(cls, item: QueueItem, policy: QueuePolicy) -> _Kind:
        parts = [f"basis {policy.base[item.urgency]:.0f}"]
        if item.minor:
            parts.append(f"minderjarig {policy.minor_bonus:.0f}")
        if item.needs_review:
            parts.append(f"controle {policy.review_bonus:.0f}")
        label = URGENCY_NL[item.urgency].capitalize()
        label += ", minderjarig" if item.minor else ""
        label += ", controle nodig" if item.needs_review else ""
        bonuses = " en ".join((["minderjarig"] if item.minor else []) + (["controle nodig"] if item.needs_review else []))
        mine = policy.base[item.urgency]
        top = max(policy.base.values()) + policy.minor_bonus + policy.review_bonus
        return cls(label, "".join(p + " + " for p in parts), bonuses,
                   tuple(u for u in policy.base if policy.base[u] < mine),
                   tuple(u for u in policy.base if policy.base[u] >= mine),
                   (top - head_start(item, policy)) / policy.aging_per_minute)


# ---------------------------------------------------------------------------------------------
# Dutch explanations for the advisor.


def _minutes(seconds: float) -> str:
    if seconds < 60:
        return "<1 min"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} u {minutes % 60} min"


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


# ---------------------------------------------------------------------------------------------


def _check_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")


def _check_urgency(item: QueueItem) -> None:
    if item.urgency not in URGENCIES:
        raise ValueError(f"chat {item.chat_id!r}: unknown urgency {item.urgency!r}; expected one of {URGENCIES}")
