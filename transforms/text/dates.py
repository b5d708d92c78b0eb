"""Publication dates: parse what sources give into UTC datetimes, reject the implausible."""

from __future__ import annotations

import datetime as dt
import email.utils

from dateutil import parser as dateutil_parser

# Dates before this are almost always parsing accidents for news, not real publication dates.
EARLIEST_PLAUSIBLE = dt.datetime(1990, 1, 1, tzinfo=dt.timezone.utc)
# A little slack for time zones and clock skew.
FUTURE_SLACK = dt.timedelta(days=2)
# The longest date strings sources write ("Wednesday, 22 November 2017 09:41:00 +0100 (CET)")
# are far shorter; dateutil's fuzzy search is quadratic in a long string (a 400 KB one: 2 min).
MAX_DATE_CHARS = 100


def to_utc(value: dt.datetime) -> dt.datetime:
    """Naive datetimes are taken as UTC: sources that omit the zone mostly mean it."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def is_plausible(value: dt.datetime, now: dt.datetime | None = None) -> bool:
    now = now or dt.datetime.now(dt.timezone.utc)
    return EARLIEST_PLAUSIBLE <= value <= now + FUTURE_SLACK


def parse_published(value: object, now: dt.datetime | None = None) -> dt.datetime | None:
    """A UTC datetime from an ISO 8601 / RFC 2822 / free-form date string or epoch seconds.

    Returns None for anything unparseable or implausible (before 1990, or in the future).
    """
    if value is None or value == "":
        return None
    parsed: dt.datetime | None = None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            parsed = dt.datetime.fromtimestamp(float(value), tz=dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_DATE_CHARS:
            return None
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                try:
                    parsed = dateutil_parser.parse(text)
                except (ValueError, OverflowError, TypeError, dateutil_parser.ParserError):
                    return None
    if parsed is None:
        return None
    try:
        parsed = to_utc(parsed)
    except (OverflowError, ValueError):  # "0001-01-01T00:00+01:00" has no UTC datetime
        return None
    return parsed if is_plausible(parsed, now) else None
