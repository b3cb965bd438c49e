"""Simulates the 26 regional queues with and without overflow (triage/overflow.py).

Run ``python -m triage.region_sim`` (options: --weeks, --seeds) to print waiting times per urgency
and per region. Everything is seeded, so the numbers are deterministic.

Assumptions, on top of the national simulation (triage/queue_sim.py, whose arrival pattern,
urgency mix, minors, review share and chat durations are reused unchanged):

* The helpline's 350-425 serious chats a week (weekdays 9-17) are spread over the regions in
  proportion to their population (`population_k` in triage/data/regions.json, approximate). So
  Utrecht or Rotterdam Rijnmond get about 7% of the chats, Gooi en Vechtstreek about 1.5%.
* Staffing: every region staffs its own chat, with one advisor, and one more per full million
  inhabitants (Utrecht, Amsterdam-Amstelland, Haaglanden and Rotterdam Rijnmond have two): 30
  advisors. Regions must staff their own entry point, so nationally there are far more advisors
  than the national simulation's 5-7, but each region's one advisor is often in a conversation
  when the next chat arrives. That is the situation overflow is for.
* Lunch: each advisor signs out for 30 minutes. Regions take turns (the n-th region in the data
  file starts at 12:00, 12:30 or 13:00 for n mod 3 = 0, 1, 2) and a region's second advisor goes
  when the first is back, so a one-advisor region has nobody signed in for half an hour (an
  advisor in a conversation finishes it but takes no new chat until the break is over). That is
  when the "acute and no advisor of its region signed in" trigger acts; the rest of the day only
  the waiting-time limits do.
* Each regime serves exactly the same chats (common random numbers). Advisors pick the first
  chat of what they see (`overflow.visible_to`, ordered by the advisor queue): without overflow
  that is their own region's queue; with overflow also the chats of other regions that waited
  past their limit. When several advisors are free at once, those whose own region has chats
  waiting choose first. As in queue_sim, chats are not interrupted, chats still waiting at 17:00
  are served afterwards, and no one leaves the queue.
* Figures are pooled over all seeds: the median and the 90th percentile (nearest rank) of all
  waits of that urgency and region in all runs.
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from triage.overflow import DEFAULT_OVERFLOW, OverflowPolicy, RegionalItem, visible_to
from triage.queue import DEFAULT_POLICY, QueuePolicy
from triage.queue_sim import SimChat, SimConfig, generate_chats, percentile
from triage.regions import Regions, default_regions

REGIMES = ("regional", "overflow")  # without / with overflow
# An overflow moment is arrival + limit; the chat counts as overflowed only once it has waited
# *longer* than the limit, so advisors look again one second later.
_EPSILON_MIN = 1 / 60


def default_staffing(regions: Regions) -> dict[str, int]:
    """One chat advisor per region plus one per full million inhabitants."""
    return {r.code: 1 + r.population_k // 1000 for r in regions}


@dataclass(frozen=True)
class RegionSimConfig:
    weeks: int = 8
    seeds: tuple[int, ...] = (1, 2, 3, 4, 5)
    base: SimConfig = field(default_factory=SimConfig)  # arrivals, mix and durations (weeks/seed replaced)
    advisors: Mapping[str, int] | None = None            # per region; default: default_staffing
    lunch_minutes: int = 30                              # 0: nobody signs out

    def staffing(self, regions: Regions) -> dict[str, int]:
        staffing = dict(self.advisors) if self.advisors is not None else default_staffing(regions)
        problems = [f"advisors.{code}: unknown region code" for code in staffing if code not in regions]
        problems += [f"advisors.{r.code}: missing" for r in regions if r.code not in staffing]
        problems += [f"advisors.{code}: must be at least 1, got {n}" for code, n in staffing.items()
                     if not (isinstance(n, int) and n >= 1)]
        if problems:
            raise ValueError("; ".join(problems))
        return staffing


@dataclass(frozen=True)
class RegionChat:
    chat: SimChat
    region: str


@dataclass
class RegionSimResult:
    config: RegionSimConfig
    regions: Regions
    staffing: dict[str, int]
    chats: list[RegionChat]                   # all seeds; chat_ids are prefixed with the seed
    waits: dict[str, dict[str, float]]        # regime -> chat_id -> minutes waited
    utilisation: float                        # busy share of all advisors' 9-17 time

    def waits_by(self, regime: str, region: str | None = None, urgency: str | None = None) -> list[float]:
        return [self.waits[regime][c.chat.item.chat_id] for c in self.chats
                if (region is None or c.region == region) and (urgency is None or c.chat.item.urgency == urgency)]

    def worst_region(self, regime: str, urgency: str, p: float = 90) -> tuple[list[str], float]:
        """The highest p-th percentile wait of any region for this urgency under `regime`, and the
        regions (file order) that have it."""
        scores = {r.code: percentile(w, p) for r in self.regions if (w := self.waits_by(regime, r.code, urgency))}
        worst = max(scores.values())
        return [code for code, score in scores.items() if score == worst], worst


def assign_regions(days: Sequence[Sequence[SimChat]], regions: Regions, rng: random.Random) -> list[list[RegionChat]]:
    """Each chat's region, drawn in proportion to population (a separate random stream, so the
    chats themselves are exactly queue_sim's)."""
    codes = [r.code for r in regions]
    weights = [r.population_k for r in regions]
    return [[RegionChat(chat, rng.choices(codes, weights)[0]) for chat in day] for day in days]


