"""Overflow between regions: which waiting chats an advisor sees, as pure functions.

Each region's advisors see their own region's queue. A waiting chat *overflows*, i.e. becomes
visible to the advisors of every region, when

1. it has waited longer than the limit for its urgency (`OverflowPolicy.wait_limit_minutes`), or
2. it is acute and no advisor of its region is signed in (nobody there could pick it up at all).

An overflowed chat stays in its own region's queue too; whoever picks it up first takes it. The
order of what an advisor sees is the advisor queue's order (triage/queue.py `rank`) over the
visible chats, so overflow changes who sees a chat, never how chats are ordered.

Default limits and why
----------------------
* acute 2 min: acute means danger right now. Inside its region an acute chat already goes first,
  so it waits only while every advisor of the region is in a conversation, and conversations last
  30-60 min. Two minutes is long enough for a region's own advisor who is just finishing to take
  it, and short enough that an idle advisor elsewhere is not left watching it wait.
* high 10 min: serious but not immediate. Ten minutes lets a region absorb a short peak itself;
  the national simulation (triage/queue_sim.py) has high chats at a median of a few minutes.
* normal 30 min, low 60 min: these are the queue's own head starts (a normal chat has 30 points
  over a low one, a high chat 60), so a chat overflows about when the queue would start letting
  it overtake new chats of the next level anyway. Sharing them sooner would mostly move routine
  chats between regions, which costs regional knowledge (local services, the municipality's
  teams) for little gain.

The limits are per urgency, not per region, so every region's chats are treated the same. See
docs/regions.md and `python -m triage.region_sim` for the effect on waiting times.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from triage.explain import URGENCY_NL
from triage.labels import URGENCIES
from triage.opening_hours import OpeningHours
from triage.queue import DEFAULT_POLICY, QueueItem, QueuePolicy, RankedItem, rank, waiting_seconds

ALL_REGIONS_NL = "Nu zichtbaar voor alle regio's."


@dataclass(frozen=True)
class OverflowPolicy:
    """When a chat overflows (see the module docstring for the defaults)."""

    wait_limit_minutes: Mapping[str, float] = field(
        default_factory=lambda: {"acute": 2.0, "high": 10.0, "normal": 30.0, "low": 60.0}, hash=False)
    acute_without_advisor: bool = True

    def __post_init__(self) -> None:
        limits = self.wait_limit_minutes
        if set(limits) != set(URGENCIES):
            raise ValueError(f"wait_limit_minutes: needs exactly the urgencies {URGENCIES}, got {sorted(limits)}")
        bad = [u for u in URGENCIES if not (isinstance(limits[u], (int, float)) and limits[u] > 0)]
        if bad:
            raise ValueError(f"wait_limit_minutes: must be > 0 minutes, not for {', '.join(bad)}")
        values = [limits[u] for u in URGENCIES]
        if values != sorted(values):
            raise ValueError("wait_limit_minutes: a more urgent chat must not wait longer before overflowing "
                             f"than a less urgent one (got {dict(limits)})")


DEFAULT_OVERFLOW = OverflowPolicy()


class RegionalItem(NamedTuple):
    """A waiting chat and the code of the region it came in through."""

    item: QueueItem
    region: str


class Overflow(NamedTuple):
    reasons: tuple[str, ...]  # "waited" and/or "no_advisor"
    reason_nl: str            # for the advisors: why a chat of another region is in their list


class VisibleChat(NamedTuple):
    ranked: RankedItem         # position among the chats this advisor sees, and the queue's reasons
    region: str
    own_region: bool
    overflow: Overflow | None  # also set for an own-region chat that overflowed (others see it too)
    closing_nl: str | None = None  # set when the chat's region closes soon and the chat still waits


def _minutes_nl(minutes: int) -> str:
    return f"{minutes} minuut" if minutes == 1 else f"{minutes} minuten"


def _limit_nl(value: float) -> str:
    # Dutch writes a decimal comma.
    return _minutes_nl(int(value)) if float(value).is_integer() else f"{value:g} minuten".replace(".", ",")


def overflow(chat: RegionalItem, now: datetime, staffed_regions: Collection[str],
             policy: OverflowPolicy = DEFAULT_OVERFLOW, names: Mapping[str, str] | None = None) -> Overflow | None:
    """Whether and why a waiting chat is visible to every region at `now`.

    staffed_regions: the codes of the regions with at least one advisor signed in.
    names: region code -> the name shown in the reason (default: triage/data/regions.json)."""
    item, region = chat
    if item.urgency not in policy.wait_limit_minutes:
        raise ValueError(f"urgency of chat {item.chat_id!r}: unknown urgency {item.urgency!r} (one of {URGENCIES})")
    name = _region_name(region, names)
    waited = waiting_seconds(item, now)  # checks that both times are timezone-aware
    limit = policy.wait_limit_minutes[item.urgency]
    reasons, parts = [], []
    if item.urgency == "acute" and policy.acute_without_advisor and region not in staffed_regions:
        reasons.append("no_advisor")
        parts.append(f"Acuut en geen adviseur van regio {name} aangemeld")
    if waited > limit * 60:
        reasons.append("waited")
        where = "" if parts else f" in regio {name}"  # the region is named once
        text = (f"wacht al {_minutes_nl(int(waited // 60))}{where} "
                f"(grens voor {URGENCY_NL[item.urgency]}: {_limit_nl(limit)})")
        parts.append(text if parts else text[0].upper() + text[1:])
    if not reasons:
        return None
    return Overflow(tuple(reasons), f"{', '.join(parts)}. {ALL_REGIONS_NL}")


def _check_advisor_regions(advisor_regions: Collection[str]) -> None:
    if isinstance(advisor_regions, str):
        raise ValueError("advisor_regions: must be a collection of region codes, not one string")
    if not advisor_regions:
        raise ValueError("advisor_regions: an advisor needs at least one region")


def can_see(chat: RegionalItem, advisor_regions: Collection[str], now: datetime, staffed_regions: Collection[str],
            policy: OverflowPolicy = DEFAULT_OVERFLOW) -> bool:
    """Whether an advisor of `advisor_regions` may see (read, claim) this waiting chat now: it is
    of one of their regions, or it has overflowed."""
    _check_advisor_regions(advisor_regions)
    return chat.region in advisor_regions or overflow(chat, now, staffed_regions, policy, names={}) is not None


def visible_to(chats: Iterable[RegionalItem], advisor_regions: Collection[str], now: datetime,
               staffed_regions: Collection[str], policy: OverflowPolicy = DEFAULT_OVERFLOW,
               queue_policy: QueuePolicy = DEFAULT_POLICY,
               names: Mapping[str, str] | None = None, hours: OpeningHours | None = None,
               closing_minutes: float = 15) -> list[VisibleChat]:
    """The waiting chats an advisor of `advisor_regions` sees, in pick-up order: their regions'
    chats and every overflowed chat, ranked together by the advisor queue (triage/queue.py).

    With `hours`, a chat whose region closes within `closing_minutes` carries a Dutch note
    (closing_nl), so the advisors on duty see which chats would otherwise be left waiting."""
    _check_advisor_regions(advisor_regions)
    mine = set(advisor_regions)
    shown: dict[str, tuple[str, Overflow | None]] = {}
    items = []
    for chat in chats:
        flow = overflow(chat, now, staffed_regions, policy, names)
        if chat.region in mine or flow is not None:
            shown[chat.item.chat_id] = (chat.region, flow)
            items.append(chat.item)
    closing: dict[str, str | None] = {}
    out = []
    for r in rank(items, now, queue_policy):
        region, flow = shown[r.item.chat_id]
        note = None
        if hours is not None:
            if region not in closing:
                closing[region] = _closing_nl(region, now, hours, closing_minutes, names)
            note = closing[region]
        out.append(VisibleChat(r, region, region in mine, flow, note))
    return out


def _closing_nl(region: str, now: datetime, hours: OpeningHours, minutes: float,
                names: Mapping[str, str] | None) -> str | None:
    if not hours.closing_soon(region, now, minutes):
        return None
    end = hours.closes_at(region, now)
    assert end is not None  # closing_soon implies open
    return f"Regio {_region_name(region, names)} sluit om {end.hour:02d}:{end.minute:02d}; deze chat wacht nog."


def _region_name(code: str, names: Mapping[str, str] | None) -> str:
    if names is None:
        from triage.regions import default_regions  # the data file, read once

        names = {r.code: r.name for r in default_regions()}
    return names.get(code, code)
