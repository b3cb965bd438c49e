"""When each region's chat is staffed, and what a chat hears when its region is closed.

The chat is staffed on weekdays from 9:00 to 17:00 (Europe/Amsterdam) and closed on Dutch public
holidays; the phone line 0800-2000 is open day and night. The hours are data
(triage/data/opening_hours.json): a default for every region plus per-region overrides. Public
holidays come from the maintained `holidays` package (category "public", Dutch names), so moving
feasts (Easter, Ascension, Whitsun) and rules such as King's Day moving to the 26th when the 27th
is a Sunday, or Liberation Day being a holiday every fifth year, are not maintained by hand. A
region that staffs a holiday anyway lists its Dutch name in ``open_on_holidays`` (e.g.
"Goede vrijdag", which the package counts as a public holiday).

All functions take timezone-aware datetimes and compare instants in UTC, so the switch to and from
summer time is handled by zoneinfo: 09:00 local is 08:00 UTC in winter and 07:00 UTC in summer.
Intervals are [start, end): at 17:00 the chat is closed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from triage.regions import Region, Regions, _describe, default_regions, validate_region_code

HOURS_PATH = Path(__file__).parent / "data" / "opening_hours.json"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PHONE = "0800-2000"
EMERGENCY = "112"
# How far next_opening looks ahead; a region closed for longer than this has no next opening.
HORIZON_DAYS = 400

DAYS_NL = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
MONTHS_NL = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
             "oktober", "november", "december")


class OpeningHoursError(ValueError):
    """The opening-hours data is invalid; the message names the file and the field."""


def _parse_time(text: str) -> time | None:
    """'HH:MM' as a time; '24:00' (end of day) as None."""
    if text == "24:00":
        return None
    hours, sep, minutes = text.partition(":")
    if not (sep and len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit()):
        raise ValueError(f"{text!r} is not a time as HH:MM")
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError(f"{text!r} is not a time of day (00:00-23:59, or 24:00 as an end)")
    return time(int(hours), int(minutes))


def _minutes(text: str) -> int:
    t = _parse_time(text)
    return 24 * 60 if t is None else t.hour * 60 + t.minute


class Schedule(BaseModel):
    """One region's hours: intervals per weekday and the exceptions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    weekly: dict[str, tuple[tuple[str, str], ...]]
    closed_on_public_holidays: bool = True
    open_on_holidays: tuple[str, ...] = ()
    closed_dates: tuple[date, ...] = ()

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, weekly: dict[str, tuple[tuple[str, str], ...]]) -> dict:
        if set(weekly) != set(DAYS):
            missing, extra = sorted(set(DAYS) - set(weekly)), sorted(set(weekly) - set(DAYS))
            raise ValueError(f"needs exactly the days {', '.join(DAYS)}"
                             + (f"; missing {missing}" if missing else "") + (f"; unknown {extra}" if extra else ""))
        for day in DAYS:
            previous_end = -1
            for start, end in weekly[day]:
                if start == "24:00":
                    raise ValueError(f"{day}: an interval cannot start at 24:00")
                s, e = _minutes(start), _minutes(end)
                if s >= e:
                    raise ValueError(f"{day}: interval {start}-{end} must end after it starts")
                if s <= previous_end:
                    raise ValueError(f"{day}: interval {start}-{end} overlaps or touches the one before "
                                     "(list intervals in order; write touching ones as one)")
                previous_end = e
        if not any(weekly[day] for day in DAYS):
            raise ValueError("has no opening interval on any day (the chat would never open)")
        return {day: tuple(tuple(i) for i in weekly[day]) for day in DAYS}