def serve_day(chats: Sequence[RegionChat], staffing: Mapping[str, int], overflow_policy: OverflowPolicy | None,
              queue_policy: QueuePolicy = DEFAULT_POLICY, lunch_minutes: int = 30) -> tuple[dict[str, float], float]:
    """One day of all regional queues: (chat_id -> wait in minutes, busy minutes).
    overflow_policy None: every region serves only its own chats."""
    if not chats:
        return {}, 0.0
    first = chats[0].chat
    date: datetime = first.item.waiting_since - timedelta(minutes=first.arrival)
    # [free_at, region, signed out from, signed in again]; lunch in turns (module docstring).
    advisors = [[9 * 60.0, code, 12 * 60.0 + (n % 3 + k) * lunch_minutes, 12 * 60.0 + (n % 3 + k + 1) * lunch_minutes]
                for n, code in enumerate(staffing) for k in range(staffing[code])]

    def signed_in(advisor: list) -> bool:
        return not advisor[2] <= now < advisor[3]
    policy = overflow_policy or OverflowPolicy(acute_without_advisor=False)  # only used for visible_to
    by_id = {c.chat.item.chat_id: c for c in chats}
    waiting: list[RegionChat] = []
    waits: dict[str, float] = {}
    busy = 0.0
    now, i, n = 9 * 60.0, 0, len(chats)

    def pick(advisor: list) -> bool:
        nonlocal busy
        region = advisor[1]
        if overflow_policy is None:
            pool = [c for c in waiting if c.region == region]
            if not pool:
                return False
        else:
            pool = waiting
        at = date + timedelta(minutes=now)
        staffed = {a[1] for a in advisors if signed_in(a)}
        shown = visible_to([RegionalItem(c.chat.item, c.region) for c in pool], (region,), at, staffed, policy,
                           queue_policy, names={})
        if not shown:
            return False
        chosen = by_id[shown[0].ranked.item.chat_id]
        waiting.remove(chosen)
        waits[chosen.chat.item.chat_id] = now - chosen.chat.arrival
        advisor[0] = now + chosen.chat.service
        busy += chosen.chat.service
        return True

    while i < n or waiting:
        while i < n and chats[i].chat.arrival <= now:
            waiting.append(chats[i])
            i += 1
        # Free advisors pick: first those with own chats waiting, then the rest (overflowed chats).
        progress = True
        while waiting and progress:
            progress = False
            own = {c.region for c in waiting}
            idle = [a for a in advisors if a[0] <= now and signed_in(a)]
            for advisor in sorted(idle, key=lambda a: a[1] not in own):
                if waiting and advisor[0] <= now and pick(advisor):
                    progress = True
        events = [chats[i].chat.arrival] if i < n else []
        if waiting:
            events += [a[0] for a in advisors if a[0] > now]
            events += [t for a in advisors for t in a[2:] if t > now]  # sign-outs and sign-ins
            if overflow_policy is not None:
                limits = overflow_policy.wait_limit_minutes
                events += [t for c in waiting
                           if (t := c.chat.arrival + limits[c.chat.item.urgency] + _EPSILON_MIN) > now]
        if not events:
            break
        now = min(events)
    return waits, busy


