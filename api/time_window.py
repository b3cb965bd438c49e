"""Which times the API accepts: `received_at` within a window around now, filter times in a fixed range.

A chat platform's `received_at` orders the queue (the longest waiting first), so a time of 1970
would put a chat before every other. It must lie at most TRIAGE_RECEIVED_AT_MAX_AGE_SECONDS
(default 24 h) in the past and at most TRIAGE_RECEIVED_AT_MAX_FUTURE_SECONDS (default 5 min, the
clocks' skew) in the future. The window is a setting of the app; request bodies are validated by
pydantic, which cannot see the app, so an app-wide dependency (`bind_window`, run before the body
is validated) puts the app's window in a context variable for the request.

Times that cannot be converted to UTC (year 1 with a positive offset, year 9999 with a negative
one) and filter times (`from`, `to`) outside FILTER_MIN..FILTER_MAX are refused too: such values
overflowed in Python or in the database driver (a 500) before.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from fastapi import Request

FILTER_MIN = datetime(2000, 1, 1, tzinfo=timezone.utc)
FILTER_MAX = datetime(2100, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class ReceivedWindow:
    max_age: timedelta = timedelta(hours=24)
    max_future: timedelta = timedelta(minutes=5)

    @classmethod
    def from_settings(cls, settings) -> ReceivedWindow:
        return cls(timedelta(seconds=settings.received_at_max_age_seconds),
                   timedelta(seconds=settings.received_at_max_future_seconds))


_window: ContextVar[ReceivedWindow] = ContextVar("received_window", default=ReceivedWindow())


async def bind_window(request: Request) -> None:
    """App-wide dependency: this request validates `received_at` against its app's window."""
    window = getattr(request.app.state, "received_window", None)
    if window is not None:
        _window.set(window)


def to_utc(value: datetime) -> datetime:
    """The time in UTC (naive: taken as UTC); ValueError when it has no UTC equivalent."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("lies outside the range of representable times") from None


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def check_received_at(value: datetime) -> datetime:
    """A platform's `received_at` (timezone-aware), in UTC, if it lies within the window."""
    utc = to_utc(value)
    window = _window.get()
    now = datetime.now(timezone.utc)
    if utc < now - window.max_age:
        raise ValueError(f"lies more than {_span(window.max_age)} in the past (accepted: from "
                         f"{_span(window.max_age)} ago to {_span(window.max_future)} ahead of the server's clock)")
    if utc > now + window.max_future:
        raise ValueError(f"lies more than {_span(window.max_future)} in the future (accepted: from "
                         f"{_span(window.max_age)} ago to {_span(window.max_future)} ahead of the server's clock)")
    return utc


def check_filter_time(value: datetime | None) -> datetime | None:
    """A `from` / `to` filter time, in UTC, within FILTER_MIN..FILTER_MAX."""
    if value is None:
        return None
    utc = to_utc(value)
    if not FILTER_MIN <= utc <= FILTER_MAX:
        raise ValueError(f"must lie between {FILTER_MIN:%Y-%m-%d} and {FILTER_MAX:%Y-%m-%d}")
    return utc
