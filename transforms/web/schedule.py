"""When to poll each feed next: entry frequency, publisher hints, failure backoff (pure).

Modelled on Miniflux's entry-frequency scheduler (internal/model/feed.go): a feed that
publishes often is polled often, one that does not is polled at most daily; the result is
clamped to [min_interval, max_interval]. Publisher hints (<ttl>, Cache-Control: max-age,
Retry-After) are floors: never sooner than asked, yet never later than max_interval, so a
misconfigured feed (ttl of a year) is still read daily. Failures back off exponentially.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping

from transforms.state.store import FeedState
from transforms.web.http_client import parse_retry_after  # one parser of the header

OUTCOME_OK = "ok"  # 200 with a usable feed
OUTCOME_NOT_MODIFIED = "not_modified"  # 304
OUTCOME_FAILED = "failed"  # network error, HTTP error, or a body that is not a usable feed
OUTCOMES = (OUTCOME_OK, OUTCOME_NOT_MODIFIED, OUTCOME_FAILED)
# FeedState.last_status per outcome.
STATUS_BY_OUTCOME = {
    OUTCOME_OK: "ok",
    OUTCOME_NOT_MODIFIED: "not_modified",
    OUTCOME_FAILED: "failing",
}
_MAX_ERROR_CHARS = 500


@dataclasses.dataclass(frozen=True)
class ScheduleSettings:
    """Knobs of the scheduler, in seconds."""

    # Interval when the publishing frequency is unknown (first poll, undated entries).
    base_interval: float = 900
    min_interval: float = 300
    max_interval: float = 86400
    # After n consecutive failures: backoff_initial * backoff_base ** (n - 1).
    backoff_initial: float = 300
    backoff_base: float = 2.0
    # Entries published within this window count towards the frequency (Miniflux: a week).
    frequency_window: float = 7 * 86400
    # Polls per published entry (Miniflux's SCHEDULER_ENTRY_FREQUENCY_FACTOR).
    frequency_factor: float = 1.0
    # Shortest span a frequency is measured over, so one fresh entry is not "one a minute".
    min_observed_span: float = 3600

    def __post_init__(self):
        if not 0 < self.min_interval <= self.base_interval <= self.max_interval:
            raise ValueError("need 0 < min_interval <= base_interval <= max_interval")
        if self.backoff_initial <= 0 or self.backoff_base < 1:
            raise ValueError("need backoff_initial > 0 and backoff_base >= 1")
        if self.frequency_window <= 0 or self.frequency_factor <= 0:
            raise ValueError("need frequency_window > 0 and frequency_factor > 0")


DEFAULT_SETTINGS = ScheduleSettings()


def entry_frequency_interval(
    entry_times: Iterable[dt.datetime], now: dt.datetime, settings: ScheduleSettings
) -> float:
    """Seconds between polls for a feed listing entries at these times, before clamping.

    The rate is entries within the window over the span they were observed in: the whole
    window when the feed also lists older entries, else only back to its oldest entry (a
    busy feed listing 50 entries of the last 3 hours has not been quiet for the other days).
    No recent entry: max_interval.
    """
    times = [min(time, now) for time in entry_times]  # future dates count as "now"
    window_start = now - dt.timedelta(seconds=settings.frequency_window)
    recent = [time for time in times if time >= window_start]
    if not recent:
        return settings.max_interval
    if len(recent) < len(times):
        span = settings.frequency_window
    else:
        oldest = (now - min(recent)).total_seconds()
        span = max(oldest, settings.min_observed_span)
    return span / (len(recent) * settings.frequency_factor)


def failure_interval(consecutive_failures: int, settings: ScheduleSettings) -> float:
    """Backoff after this many failures in a row (1 = the first failure)."""
    exponent = max(consecutive_failures - 1, 0)
    # Capped exponent: 2 ** 1000 is a float overflow, and max_interval is reached long before.
    return settings.backoff_initial * settings.backoff_base ** min(exponent, 64)


def next_poll(
    state: FeedState,
    now: dt.datetime,
    *,
    outcome: str,
    entry_times: list[dt.datetime] | None = None,
    ttl_minutes: float | None = None,
    cache_max_age: float | None = None,
    retry_after: float | None = None,
    settings: ScheduleSettings = DEFAULT_SETTINGS,
) -> tuple[dt.datetime, float]:
    """(next_poll_at, interval_seconds) after a poll with this outcome.

    `state` is the feed's state before this poll is recorded. `entry_times`: publication
    (else update) times of the entries the feed lists; [] means none, None means unknown
    (entries without dates, or a 304 without stored times): the previous interval is kept.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    if outcome == OUTCOME_FAILED:
        interval = failure_interval(state.consecutive_failures + 1, settings)
        floors = [retry_after]
    else:
        if entry_times is not None:
            interval = entry_frequency_interval(entry_times, now, settings)
        elif state.interval_seconds and state.last_status != STATUS_BY_OUTCOME[OUTCOME_FAILED]:
            interval = state.interval_seconds
        else:
            interval = settings.base_interval
        ttl_seconds = ttl_minutes * 60 if ttl_minutes is not None else None
        floors = [ttl_seconds, cache_max_age, retry_after]
    interval = max(settings.min_interval, min(interval, settings.max_interval))
    for floor in floors:
        if floor is not None and floor > interval:
            interval = min(float(floor), settings.max_interval)
    return now + dt.timedelta(seconds=interval), float(interval)