def simulate(config: RegionSimConfig = RegionSimConfig(), regions: Regions | None = None,
             overflow_policy: OverflowPolicy = DEFAULT_OVERFLOW,
             queue_policy: QueuePolicy = DEFAULT_POLICY) -> RegionSimResult:
    regions = regions or default_regions()
    staffing = config.staffing(regions)
    chats: list[RegionChat] = []
    waits: dict[str, dict[str, float]] = {regime: {} for regime in REGIMES}
    busy = capacity = 0.0
    for seed in config.seeds:
        base = replace(config.base, weeks=config.weeks, seed=seed)
        days = generate_chats(base, random.Random(seed))
        for day in assign_regions(days, regions, random.Random(f"regions-{seed}")):
            day = [RegionChat(SimChat(c.chat.item._replace(chat_id=f"s{seed}-{c.chat.item.chat_id}"),
                                      c.chat.arrival, c.chat.service), c.region) for c in day]
            chats += day
            capacity += sum(staffing.values()) * 8 * 60
            for regime, policy in zip(REGIMES, (None, overflow_policy)):
                day_waits, day_busy = serve_day(day, staffing, policy, queue_policy, config.lunch_minutes)
                waits[regime].update(day_waits)
            busy += day_busy
    return RegionSimResult(config, regions, staffing, chats, waits, busy / capacity if capacity else 0.0)


# ---------------------------------------------------------------------------------------------
# Report.


def _cell(values: Sequence[float]) -> str:
    return f"{statistics.median(values):5.1f} {percentile(values, 90):5.1f}" if values else f"{'-':>5} {'-':>5}"


def table(result: RegionSimResult) -> str:
    """Waiting minutes per urgency (nationally, then per region), without and with overflow."""
    config = result.config
    urgencies = list(config.base.urgency_mix)
    runs = len(config.seeds) * config.weeks
    n = len(result.chats)
    lines = [
        f"{config.weeks} weeks x {len(config.seeds)} seeds ({', '.join(map(str, config.seeds))}), {n} chats "
        f"({n / runs:.0f}/week), {sum(result.staffing.values())} advisors in {len(result.staffing)} regions, "
        f"utilisation {result.utilisation:.0%} (of 9-17). Wait in minutes, median and p90 (pooled over seeds).",
        "",
        "urgency       n |     without overflow |        with overflow",
        "                | median    p90    max | median    p90    max",
    ]
    for urgency in [*urgencies, None]:
        cells = []
        for regime in REGIMES:
            w = result.waits_by(regime, urgency=urgency)
            cells.append(f"{statistics.median(w):6.1f} {percentile(w, 90):6.1f} {max(w):6.1f}")
        lines.append(f"{urgency or 'all':<8}{len(result.waits_by(REGIMES[0], urgency=urgency)):>8} | "
                     f"{cells[0]} | {cells[1]}")
    lines += ["", "per region: median p90 per urgency; without overflow | with overflow"]
    head = " ".join(f"{u:>11}" for u in urgencies)
    lines.append(f"{'region':<22}{'/wk':>5}{'adv':>4} | {head} | {head}")
    for region in result.regions:
        per_week = len(result.waits_by(REGIMES[0], region.code)) / runs
        parts = [" ".join(_cell(result.waits_by(regime, region.code, u)) for u in urgencies) for regime in REGIMES]
        lines.append(f"{region.code:<22}{per_week:5.1f}{result.staffing[region.code]:4d} | {parts[0]} | {parts[1]}")
    def named(codes: list[str]) -> str:
        return codes[0] if len(codes) == 1 else f"{codes[0]} and {len(codes) - 1} more"

    lines.append("")
    for urgency in ("acute", "high"):
        before, after = (result.worst_region(regime, urgency) for regime in REGIMES)
        lines.append(f"worst region for {urgency} (p90): without overflow {before[1]:.1f} min ({named(before[0])}); "
                     f"with overflow {after[1]:.1f} min ({named(after[0])})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m triage.region_sim", description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=8, help="simulated weeks per seed (default 8)")
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds, 1..N (default 5)")
    args = parser.parse_args(argv)
    if args.weeks < 1 or args.seeds < 1:
        parser.error("--weeks and --seeds must be at least 1")
    print(table(simulate(RegionSimConfig(weeks=args.weeks, seeds=tuple(range(1, args.seeds + 1))))))


if __name__ == "__main__":
    main()
