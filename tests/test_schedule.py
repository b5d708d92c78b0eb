"""The per-feed poll scheduler (transforms/web/schedule.py), with fixed times for each rule."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from transforms.state.store import FeedState
from transforms.web.feed_parse import parse_feed
from transforms.web.schedule import (
    ScheduleSettings,
    entry_frequency_interval,
    is_due,
    next_poll,
    parse_cache_max_age,
    parse_retry_after,
    update_feed_state,
)

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.timezone.utc)
HOUR = 3600
DAY = 86400
SETTINGS = ScheduleSettings()  # base 900, min 300, max 86400, backoff 300 * 2 ** (n - 1)
FEED = "https://news.example/rss"


def hours_ago(*hours: float) -> list[dt.datetime]:
    return [NOW - dt.timedelta(hours=value) for value in hours]


def interval_after(state=None, **kwargs) -> float:
    kwargs.setdefault("outcome", "ok")
    next_at, interval = next_poll(state or FeedState(FEED), NOW, settings=SETTINGS, **kwargs)
    assert next_at == NOW + dt.timedelta(seconds=interval)
    return interval


# --- entry frequency -------------------------------------------------------------------------


def test_busy_feed_is_polled_often_but_not_below_min():
    # 50 entries over the last 5 hours, nothing older listed: 10 an hour -> 6 minutes.
    times = hours_ago(*[i / 10 for i in range(1, 51)])
    assert entry_frequency_interval(times, NOW, SETTINGS) == pytest.approx(5 * HOUR / 50)
    assert interval_after(entry_times=times) == 360
    # 200 over the last 5 hours -> 90 s, clamped to min_interval.
    times = hours_ago(*[i / 40 for i in range(1, 201)])
    assert interval_after(entry_times=times) == SETTINGS.min_interval


def test_weekly_count_when_the_feed_lists_older_entries():
    # 14 entries in the last week and older ones listed: the window is fully observed,
    # 14 a week -> one every 12 hours (Miniflux: 7*24*60 / weekly count minutes).
    times = hours_ago(*range(1, 14 * 12, 12)) + hours_ago(400, 500, 600)
    assert len([t for t in times if t > NOW - dt.timedelta(days=7)]) == 14
    assert interval_after(entry_times=times) == 12 * HOUR


def test_frequency_factor_polls_more_often():
    times = hours_ago(*range(1, 14 * 12, 12)) + hours_ago(400)
    twice = dataclasses.replace(SETTINGS, frequency_factor=2.0)
    assert next_poll(FeedState(FEED), NOW, outcome="ok", entry_times=times, settings=twice)[1] == (
        6 * HOUR
    )


def test_one_fresh_entry_is_not_one_a_minute():
    assert interval_after(entry_times=hours_ago(1 / 60)) == SETTINGS.min_observed_span


@pytest.mark.parametrize("times", [[], hours_ago(24 * 8, 24 * 30)])
def test_no_recent_entries_polls_at_max(times):
    assert interval_after(entry_times=times) == SETTINGS.max_interval


def test_quiet_feed_is_capped_at_max():
    # 2 entries in the week, older ones listed: 3.5 days -> max (1 day).
    assert interval_after(entry_times=hours_ago(10, 100, 300)) == SETTINGS.max_interval


def test_future_dates_count_as_now():
    weekly = dataclasses.replace(SETTINGS, max_interval=7 * DAY)
    times = [NOW + dt.timedelta(days=365)] * 3 + hours_ago(300)
    _, interval = next_poll(FeedState(FEED), NOW, outcome="ok", entry_times=times, settings=weekly)
    assert interval == 7 * DAY / 3  # dropped as invalid they would give 7 days


def test_unknown_frequency_keeps_previous_interval_else_base():
    assert interval_after(entry_times=None) == SETTINGS.base_interval
    polled = FeedState(FEED, interval_seconds=7200, last_status="ok")
    assert interval_after(polled, outcome="not_modified") == 7200
    backing_off = FeedState(FEED, interval_seconds=20000, last_status="failing")
    assert interval_after(backing_off, outcome="ok") == SETTINGS.base_interval


# --- publisher hints -------------------------------------------------------------------------


def test_ttl_is_a_floor():
    busy = hours_ago(*[i / 10 for i in range(1, 51)])  # 6 minutes by frequency
    assert interval_after(entry_times=busy, ttl_minutes=60) == HOUR
    quiet = hours_ago(20, 300)  # 1 day by frequency: the ttl asks for less, ignored
    assert interval_after(entry_times=quiet, ttl_minutes=60) == DAY


def test_cache_max_age_and_retry_after_are_floors():
    busy = hours_ago(*[i / 10 for i in range(1, 51)])
    assert interval_after(entry_times=busy, cache_max_age=1800) == 1800
    assert interval_after(entry_times=busy, retry_after=2400, cache_max_age=1800) == 2400
    assert interval_after(entry_times=busy, cache_max_age=10) == 360  # below: no effect


def test_hints_are_capped_at_max_interval():
    busy = hours_ago(*[i / 10 for i in range(1, 51)])
    assert interval_after(entry_times=busy, ttl_minutes=60 * 24 * 365) == DAY
    assert interval_after(entry_times=busy, cache_max_age=10**9) == DAY


# --- failures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failures_before", "expected"),
    [(0, 300), (1, 600), (2, 1200), (5, 9600), (8, 76800), (9, DAY), (500, DAY)],
)
def test_failures_back_off_exponentially_up_to_max(failures_before, expected):
    state = FeedState(FEED, consecutive_failures=failures_before, last_status="failing")
    assert interval_after(state, outcome="failed") == expected


def test_retry_after_on_failure_is_honoured_and_capped():
    state = FeedState(FEED, consecutive_failures=0)
    assert interval_after(state, outcome="failed", retry_after=7200) == 7200
    assert interval_after(state, outcome="failed", retry_after=10 * DAY) == DAY
    # ttl and max-age describe a good response, not an error.
    assert interval_after(state, outcome="failed", ttl_minutes=600) == 300


def test_unknown_outcome_is_an_error():
    with pytest.raises(ValueError, match="outcome"):
        interval_after(outcome="maybe")


def test_settings_are_checked():
    with pytest.raises(ValueError):
        ScheduleSettings(min_interval=1000, base_interval=900)
    with pytest.raises(ValueError):
        ScheduleSettings(backoff_base=0.5)


# --- header parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("max-age=600", 600),
        ('public, MAX-AGE="120", must-revalidate', 120),
        ("private, max-age=0", 0),
        ("no-cache, max-age=600", None),
        ("no-store", None),
        ("max-age=soon", None),
        ("max-age=-5", None),
        ("public", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_cache_max_age(header, seconds):
    assert parse_cache_max_age(header) == seconds


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Tue, 10 Mar 2026 13:30:00 GMT", 5400.0),
        ("Tue, 10 Mar 2026 11:00:00 GMT", 0.0),  # in the past: now
        ("Tue, 10 Mar 2026 14:00:00 +0100", 3600.0),
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header, seconds):
    assert parse_retry_after(header, NOW) == seconds


# --- state updates ---------------------------------------------------------------------------


def test_ok_sets_validators_status_and_schedule():
    state = FeedState(
        FEED,
        etag='"old"',
        last_modified="Mon, 01 Jan 2026 00:00:00 GMT",
        consecutive_failures=3,
        failing_since=NOW - dt.timedelta(days=1),
        last_status="failing",
        last_error="timeout",
    )
    headers = {"ETag": '"new"', "Cache-Control": "max-age=1800"}
    busy = hours_ago(*[i / 10 for i in range(1, 51)])
    updated = update_feed_state(
        state, NOW, "ok", headers=headers, title="News", entry_times=busy, settings=SETTINGS
    )
    assert (updated.etag, updated.last_modified) == ('"new"', None)  # old date was the old body's
    assert updated.last_status == "ok"
    assert (updated.consecutive_failures, updated.failing_since, updated.last_error) == (
        0,
        None,
        None,
    )
    assert updated.last_polled_at == updated.last_success_at == NOW
    assert updated.interval_seconds == 1800
    assert updated.next_poll_at == NOW + dt.timedelta(seconds=1800)
    assert updated.title == "News"
    assert state.etag == '"old"'  # the input is not modified


def test_not_modified_keeps_validators_unless_renewed():
    state = FeedState(
        FEED,
        title="News",
        etag='"v1"',
        last_modified="Mon, 01 Jan 2026 00:00:00 GMT",
        interval_seconds=3600,
        last_status="ok",
    )
    updated = update_feed_state(state, NOW, "not_modified", headers={"date": "x"})
    assert (updated.etag, updated.last_modified) == (state.etag, state.last_modified)
    assert (updated.last_status, updated.interval_seconds, updated.title) == (
        "not_modified",
        3600,
        "News",
    )
    renewed = update_feed_state(state, NOW, "not_modified", headers={"etag": '"v2"'})
    assert (renewed.etag, renewed.last_modified) == ('"v2"', state.last_modified)


def test_failures_count_up_and_keep_validators_and_first_failure_time():
    state = FeedState(FEED, etag='"good"', last_success_at=NOW - dt.timedelta(days=2))
    first = update_feed_state(
        state, NOW, "failed", headers={"ETag": '"broken"'}, error="not_a_feed"
    )
    later = NOW + dt.timedelta(hours=1)
    second = update_feed_state(first, later, "failed", error="HTTP 503" + "!" * 2000)
    assert (first.consecutive_failures, second.consecutive_failures) == (1, 2)
    assert first.failing_since == second.failing_since == NOW
    assert first.etag == second.etag == '"good"'
    assert first.last_status == second.last_status == "failing"
    assert first.last_error == "not_a_feed"
    assert len(second.last_error) == 500
    assert second.last_success_at == state.last_success_at
    assert (first.interval_seconds, second.interval_seconds) == (300, 600)
    assert second.next_poll_at == later + dt.timedelta(seconds=600)
    recovered = update_feed_state(second, later, "ok", entry_times=[])
    assert (recovered.consecutive_failures, recovered.failing_since) == (0, None)
    assert recovered.interval_seconds == SETTINGS.max_interval


def test_retry_after_header_on_failure():
    updated = update_feed_state(
        FeedState(FEED), NOW, "failed", headers={"Retry-After": "3600"}, error="HTTP 429"
    )
    assert updated.interval_seconds == 3600


def test_is_due():
    assert is_due(FeedState(FEED), NOW)
    assert is_due(FeedState(FEED, next_poll_at=NOW), NOW)
    assert not is_due(FeedState(FEED, next_poll_at=NOW + dt.timedelta(seconds=1)), NOW)


def test_parsed_feed_times_feed_the_scheduler():
    items = "".join(
        f"<item><title>{i}</title><link>https://n.example/{i}</link>"
        f"<pubDate>{(NOW - dt.timedelta(hours=i)).strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate>"
        "</item>"
        for i in range(1, 25)
    )
    body = f'<rss version="2.0"><channel><title>t</title><ttl>120</ttl>{items}</channel></rss>'
    parsed = parse_feed(body.encode(), feed_url=FEED)
    interval = interval_after(entry_times=parsed.entry_times(), ttl_minutes=parsed.ttl_minutes)
    assert interval == 2 * HOUR  # 24 an day -> 1 hour, raised by the feed's own ttl
    undated = parse_feed(
        b'<rss version="2.0"><channel><item><title>x</title></item></channel></rss>', feed_url=FEED
    )
    assert undated.entry_times() is None
