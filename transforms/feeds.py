"""Feeds: ticks -> polls of the feeds that are due -> new feed entries, with dead letters.

Local runs keep per-feed state in the embedded store (transforms/state/store.py) and run
fused with the steps after them, so each tick is one bundle that ends with its files written.
On Dataflow the same poll runs in a stateful DoFn keyed by feed (state in Beam, no shared
disk); see `PollFeedsInBeamState`.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import logging

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from transforms.records import DEAD_LETTER, FeedEntry, PipelineError, dead_letter
from transforms.state.store import FeedState, StateStore
from transforms.web.feed_list import FeedListError, read_feed_list
from transforms.web.feed_parse import entry_keys, parse_feed
from transforms.web.schedule import ScheduleSettings, update_feed_state

STAGE = "poll"
NAMESPACE = "news"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# Polling one feed: the logic shared by the store-backed and the Beam-state-backed steps


@dataclasses.dataclass
class PollOutcome:
    state: FeedState
    # (entry, its dedup keys): every entry the feed lists now, newest first.
    entries: list[tuple[FeedEntry, list[str]]]
    dead_letter: dict | None = None
    not_modified: bool = False
    response: object | None = None  # the FetchResult, for the archive


def _conditional_headers(state: FeedState) -> dict[str, str]:
    headers = {}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    return headers


def revision_key(entry: FeedEntry, keys: list[str]) -> str | None:
    """A key that changes when the feed says the entry was updated: its page is fetched again
    and, if its text changed, becomes a new row (a revision: same url, new doc_id)."""
    if entry.updated_at is None or not keys:
        return None
    return f"rev:{keys[0]}@{entry.updated_at.isoformat()}"


def poll_feed(
    state: FeedState,
    fetcher,
    now: dt.datetime,
    schedule: ScheduleSettings,
    max_entries: int,
) -> PollOutcome:
    """One conditional GET of a feed, parsed; the feed's next state. Never raises for a bad
    feed: a failure is a dead letter and a backed-off next poll."""
    url = state.url
    try:
        response = fetcher.fetch(url, headers=_conditional_headers(state), check_robots=False)
    except PipelineError as error:
        retry_after = getattr(error, "retry_after", None)
        headers = {"Retry-After": str(int(retry_after))} if retry_after else None
        new_state = update_feed_state(
            state,
            now,
            "failed",
            headers=headers,
            error=f"{error.error_type}: {error}",
            settings=schedule,
        )
        return PollOutcome(new_state, [], dead_letter(url, STAGE, error))
    headers = dict(response.headers)
    if response.status == 304:
        new_state = update_feed_state(
            state, now, "not_modified", headers=headers, settings=schedule
        )
        return PollOutcome(new_state, [], not_modified=True, response=response)
    parsed = parse_feed(
        response.body,
        feed_url=url,
        content_type=response.header("content-type"),
        content_location=response.header("content-location") or response.url,
        max_entries=max_entries,
    )
    if parsed.failed_reason:
        error = PipelineError(parsed.failed_reason, f"{url} is not a usable feed")
        new_state = update_feed_state(
            state, now, "failed", error=parsed.failed_reason, settings=schedule
        )
        return PollOutcome(
            new_state,
            [],
            dead_letter(url, STAGE, error, payload=response.body[:4096]),
            response=response,
        )
    new_state = update_feed_state(
        state,
        now,
        "ok",
        headers=headers,
        title=parsed.title,
        entry_times=parsed.entry_times(),
        ttl_minutes=parsed.ttl_minutes,
        settings=schedule,
    )
    entries = [(entry, entry_keys(entry)) for entry in parsed.entries]
    outcome = PollOutcome(new_state, entries, response=response)
    if parsed.skipped_entries:
        outcome.dead_letter = dead_letter(
            url,
            STAGE,
            f"{parsed.skipped_entries} entries beyond --max_entries_per_poll={max_entries} "
            "were not taken",
            error_type="too_many_entries",
        )
    return outcome


def count_poll_dead_letter(record: dict) -> None:
    Metrics.counter(NAMESPACE, f"dead_letter.{STAGE}").inc()
    Metrics.counter(NAMESPACE, f"dead_letter.{STAGE}.{record['error_type']}").inc()


class _PollDueFeedsWithStore(beam.DoFn):
    """tick -> new FeedEntry of every feed due (all of them with `every_tick`), state in the
    local store. Feeds are fetched concurrently; each host's politeness is the fetcher's."""

    def __init__(self, settings):
        self.settings = settings

    def setup(self):
        from transforms.archive import archive_writer_for
        from transforms.web.politeness import PoliteFetcher

        settings = self.settings
        self.store = StateStore(settings.state_path)
        self.sources = read_feed_list(settings.feeds)
        self.fetcher = PoliteFetcher(settings.fetch)
        self.archive = archive_writer_for(settings.archive, "feeds")
        self.pool = concurrent.futures.ThreadPoolExecutor(settings.fetch_concurrency)
        self.horizon = dt.timedelta(days=settings.seen_entries_days)
        self.inputs = 0

    def teardown(self):
        pool = getattr(self, "pool", None)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
            self.fetcher.close()
            self.store.close()

    def process(self, tick):
        settings = self.settings
        now = _utc_now()
        known = {state.url: state for state in self.store.feeds()}
        states = [known.get(source.url) or FeedState(url=source.url) for source in self.sources]
        due = [
            state
            for state in states
            if settings.every_tick or state.next_poll_at is None or state.next_poll_at <= now
        ]
        if not due:
            return
        futures = [
            self.pool.submit(
                poll_feed, state, self.fetcher, now, settings.schedule, settings.max_entries
            )
            for state in due
        ]
        inputs_before = self.inputs
        self.round_counts: dict[str, int] = {}
        for future in futures:
            yield from self._record(future.result(), now)
        self.store.add_counters(
            settings.run_scope, {**self.round_counts, "inputs": self.inputs - inputs_before}
        )
        Metrics.counter(NAMESPACE, "poll.rounds").inc()

    def _record(self, outcome: PollOutcome, now: dt.datetime):
        feed_url = outcome.state.url
        counts = {"polls": 1}
        if outcome.response is not None and self.archive is not None:
            self.archive.add_response_of(outcome.response)
        if outcome.not_modified:
            counts["not_modified"] = 1
        if outcome.dead_letter is not None:
            counts["failures" if not outcome.entries else "entries_skipped"] = 1
            self.inputs += 1
            Metrics.counter(NAMESPACE, "inputs").inc()
            count_poll_dead_letter(outcome.dead_letter)
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, outcome.dead_letter)
        new = 0
        for entry, keys in outcome.entries:
            entry.feed_title = entry.feed_title or outcome.state.title
            is_new = self.store.claim_entries(keys, feed_url, now, self.horizon)
            revision = revision_key(entry, keys)
            if revision is not None:
                is_new = self.store.claim_entries([revision], feed_url, now, self.horizon) or (
                    is_new
                )
            if is_new:
                self.store.mark_pending([*keys, revision], feed_url)
                new += 1
                self.inputs += 1
                Metrics.counter(NAMESPACE, "inputs").inc()
                yield entry
        counts["new_entries"] = new
        Metrics.counter(NAMESPACE, "poll.new_entries").inc(new)
        Metrics.counter(NAMESPACE, f"poll.{outcome.state.last_status or 'unknown'}").inc()
        self.store.save_feed(outcome.state)
        self.store.add_counters(feed_url, counts)
        for name, value in counts.items():
            self.round_counts[name] = self.round_counts.get(name, 0) + value

    def finish_bundle(self):
        if self.archive is not None:
            self.archive.flush()


@dataclasses.dataclass(frozen=True)
class FeedSettings:
    """Everything the poll and fetch steps need, picklable for the workers."""

    feeds: str
    state_path: str | None
    archive: str | None
    fetch: object  # transforms.web.http_client.FetchSettings
    schedule: ScheduleSettings
    max_entries: int
    seen_entries_days: float
    fetch_concurrency: int
    # --once: every feed is polled at the tick, whatever its schedule.
    every_tick: bool = False
    # Store scope of this run's totals (the live summary is refreshed from them).
    run_scope: str = "run"


class PollFeeds(beam.PTransform):
    """ticks -> FeedEntry (new entries only; dedup by guid and canonical URL across polls and
    restarts). Outputs: `main` and `dead_letter` (failed polls, with their reasons)."""

    def __init__(self, settings: FeedSettings):
        super().__init__()
        self.settings = settings

    def expand(self, ticks):
        return ticks | "PollDueFeeds" >> beam.ParDo(
            _PollDueFeedsWithStore(self.settings)
        ).with_outputs(DEAD_LETTER, main="main")


# Dataflow: the same poll with the feed's state in Beam state (workers share no disk).


class _PollFeedInBeamState(beam.DoFn):
    """(feed_url, tick) -> new FeedEntry; FeedState and the entry keys seen live in state."""

    FEED_STATE = ReadModifyWriteStateSpec("feed_state", PickleCoder())
    SEEN_KEYS = ReadModifyWriteStateSpec("seen_keys", PickleCoder())

    def __init__(self, settings: FeedSettings):
        self.settings = settings

    def setup(self):
        from transforms.archive import archive_writer_for
        from transforms.web.politeness import PoliteFetcher

        self.fetcher = PoliteFetcher(self.settings.fetch)
        self.archive = archive_writer_for(self.settings.archive, "feeds")

    def finish_bundle(self):
        if self.archive is not None:
            self.archive.flush()

    def process(
        self,
        element,
        feed_state=beam.DoFn.StateParam(FEED_STATE),  # noqa: B008
        seen_keys=beam.DoFn.StateParam(SEEN_KEYS),  # noqa: B008
    ):
        feed_url, _tick = element
        now = _utc_now()
        state = feed_state.read() or FeedState(url=feed_url)
        if state.next_poll_at is not None and state.next_poll_at > now:
            return
        settings = self.settings
        outcome = poll_feed(state, self.fetcher, now, settings.schedule, settings.max_entries)
        seen = {key: expiry for key, expiry in (seen_keys.read() or {}).items() if expiry > now}
        expiry = now + dt.timedelta(days=settings.seen_entries_days)
        if outcome.response is not None and self.archive is not None:
            self.archive.add_response_of(outcome.response)
        if outcome.dead_letter is not None:
            Metrics.counter(NAMESPACE, "inputs").inc()
            count_poll_dead_letter(outcome.dead_letter)
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, outcome.dead_letter)
        for entry, keys in outcome.entries:
            revision = revision_key(entry, keys)
            is_new = not any(key in seen for key in keys) or (
                revision is not None and revision not in seen
            )
            for key in [*keys, revision]:
                if key:
                    seen[key] = expiry
            if is_new:
                Metrics.counter(NAMESPACE, "inputs").inc()
                entry.feed_title = entry.feed_title or outcome.state.title
                yield entry
        seen_keys.write(seen)
        feed_state.write(outcome.state)


class PollFeedsInBeamState(beam.PTransform):
    """Dataflow form of PollFeeds: at each tick the feed list is read (so it can change while
    the job runs, and building the job never reads it), every feed keyed by its URL goes to
    a stateful poll. Outputs: `main` and `dead_letter`."""

    def __init__(self, settings: FeedSettings):
        super().__init__()
        self.settings = settings

    def expand(self, ticks):
        feeds = self.settings.feeds

        def every_feed(tick):
            try:
                sources = read_feed_list(feeds)
            except (OSError, FeedListError) as error:
                # Keep the job alive: a fixed list is picked up at the next tick.
                logging.getLogger(__name__).error("feed list %s unusable: %s", feeds, error)
                Metrics.counter(NAMESPACE, "poll.feed_list_errors").inc()
                return []
            return [(source.url, tick) for source in sources]

        return (
            ticks
            | "EveryFeed" >> beam.FlatMap(every_feed)
            | "PollFeedInState"
            >> beam.ParDo(_PollFeedInBeamState(self.settings)).with_outputs(
                DEAD_LETTER, main="main"
            )
        )
