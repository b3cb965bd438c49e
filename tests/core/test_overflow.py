"""Overflow between regions (triage/overflow.py): both triggers, the Dutch reasons, and which
chats an advisor of some regions sees, in the advisor queue's order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from triage.opening_hours import load_opening_hours
from triage.overflow import DEFAULT_OVERFLOW, OverflowPolicy, RegionalItem, can_see, overflow, visible_to
from triage.queue import QueueItem, rank

NOW = datetime(2026, 3, 10, 13, 0, tzinfo=timezone.utc)  # a Tuesday, 14:00 in Amsterdam
ALL = {"utrecht", "zeeland", "midden-brabant", "groningen"}  # regions with an advisor signed in


def chat(chat_id: str, urgency: str, waited_min: float, region: str, minor: bool = False) -> RegionalItem:
    return RegionalItem(QueueItem(chat_id, urgency, minor, NOW - timedelta(minutes=waited_min)), region)


@pytest.mark.parametrize("urgency, limit", [("acute", 2), ("high", 10), ("normal", 30), ("low", 60)])
def test_a_chat_overflows_once_it_has_waited_longer_than_its_limit(urgency, limit):
    assert overflow(chat("c", urgency, limit - 0.5, "zeeland"), NOW, ALL) is None
    assert overflow(chat("c", urgency, limit, "zeeland"), NOW, ALL) is None  # longer than, not equal
    flow = overflow(chat("c", urgency, limit + 0.5, "zeeland"), NOW, ALL)
    assert flow is not None and flow.reasons == ("waited",)


def test_the_reason_for_waiting_too_long():
    flow = overflow(chat("c", "high", 12.4, "midden-brabant"), NOW, ALL)
    assert flow.reason_nl == ("Wacht al 12 minuten in regio Midden-Brabant (grens voor hoog: 10 minuten). "
                              "Nu zichtbaar voor alle regio's.")
    fine = OverflowPolicy({"acute": 0.5, "high": 1, "normal": 30, "low": 60})
    one = overflow(chat("c", "normal", 31, "zeeland"), NOW, ALL, fine)
    assert one.reason_nl.startswith("Wacht al 31 minuten in regio Zeeland (grens voor normaal: 30 minuten).")
    half = overflow(chat("c", "acute", 1, "zeeland"), NOW, ALL, fine)
    assert half.reason_nl.startswith("Wacht al 1 minuut in regio Zeeland (grens voor acuut: 0,5 minuten).")


def test_an_acute_chat_overflows_at_once_when_no_advisor_of_its_region_is_signed_in():
    unstaffed = ALL - {"zeeland"}
    flow = overflow(chat("a", "acute", 0, "zeeland"), NOW, unstaffed)
    assert flow.reasons == ("no_advisor",)
    assert flow.reason_nl == ("Acuut en geen adviseur van regio Zeeland aangemeld. "
                              "Nu zichtbaar voor alle regio's.")
    # Both triggers: the region is named once.
    both = overflow(chat("a", "acute", 3, "zeeland"), NOW, unstaffed)
    assert both.reasons == ("no_advisor", "waited")
    assert both.reason_nl == ("Acuut en geen adviseur van regio Zeeland aangemeld, wacht al 3 minuten "
                              "(grens voor acuut: 2 minuten). Nu zichtbaar voor alle regio's.")
    # Only acute chats: a high chat in an unstaffed region waits for its limit like any other.
    assert overflow(chat("h", "high", 5, "zeeland"), NOW, unstaffed) is None
    # And the trigger can be switched off.
    off = OverflowPolicy(acute_without_advisor=False)
    assert overflow(chat("a", "acute", 0, "zeeland"), NOW, unstaffed, off) is None


def test_visible_to_an_advisor():
    chats = [
        chat("own-normal", "normal", 5, "utrecht"),
        chat("own-low", "low", 70, "utrecht"),            # overflowed, but it is also ours
        chat("zee-high-new", "high", 3, "zeeland"),       # another region, not overflowed: hidden
        chat("zee-high-old", "high", 12, "zeeland"),      # overflowed
        chat("mb-acute", "acute", 0.5, "midden-brabant"),  # acute, but its region is staffed: hidden
        chat("gr-acute", "acute", 0.5, "groningen"),      # acute, nobody signed in in Groningen
    ]
    staffed = ALL - {"groningen"}
    seen = visible_to(chats, ["utrecht"], NOW, staffed)
    ids = [v.ranked.item.chat_id for v in seen]
    assert set(ids) == {"own-normal", "own-low", "zee-high-old", "gr-acute"}
    # The order is the advisor queue's order over exactly these chats, positions renumbered.
    expected = [r.item.chat_id for r in rank([c.item for c in chats if c.item.chat_id in ids], NOW)]
    assert ids == expected and ids[0] == "gr-acute"
    assert [v.ranked.position for v in seen] == [1, 2, 3, 4]
    by_id = {v.ranked.item.chat_id: v for v in seen}
    assert by_id["own-normal"].own_region and by_id["own-normal"].overflow is None
    assert by_id["own-low"].own_region and by_id["own-low"].overflow.reasons == ("waited",)
    assert not by_id["zee-high-old"].own_region
    assert by_id["zee-high-old"].overflow.reason_nl.startswith("Wacht al 12 minuten in regio Zeeland")
    assert by_id["gr-acute"].overflow.reasons == ("no_advisor",)
    # An advisor of two regions sees both regions' chats.
    both = {v.ranked.item.chat_id for v in visible_to(chats, ["utrecht", "zeeland"], NOW, staffed)}
    assert both == {"own-normal", "own-low", "zee-high-new", "zee-high-old", "gr-acute"}


def test_can_see_matches_visible_to():
    chats = [chat("a", "high", 3, "zeeland"), chat("b", "high", 11, "zeeland"), chat("c", "normal", 1, "utrecht")]
    shown = {v.ranked.item.chat_id for v in visible_to(chats, {"utrecht"}, NOW, ALL)}
    assert {c.item.chat_id for c in chats if can_see(c, {"utrecht"}, NOW, ALL)} == shown == {"b", "c"}


def test_chats_waiting_when_their_region_closes_soon_are_flagged():
    hours = load_opening_hours()
    ams = ZoneInfo("Europe/Amsterdam")
    late = datetime(2026, 3, 10, 16, 50, tzinfo=ams)
    chats = [RegionalItem(QueueItem("n", "normal", False, late - timedelta(minutes=4)), "utrecht")]
    [entry] = visible_to(chats, ["utrecht"], late, ALL, hours=hours)
    assert entry.closing_nl == "Regio Utrecht sluit om 17:00; deze chat wacht nog."
    [early] = visible_to(chats, ["utrecht"], late - timedelta(hours=1), ALL, hours=hours)
    assert early.closing_nl is None


@pytest.mark.parametrize("limits, message", [
    ({"acute": 2, "high": 10, "normal": 30}, "needs exactly the urgencies"),
    ({"acute": 0, "high": 10, "normal": 30, "low": 60}, "must be > 0 minutes, not for acute"),
    ({"acute": 20, "high": 10, "normal": 30, "low": 60}, "a more urgent chat must not wait longer"),
])
def test_policy_validation(limits, message):
    with pytest.raises(ValueError, match=f"wait_limit_minutes: .*{message}"):
        OverflowPolicy(limits)


def test_invalid_input_names_the_field():
    with pytest.raises(ValueError, match="advisor_regions: an advisor needs at least one region"):
        visible_to([], [], NOW, ALL)
    with pytest.raises(ValueError, match="advisor_regions: must be a collection"):
        visible_to([], "utrecht", NOW, ALL)
    with pytest.raises(ValueError, match="unknown urgency 'urgent'"):
        overflow(RegionalItem(QueueItem("x", "urgent", False, NOW), "utrecht"), NOW, ALL)
    with pytest.raises(ValueError, match="timezone-aware"):
        overflow(chat("x", "high", 1, "utrecht"), NOW.replace(tzinfo=None), ALL)


def test_default_limits_are_the_documented_ones():
    assert dict(DEFAULT_OVERFLOW.wait_limit_minutes) == {"acute": 2, "high": 10, "normal": 30, "low": 60}
