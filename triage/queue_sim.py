"""Simulates the helpline's chat queue and compares the queue policy with first-come-first-served.

Run ``python -m triage.queue_sim`` to print the comparison table. Everything is seeded, so the
numbers are deterministic.

Assumptions (a plausible week for this helpline, not measured data):

* Volume: 350-425 serious chats a week, drawn uniformly per simulated week. New chats arrive
  only on weekdays from 9:00 to 17:00.
* Day weights Mon..Fri are 1.2, 1.0, 1.0, 0.95 and 0.85 (Monday busiest, Friday quietest).
  Hour weights 9..16 are 0.7, 1.3, 1.2, 0.8, 1.2, 1.3, 1.0 and 0.5, with peaks at 10-12 and
  13-15 and a lunch dip. Arrivals within an hour are a Poisson process.
* Urgency mix: acute 8%, high 25%, normal 45%, low 22%. 10% of chatters are minors and 15% of
  predictions need review, independently of each other.
* Chat duration in minutes is triangular (min, max, mode): acute (30, 60, 45), high (25, 50,
  35), normal (20, 45, 30), low (10, 30, 18). The mean is about 31 min.
* Advisors: 7 on Monday, 6 Tuesday-Thursday, 5 on Friday, all day. That is about 80% average
  utilisation, with overload during the peaks (which is when the order matters).
* Chats are not interrupted once picked up. Chats still waiting at 17:00 are served after
  closing time. No one leaves the queue, so waits are upper bounds: real chatters who give up
  would shorten the queue.

Both disciplines see exactly the same chats and durations (common random numbers), so the
difference in the table is due to the order alone.
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from triage.queue import DEFAULT_POLICY, QueueItem, QueuePolicy, rank

DAYS_NL = ("ma", "di", "wo", "do", "vr")


@dataclass(frozen=True)
class SimConfig:
    weeks: int = 8
    seed: int = 20240902
    weekly_chats: tuple[int, int] = (350, 425)
    day_weights: tuple[float, ...] = (1.2, 1.0, 1.0, 0.95, 0.85)  # Mon..Fri
    hour_weights: Mapping[int, float] = field(default_factory=lambda: {
        9: 0.7, 10: 1.3, 11: 1.2, 12: 0.8, 13: 1.2, 14: 1.3, 15: 1.0, 16: 0.5})
    urgency_mix: Mapping[str, float] = field(default_factory=lambda: {
        "acute": 0.08, "high": 0.25, "normal": 0.45, "low": 0.22})
    minor_share: float = 0.10
    review_share: float = 0.15
    service_minutes: Mapping[str, tuple[float, float, float]] = field(default_factory=lambda: {
        "acute": (30, 60, 45), "high": (25, 50, 35), "normal": (20, 45, 30), "low": (10, 30, 18)})
    advisors: tuple[int, ...] = (7, 6, 6, 6, 5)  # Mon..Fri


@dataclass(frozen=True)
class SimChat:
    item: QueueItem
    arrival: float  # minutes after 0:00 of its day
    service: float  # minutes


@dataclass
class SimResult:
    config: SimConfig
    chats: list[SimChat]
    waits: dict[str, dict[str, float]]  # discipline -> chat_id -> minutes waited
    utilisation: float

    def waits_by_urgency(self, discipline: str) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {u: [] for u in self.config.urgency_mix}
        for chat in self.chats:
            out[chat.item.urgency].append(self.waits[discipline][chat.item.chat_id])
        return out


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (a value that actually occurred)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# ---------------------------------------------------------------------------------------------
# Arrivals.


def generate_chats(config: SimConfig, rng: random.Random) -> list[list[SimChat]]:
    """Chats per simulated day (weeks x 5 days), each day sorted by arrival."""
    epoch = datetime(2024, 9, 2, tzinfo=timezone.utc)  # a Monday; times are treated as local
    urgencies, shares = zip(*config.urgency_mix.items())
    hour_total = sum(config.hour_weights.values())
    day_total = sum(config.day_weights)
    days = []
    for week in range(config.weeks):
        weekly = rng.uniform(*config.weekly_chats)
        for day, day_weight in enumerate(config.day_weights):
            date = epoch + timedelta(days=7 * week + day)
            chats = []
            for hour, hour_weight in sorted(config.hour_weights.items()):
                rate = weekly * day_weight / day_total * hour_weight / hour_total  # chats per hour
                t = rng.expovariate(rate)
                while t < 1.0:
                    urgency = rng.choices(urgencies, shares)[0]
                    low, high, mode = config.service_minutes[urgency]
                    arrival = 60 * (hour + t)
                    item = QueueItem(
                        chat_id=f"w{week + 1}{DAYS_NL[day]}-{len(chats) + 1:03d}",
                        urgency=urgency,
                        minor=rng.random() < config.minor_share,
                        waiting_since=date + timedelta(minutes=arrival),
                        needs_review=rng.random() < config.review_share,
                    )
                    chats.append(SimChat(item, arrival, rng.triangular(low, high, mode)))
                    t += rng.expovariate(rate)
            days.append(chats)
    return days


# ---------------------------------------------------------------------------------------------
# Serving.

Picker = Callable[[list[SimChat], float, datetime], SimChat]


def pick_fcfs(waiting: list[SimChat], now: float, date: datetime) -> SimChat:
    return min(waiting, key=lambda c: (c.arrival, c.item.chat_id))


def policy_picker(policy: QueuePolicy) -> Picker:
    def pick(waiting: list[SimChat], now: float, date: datetime) -> SimChat:
        first = rank([c.item for c in waiting], date + timedelta(minutes=now), policy)[0]
        return next(c for c in waiting if c.item.chat_id == first.item.chat_id)
    return pick


def serve_day(chats: Sequence[SimChat], advisors: int, pick: Picker) -> tuple[dict[str, float], float]:
    """Non-preemptive multi-advisor queue for one day: (chat_id -> wait in minutes, busy minutes)."""
    if not chats:
        return {}, 0.0
    date = chats[0].item.waiting_since - timedelta(minutes=chats[0].arrival)
    free_at = [9 * 60.0] * advisors  # heap of the times advisors become free
    waiting: list[SimChat] = []
    waits: dict[str, float] = {}
    busy = 0.0
    now, i = 9 * 60.0, 0
    while i < len(chats) or waiting:
        next_arrival = chats[i].arrival if i < len(chats) else math.inf
        start = max(free_at[0], now)
        if waiting and start < next_arrival:
            now = start
            chat = pick(waiting, now, date)
            waiting.remove(chat)
            waits[chat.item.chat_id] = now - chat.arrival
            busy += chat.service
            heapq.heapreplace(free_at, now + chat.service)
        else:
            now = next_arrival
            waiting.append(chats[i])
            i += 1
    return waits, busy


def simulate(config: SimConfig = SimConfig(), policy: QueuePolicy = DEFAULT_POLICY) -> SimResult:
    """Runs the same simulated weeks under FCFS and under the policy."""
    days = generate_chats(config, random.Random(config.seed))
    pickers: dict[str, Picker] = {"fcfs": pick_fcfs, "policy": policy_picker(policy)}
    waits: dict[str, dict[str, float]] = {name: {} for name in pickers}
    busy = capacity = 0.0
    for d, chats in enumerate(days):
        advisors = config.advisors[d % len(config.day_weights)]
        capacity += advisors * 8 * 60
        for name, pick in pickers.items():
            day_waits, day_busy = serve_day(chats, advisors, pick)
            waits[name].update(day_waits)
        busy += day_busy
    return SimResult(config, [c for day in days for c in day], waits, busy / capacity)


# ---------------------------------------------------------------------------------------------
# Report.


def table(result: SimResult) -> str:
    """The comparison table: wait in minutes per urgency, FCFS against the policy."""
    config = result.config
    n = len(result.chats)
    lines = [
        f"{config.weeks} weeks, {n} chats ({n / config.weeks:.0f}/week), seed {config.seed}, "
        f"advisors Mon-Fri {'/'.join(map(str, config.advisors))}, utilisation {result.utilisation:.0%} "
        "(of 9-17)",
        "wait (min)      |         FCFS         |        policy",
        "urgency       n | median    p90    max | median    p90    max",
    ]
    rows = {name: result.waits_by_urgency(name) for name in ("fcfs", "policy")}
    for urgency in [*config.urgency_mix, "all"]:
        cells = []
        for name in ("fcfs", "policy"):
            values = (list(result.waits[name].values()) if urgency == "all" else rows[name][urgency])
            cells.append(f"{statistics.median(values):6.1f} {percentile(values, 90):6.1f} {max(values):6.1f}"
                         if values else f"{'-':>6} {'-':>6} {'-':>6}")
        count = n if urgency == "all" else len(rows["fcfs"][urgency])
        lines.append(f"{urgency:<8}{count:>7} | {cells[0]} | {cells[1]}")
    return "\n".join(lines)


def main() -> None:
    print(table(simulate()))


if __name__ == "__main__":
    main()