class ScheduleOverride(BaseModel):
    """A region's differences from the default; fields left out keep the default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    weekly: dict[str, tuple[tuple[str, str], ...]] | None = None
    closed_on_public_holidays: bool | None = None
    open_on_holidays: tuple[str, ...] | None = None
    closed_dates: tuple[date, ...] | None = None


class HoursFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    comment: str = Field("", alias="_comment")
    timezone: str = "Europe/Amsterdam"
    default: Schedule
    regions: dict[str, ScheduleOverride] = {}

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not a known time zone (e.g. Europe/Amsterdam)") from None
        return v


@lru_cache(maxsize=1)
def _public_holidays() -> holidays.HolidayBase:
    # Expands to any year on lookup; Dutch names so that open_on_holidays reads as people say it.
    return holidays.country_holidays("NL", categories=("public",), language="nl")


def holiday_name(day: date) -> str | None:
    """The Dutch name of the public holiday on this date, or None."""
    return _public_holidays().get(day)


def _known_holiday_names() -> set[str]:
    year = date.today().year
    names: set[str] = set()
    for y in range(year - 1, year + 6):  # a lustrum, so Bevrijdingsdag is always among them
        _public_holidays().get(date(y, 1, 1))  # populates the year
        names.update(name for day, name in _public_holidays().items() if day.year == y)
    return names


@dataclass(frozen=True)
class Availability:
    """Whether a region's chat is open at a moment, and what the chat platform can show when not.

    message_nl is None while open. While closed it says so, when the chat opens again, that
    0800-2000 is open day and night, and to call 112 in danger now."""

    region: str
    open: bool
    closes_at: datetime | None      # the end of the current opening period, while open
    next_opening: datetime | None   # while closed; None if not within HORIZON_DAYS
    holiday: str | None             # the public holiday (Dutch) that closes the chat today, if any
    message_nl: str | None
    phone: str = PHONE
    emergency: str = EMERGENCY


class OpeningHours:
    """The validated hours of every region (`load_opening_hours`)."""

    def __init__(self, data: HoursFile, regions: Regions):
        self.data = data
        self.regions = regions
        self.tz = ZoneInfo(data.timezone)
        self._schedules: dict[str, Schedule] = {}
        for region in regions:
            override = data.regions.get(region.code)
            merged = data.default.model_dump()
            if override is not None:
                merged.update({k: v for k, v in override.model_dump().items() if v is not None})
            try:
                self._schedules[region.code] = Schedule.model_validate(merged)
            except ValidationError as exc:  # an override that makes the schedule invalid
                where = f"regions.{region.code}" if override is not None else "default"
                raise OpeningHoursError(f"{where}.{_describe(exc)}") from None

    def schedule(self, region: str | Region) -> Schedule:
        return self._schedules[self._code(region)]

    def _code(self, region: str | Region) -> str:
        code = region.code if isinstance(region, Region) else region
        return validate_region_code(code, regions=self.regions).code

    def _closed_reason(self, schedule: Schedule, day: date) -> str | None:
        """Why the chat is closed all day (a holiday's name, or 'closed_date'), or None."""
        if day in schedule.closed_dates:
            return "closed_date"
        if schedule.closed_on_public_holidays:
            name = holiday_name(day)
            if name is not None and name not in schedule.open_on_holidays:
                return name
        return None

    def intervals_on(self, region: str | Region, day: date) -> list[tuple[datetime, datetime]]:
        """The opening intervals on a local date as UTC instants [start, end)."""
        schedule = self.schedule(region)
        if self._closed_reason(schedule, day) is not None:
            return []
        out = []
        for start, end in schedule.weekly[DAYS[day.weekday()]]:
            s = datetime.combine(day, _parse_time(start), tzinfo=self.tz)  # type: ignore[arg-type]
            end_t = _parse_time(end)
            e = (datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz) if end_t is None
                 else datetime.combine(day, end_t, tzinfo=self.tz))
            out.append((s.astimezone(timezone.utc), e.astimezone(timezone.utc)))
        return out

    def _intervals_from(self, region: str | Region, at_utc: datetime):
        """Opening intervals in time order, from the local day of `at` on, for HORIZON_DAYS."""
        first = at_utc.astimezone(self.tz).date()
        for n in range(HORIZON_DAYS):
            yield from self.intervals_on(region, first + timedelta(days=n))

    def is_open(self, region: str | Region, at: datetime) -> bool:
        at_utc = _utc(at, "at")
        day = at_utc.astimezone(self.tz).date()
        return any(s <= at_utc < e for s, e in self.intervals_on(region, day))

    def next_opening(self, region: str | Region, at: datetime) -> datetime | None:
        """The first moment at or after `at` when the chat is open (`at` itself while open), in
        local time; None if it does not open within HORIZON_DAYS."""
        at_utc = _utc(at, "at")
        for s, e in self._intervals_from(region, at_utc):
            if e > at_utc:
                return max(s, at_utc).astimezone(self.tz)
        return None

    def closes_at(self, region: str | Region, at: datetime) -> datetime | None:
        """While open: when the chat closes (following intervals that continue without a gap, e.g.
        past midnight), in local time. None while closed."""
        at_utc = _utc(at, "at")
        end = None
        for s, e in self._intervals_from(region, at_utc):
            if end is None:
                if s <= at_utc < e:
                    end = e
                elif s > at_utc:
                    return None
            elif s == end:
                end = e
            else:
                break
        return None if end is None else end.astimezone(self.tz)

    def closing_soon(self, region: str | Region, at: datetime, minutes: float = 15) -> bool:
        """Open now and closing within `minutes`: chats still waiting then should be flagged to
        the advisors on duty (they will not be picked up by this region today otherwise)."""
        if minutes < 0:
            raise ValueError(f"minutes: must be >= 0, got {minutes}")
        end = self.closes_at(region, at)
        return end is not None and (end - _utc(at, "at")) <= timedelta(minutes=minutes)

    def availability(self, region: str | Region, at: datetime) -> Availability:
        """Open or closed at `at`, with the Dutch text the chat platform shows when closed."""
        code = self._code(region)
        at_utc = _utc(at, "at")
        closes = self.closes_at(code, at_utc)
        if closes is not None:
            return Availability(code, True, closes, None, None, None)
        local_day = at_utc.astimezone(self.tz).date()
        reason = self._closed_reason(self.schedule(code), local_day)
        holiday = reason if reason not in (None, "closed_date") else None
        opening = self.next_opening(code, at_utc)
        region_obj = self.regions.by_code[code]
        return Availability(code, False, None, opening, holiday,
                            closed_message_nl(region_obj, at_utc.astimezone(self.tz), opening, holiday))


