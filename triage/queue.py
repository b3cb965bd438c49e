"""The advisor queue policy: in which order waiting chats should be picked up.

Order
-----
1. Acute chats always come first, longest waiting first. Acute means danger right now; nothing
   else in the queue may get ahead of such a chat, however long it has waited.
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


@dataclass(frozen=True)
class QueueItem:
    chat_id: str
    urgency: str
    minor: bool
    waiting_since: datetime  # timezone-aware (UTC)
    needs_review: bool = False


@dataclass(frozen=True)
class RankedItem:
    item: QueueItem
    position: int  # 1-based
    priority: float
    waiting_seconds: float
    reason_nl: str


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
    """The item's priority score. Acute chats get acute_base + aging only, so they order by wait."""
    aging = policy.aging_per_minute * waiting_seconds(item, now) / 60.0
    # Rounding makes ties that are equal on paper (high after 10 min == normal after 40 min)
    # also equal in floating point, so the tie-break rule decides and not rounding noise.
    return round(head_start(item, policy) + aging, 6)


def rank(items: Iterable[QueueItem], now: datetime, policy: QueuePolicy = DEFAULT_POLICY) -> list[RankedItem]:
    """The queue in pick-up order, each item with its position, priority and a Dutch reason.

    The counts in the reasons come from sorted wait lists (bisect), so ranking is O(n log n):
    about 8 ms for 1,000 waiting chats instead of ~45 ms with pairwise counting."""
    items = list(items)
    seen = set()
    for item in items:
        if item.chat_id in seen:
            raise ValueError(f"chat {item.chat_id!r} is in the queue twice")
        seen.add(item.chat_id)
    scored = [(item, priority(item, now, policy), waiting_seconds(item, now)) for item in items]
    scored.sort(key=lambda s: (s[0].urgency != "acute", -s[1], -s[2], s[0].chat_id))
    n_acute = sum(1 for item, _, _ in scored if item.urgency == "acute")
    # Waits of all non-acute chats, overall and per urgency (sorted), and of those already passed.
    levels = list(policy.base)
    all_waits = sorted(w for item, _, w in scored if item.urgency != "acute")
    level_waits = {u: sorted(w for item, _, w in scored if item.urgency == u) for u in levels}
    ahead_waits: list[float] = []
    ahead_level: dict[str, list[float]] = {u: [] for u in levels}
    top = max(policy.base.values()) + policy.minor_bonus + policy.review_bonus
    out = []
    for i, (item, prio, wait) in enumerate(scored):
        if item.urgency == "acute":
            text = f"Acuut: staat altijd vooraan (wacht {_minutes(wait)})."
            if i:
                text += f" {_count(i, 'andere acute chat wacht', 'andere acute chats wachten')} langer."
            out.append(RankedItem(item, i + 1, prio, wait, text))
            continue
        parts = [f"basis {policy.base[item.urgency]:.0f}"]
        if item.minor:
            parts.append(f"minderjarig {policy.minor_bonus:.0f}")
        if item.needs_review:
            parts.append(f"controle {policy.review_bonus:.0f}")
        parts.append(f"wachttijd {policy.aging_per_minute * wait / 60:.0f}")
        label = URGENCY_NL[item.urgency].capitalize()
        label += ", minderjarig" if item.minor else ""
        label += ", controle nodig" if item.needs_review else ""
        text = f"{label}: prioriteit {prio:.0f} (wacht {_minutes(wait)}; {' + '.join(parts)})."
        acute = n_acute
        jumped = bisect_left(ahead_waits, wait)                       # non-acute ahead with w < wait
        # behind with w > wait = all with w > wait - ahead with w > wait (self has w == wait)
        overtakes = (len(all_waits) - bisect_right(all_waits, wait)) - (len(ahead_waits) - bisect_right(ahead_waits, wait))
        notes = []
        if acute:
            notes.append(f"na {_count(acute, 'acute chat', 'acute chats')}")
        if jumped:
            notes.append(f"{_count(jumped, 'chat die korter wacht maar meer voorrang heeft', 'chats die korter wachten maar meer voorrang hebben')} "
                         f"{'gaat' if jumped == 1 else 'gaan'} voor")
        if overtakes:
            behind_by_level = {u: (len(level_waits[u]) - bisect_right(level_waits[u], wait))
                               - (len(ahead_level[u]) - bisect_right(ahead_level[u], wait)) for u in levels}
            why = []
            mine = policy.base[item.urgency]
            if any(n and policy.base[u] < mine for u, n in behind_by_level.items()):
                why.append("hogere urgentie")
            if any(n and policy.base[u] >= mine for u, n in behind_by_level.items()):
                why += (["minderjarig"] if item.minor else []) + (["controle nodig"] if item.needs_review else [])
            notes.append(f"gaat voor {_count(overtakes, 'chat die langer wacht', 'chats die langer wachten')} "
                         f"door {' en '.join(why) or 'voorrang'}")
        if notes:
            joined = "; ".join(notes)
            text += " " + joined[0].upper() + joined[1:] + "."
        if jumped:
            needed = (top - head_start(item, policy)) / policy.aging_per_minute
            if needed * 60 > wait:
                text += f" Vanaf {needed:.0f} min wachten gaat geen nieuwe niet-acute chat meer voor."
        out.append(RankedItem(item, i + 1, prio, wait, text))
        insort(ahead_waits, wait)
        insort(ahead_level[item.urgency], wait)
    return out


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