def parse_cache_max_age(header: str | None) -> int | None:
    """Seconds of `Cache-Control: max-age=N`; None when absent, invalid or no-store/no-cache."""
    if not header:
        return None
    max_age = None
    for directive in header.split(","):
        name, _, value = directive.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-store", "no-cache"):
            return None
        if name == "max-age":
            try:
                max_age = int(value.strip().strip('"'))
            except ValueError:
                return None
    return max_age if max_age is not None and max_age >= 0 else None


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def update_feed_state(
    state: FeedState,
    now: dt.datetime,
    outcome: str,
    *,
    headers: Mapping[str, str] | None = None,
    title: str | None = None,
    error: str | None = None,
    entry_times: list[dt.datetime] | None = None,
    ttl_minutes: float | None = None,
    settings: ScheduleSettings = DEFAULT_SETTINGS,
) -> FeedState:
    """The feed's state after a poll: validators, status, failures, and the next poll.

    `headers`: the response's headers (any case), if a response came. On 200 the validators
    are the response's (absent ones cleared: they described the old body); on 304 they are
    kept unless the response renews them; on failure they are kept, so a broken body's ETag
    can never turn the next poll into a "not modified" success.
    """
    next_poll_at, interval = next_poll(
        state,
        now,
        outcome=outcome,
        entry_times=entry_times,
        ttl_minutes=ttl_minutes,
        cache_max_age=parse_cache_max_age(_header(headers, "cache-control")),
        retry_after=parse_retry_after(_header(headers, "retry-after"), now),
        settings=settings,
    )
    changes: dict = {
        "last_polled_at": now,
        "next_poll_at": next_poll_at,
        "interval_seconds": interval,
        "last_status": STATUS_BY_OUTCOME[outcome],
    }
    if outcome == OUTCOME_FAILED:
        changes["consecutive_failures"] = state.consecutive_failures + 1
        changes["failing_since"] = state.failing_since or now
        changes["last_error"] = (error or "failed")[:_MAX_ERROR_CHARS]
    else:
        changes.update(
            last_success_at=now, consecutive_failures=0, failing_since=None, last_error=None
        )
        etag, last_modified = _header(headers, "etag"), _header(headers, "last-modified")
        if outcome == OUTCOME_OK:
            changes.update(etag=etag, last_modified=last_modified)
        else:
            changes.update(
                etag=etag or state.etag, last_modified=last_modified or state.last_modified
            )
        if title:
            changes["title"] = title
    return dataclasses.replace(state, **changes)


def is_due(state: FeedState, now: dt.datetime) -> bool:
    """Whether the feed should be polled now (never polled counts as due)."""
    return state.next_poll_at is None or state.next_poll_at <= now