def closed_message_nl(region: Region, at_local: datetime, opening: datetime | None, holiday: str | None) -> str:
    """The answer to a chat that arrives while its region is closed (Dutch, for the chatter)."""
    closed = f"De chat van {region.organisation} is nu gesloten"
    closed += f" vanwege {holiday}." if holiday else "."
    if opening is None:
        when = "Wanneer de chat weer open is, is nog niet bekend."
    else:
        days = (opening.date() - at_local.date()).days
        clock = f"{opening.hour:02d}:{opening.minute:02d}"
        if days == 0:
            moment = f"vandaag om {clock}"
        elif days == 1:
            moment = f"morgen om {clock}"
        else:
            moment = (f"op {DAYS_NL[opening.weekday()]} {opening.day} {MONTHS_NL[opening.month - 1]} "
                      f"om {clock}")
        when = f"De chat is {moment} weer open."
    return (f"{closed} {when} Wil je nu iemand spreken? Bel gratis met Veilig Thuis: {PHONE}. "
            f"Dat kan dag en nacht, ook in het weekend. Ben je nu in gevaar? Bel dan {EMERGENCY}.")


def _utc(at: datetime, field: str) -> datetime:
    if not isinstance(at, datetime):
        raise ValueError(f"{field}: must be a datetime, got {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{field}: must be timezone-aware (got {at.isoformat()} without a time zone)")
    return at.astimezone(timezone.utc)


def load_opening_hours(path: Path | str = HOURS_PATH, regions: Regions | None = None) -> OpeningHours:
    """Reads and validates an opening-hours file against the regions. OpeningHoursError names the
    file and the field (e.g. 'regions.utrecht.weekly: ...')."""
    path = Path(path)
    regions = regions or default_regions()
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OpeningHoursError(f"{path}: opening-hours file not found") from None
    except json.JSONDecodeError as exc:
        raise OpeningHoursError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    try:
        data = HoursFile.model_validate(raw)
    except ValidationError as exc:
        raise OpeningHoursError(f"{path}: {_describe(exc)}") from None
    problems = []
    for code in data.regions:
        if code not in regions:
            problems.append(f"regions.{code}: unknown region code (valid codes: `python -m triage.regions`)")
    known = _known_holiday_names()
    overrides: Mapping[str, Any] = {"default": data.default, **{f"regions.{c}": o for c, o in data.regions.items()}}
    for where, schedule in overrides.items():
        for name in schedule.open_on_holidays or ():
            if name not in known:
                problems.append(f"{where}.open_on_holidays: {name!r} is not a Dutch public holiday name "
                                f"(known: {', '.join(sorted(known))})")
    if problems:
        raise OpeningHoursError(f"{path}: " + "; ".join(problems))
    try:
        return OpeningHours(data, regions)
    except OpeningHoursError as exc:
        raise OpeningHoursError(f"{path}: {exc}") from None


@lru_cache(maxsize=1)
def default_opening_hours() -> OpeningHours:
    return load_opening_hours()


def is_open(region: str | Region, at: datetime, hours: OpeningHours | None = None) -> bool:
    return (hours or default_opening_hours()).is_open(region, at)


def next_opening(region: str | Region, at: datetime, hours: OpeningHours | None = None) -> datetime | None:
    return (hours or default_opening_hours()).next_opening(region, at)


def closing_soon(region: str | Region, at: datetime, minutes: float = 15, hours: OpeningHours | None = None) -> bool:
    return (hours or default_opening_hours()).closing_soon(region, at, minutes)


def availability(region: str | Region, at: datetime, hours: OpeningHours | None = None) -> Availability:
    return (hours or default_opening_hours()).availability(region, at)
