"""Opening hours per region (triage/opening_hours.py): weekdays 9-17 Europe/Amsterdam, Dutch
public holidays from the `holidays` package, per-region overrides, and the answer while closed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from triage.opening_hours import (HOURS_PATH, OpeningHoursError, availability, closing_soon, is_open,
                                  load_opening_hours, next_opening)

AMS = ZoneInfo("Europe/Amsterdam")
UTC = timezone.utc


def local(*args) -> datetime:
    return datetime(*args, tzinfo=AMS)


def test_a_normal_tuesday():
    assert is_open("utrecht", local(2026, 3, 10, 10, 0))
    assert is_open("utrecht", local(2026, 3, 10, 9, 0))
    assert not is_open("utrecht", local(2026, 3, 10, 8, 59))
    assert is_open("utrecht", local(2026, 3, 10, 16, 59))
    assert not is_open("utrecht", local(2026, 3, 10, 17, 0))  # [09:00, 17:00)
    assert not is_open("utrecht", local(2026, 3, 14, 11, 0))  # Saturday


@pytest.mark.parametrize("day, holiday", [
    ((2026, 4, 27), "Koningsdag"),          # a Monday
    ((2026, 12, 25), "Eerste kerstdag"),    # a Friday
    ((2026, 5, 14), "Hemelvaartsdag"),      # Ascension, moves with Easter
    ((2026, 4, 6), "Tweede paasdag"),
    ((2025, 5, 5), "Bevrijdingsdag"),       # a public holiday in lustrum years only
    ((2026, 4, 3), "Goede vrijdag"),        # the package counts Good Friday as public
])
def test_public_holidays_are_closed(day, holiday):
    at = local(*day, 11, 0)
    assert at.weekday() < 5
    assert not is_open("zeeland", at)
    answer = availability("zeeland", at)
    assert answer.holiday == holiday
    assert f"gesloten vanwege {holiday}." in answer.message_nl


def test_days_around_holidays_are_open():
    assert is_open("zeeland", local(2026, 4, 28, 10, 0))   # the Tuesday after King's Day
    assert is_open("zeeland", local(2026, 12, 24, 10, 0))  # Christmas Eve is a working day
    assert is_open("zeeland", local(2026, 5, 5, 10, 0))    # Liberation Day outside a lustrum year


def test_kings_day_moves_to_the_26th_when_the_27th_is_a_sunday():
    # 27 April 2031 is a Sunday, so King's Day is Saturday the 26th: Monday the 28th is an ordinary day.
    assert local(2031, 4, 27, 10).weekday() == 6
    assert is_open("zeeland", local(2031, 4, 28, 10, 0))
    assert availability("zeeland", local(2031, 4, 26, 10, 0)).holiday == "Koningsdag"


def test_dst_spring_forward():
    # Summer time starts Sunday 29 March 2026: 09:00 local is 08:00 UTC before, 07:00 UTC after.
    assert not is_open("twente", datetime(2026, 3, 27, 7, 30, tzinfo=UTC))   # 08:30 CET
    assert is_open("twente", datetime(2026, 3, 27, 8, 0, tzinfo=UTC))        # 09:00 CET
    assert is_open("twente", datetime(2026, 3, 30, 7, 30, tzinfo=UTC))       # 09:30 CEST
    assert not is_open("twente", datetime(2026, 3, 30, 15, 0, tzinfo=UTC))   # 17:00 CEST
    closed_friday = local(2026, 3, 27, 17, 0)
    opening = next_opening("twente", closed_friday)
    assert opening == local(2026, 3, 30, 9, 0)
    assert opening.utcoffset() == timedelta(hours=2)
    # Python subtracts datetimes of the same zone by the clock, so compare instants in UTC.
    assert opening.astimezone(UTC) - closed_friday.astimezone(UTC) == timedelta(hours=63)  # 64 on the clock


def test_dst_fall_back():
    # Winter time starts Sunday 25 October 2026: the weekend is an hour longer.
    closed_friday = local(2026, 10, 23, 17, 0)
    opening = next_opening("twente", closed_friday)
    assert opening == local(2026, 10, 26, 9, 0)
    assert opening.astimezone(UTC) == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    assert opening.astimezone(UTC) - closed_friday.astimezone(UTC) == timedelta(hours=65)  # 64 on the clock
    # Given in UTC, the answer is in local time.
    assert next_opening("twente", closed_friday.astimezone(UTC)).tzinfo == AMS


def test_next_opening():
    assert next_opening("drenthe", local(2026, 3, 10, 10, 0)) == local(2026, 3, 10, 10, 0)  # open: now
    assert next_opening("drenthe", local(2026, 3, 10, 7, 0)) == local(2026, 3, 10, 9, 0)
    # Thursday before Easter, after closing: Good Friday, the weekend and Easter Monday are closed.
    assert next_opening("drenthe", local(2026, 4, 2, 17, 30)) == local(2026, 4, 7, 9, 0)
    # Christmas: Friday 25 and Saturday 26 December, then Sunday.
    assert next_opening("drenthe", local(2026, 12, 24, 17, 0)) == local(2026, 12, 28, 9, 0)


def test_closing_soon():
    assert closing_soon("friesland", local(2026, 3, 10, 16, 50))
    assert closing_soon("friesland", local(2026, 3, 10, 16, 45), minutes=15)
    assert not closing_soon("friesland", local(2026, 3, 10, 16, 40), minutes=15)
    assert closing_soon("friesland", local(2026, 3, 10, 16, 30), minutes=30)
    assert not closing_soon("friesland", local(2026, 3, 10, 17, 0))  # already closed
    with pytest.raises(ValueError, match="minutes: must be >= 0"):
        closing_soon("friesland", local(2026, 3, 10, 16, 50), minutes=-1)


def test_the_answer_while_closed_is_dutch_and_gives_the_phone_line_and_112():
    friday_evening = availability("west-brabant", local(2026, 3, 27, 18, 0))
    assert not friday_evening.open
    assert friday_evening.next_opening == local(2026, 3, 30, 9, 0)
    text = friday_evening.message_nl
    assert text.startswith("De chat van Veilig Thuis West-Brabant is nu gesloten.")
    assert "De chat is op maandag 30 maart om 09:00 weer open." in text
    assert "0800-2000" in text and "dag en nacht" in text
    assert text.endswith("Ben je nu in gevaar? Bel dan 112.")
    assert friday_evening.phone == "0800-2000" and friday_evening.emergency == "112"
    assert "morgen om 09:00" in availability("west-brabant", local(2026, 3, 10, 20, 0)).message_nl
    assert "vandaag om 09:00" in availability("west-brabant", local(2026, 3, 10, 6, 0)).message_nl
    open_now = availability("west-brabant", local(2026, 3, 10, 11, 0))
    assert open_now.open and open_now.message_nl is None and open_now.closes_at == local(2026, 3, 10, 17, 0)


def test_times_must_be_timezone_aware_and_regions_known():
    with pytest.raises(ValueError, match="at: must be timezone-aware"):
        is_open("utrecht", datetime(2026, 3, 10, 10, 0))
    with pytest.raises(ValueError, match="region: unknown region code 'atlantis'"):
        is_open("atlantis", local(2026, 3, 10, 10, 0))


# ---------------------------------------------------------------------------------------------
# Per-region overrides and validation of the data file.


def _hours(tmp_path, change=None):
    data = json.loads(HOURS_PATH.read_text(encoding="utf-8"))
    if change:
        change(data)
    path = tmp_path / "hours.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_per_region_overrides(tmp_path):
    def change(data):
        data["regions"] = {
            "kennemerland": {"weekly": {**data["default"]["weekly"], "thu": [["09:00", "12:00"], ["13:00", "21:00"]]}},
            "flevoland": {"open_on_holidays": ["Goede vrijdag"], "closed_dates": ["2026-03-11"]},
            "zeeland": {"weekly": {d: [["00:00", "24:00"]] for d in data["default"]["weekly"]},
                        "closed_on_public_holidays": False},
        }
    hours = load_opening_hours(_hours(tmp_path, change))
    thursday = (2026, 3, 12)
    assert hours.is_open("kennemerland", local(*thursday, 20, 0))
    assert not hours.is_open("kennemerland", local(*thursday, 12, 30))   # lunch gap
    assert hours.next_opening("kennemerland", local(*thursday, 12, 30)) == local(*thursday, 13, 0)
    assert hours.closing_soon("kennemerland", local(*thursday, 20, 50))
    assert not hours.is_open("utrecht", local(*thursday, 20, 0))         # the default is untouched
    assert hours.is_open("flevoland", local(2026, 4, 3, 10, 0))          # staffs Good Friday
    assert not hours.is_open("flevoland", local(2026, 4, 6, 10, 0))      # but not Easter Monday
    assert not hours.is_open("flevoland", local(2026, 3, 11, 10, 0))     # a closed date
    assert hours.availability("flevoland", local(2026, 3, 11, 10, 0)).holiday is None
    # Day and night, holidays included: open on Christmas night; it closes only past the horizon.
    assert hours.is_open("zeeland", local(2026, 12, 25, 3, 0))
    assert not hours.closing_soon("zeeland", local(2026, 12, 25, 23, 55))  # continues past midnight


@pytest.mark.parametrize("change, message", [
    (lambda d: d["regions"].update({"atlantis": {"closed_dates": []}}), r"regions\.atlantis: unknown region code"),
    (lambda d: d["default"]["weekly"].update(mon=[["17:00", "09:00"]]),
     r"default\.weekly: .*mon: interval 17:00-09:00 must end"),
    (lambda d: d["default"]["weekly"].update(tue=[["09:00", "12:00"], ["11:00", "17:00"]]),
     "tue: interval 11:00-17:00 overlaps"),
    (lambda d: d["default"]["weekly"].update(wed=[["9:00", "17:00"]]), "'9:00' is not a time as HH:MM"),
    (lambda d: d["default"]["weekly"].pop("sun"), "missing \\['sun'\\]"),
    (lambda d: d["default"].update(open_on_holidays=["Sinterklaas"]),
     r"default\.open_on_holidays: 'Sinterklaas' is not a Dutch public holiday"),
    (lambda d: d.update(timezone="Europe/Amsterdan"), "timezone: .*not a known time zone"),
    (lambda d: d["regions"].update({"zeeland": {"weekly": {k: [] for k in d["default"]["weekly"]}}}),
     r"regions\.zeeland\.weekly: .*never open"),
    (lambda d: d["regions"].update({"zeeland": {"weekly_hours": {}}}), r"regions\.zeeland\.weekly_hours: Extra inputs"),
])
def test_invalid_hours_are_refused_naming_the_field(tmp_path, change, message):
    with pytest.raises(OpeningHoursError, match=message):
        load_opening_hours(_hours(tmp_path, change))


def test_the_shipped_file_is_valid():
    hours = load_opening_hours()
    assert hours.data.regions == {}  # every region has the default until a region asks otherwise
    assert hours.schedule("groningen").weekly["mon"] == (("09:00", "17:00"),)
