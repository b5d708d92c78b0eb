"""Live ingestion: poll feeds, fetch their pages, and write Parquet while the job runs.

Local runs (no --runner): Beam's FnApiRunner, one in-process worker. Every step after the
tick source is fused into its stage (no GroupByKey, no stateful DoFn, no side input: state
lives in the embedded store instead), so the runner processes each tick as one bundle in real
time, and the writer's `finish_bundle` puts that tick's files in place.

Dataflow (--runner DataflowRunner --streaming): the same steps, with state in Beam instead
of the store (feed state per feed key, dedup per text key) and Beam's PeriodicImpulse.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
import signal
import sys
import time
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    StandardOptions,
)

from pipeline.dataflow import dry_run_summary
from pipeline.graph import ProcessDocuments, fn_api_runner
from pipeline.options import NewsPipelineOptions
from pipeline.output_state import mark_complete, recover, remove_marker
from pipeline.progress import ProgressReporter
from pipeline.summary import SUMMARY_FILE, build_summary, counter_totals, format_summary
from pipeline.version import PIPELINE_VERSION
from transforms.dedup import DropKnownContent, DropRepeatedContentInState
from transforms.feeds import FeedSettings, PollFeeds, PollFeedsInBeamState
from transforms.fetch import FetchPages
from transforms.records import DEAD_LETTER
from transforms.state.store import StateStore, state_path
from transforms.ticks import LiveTicks, request_stop, reset_stop, stop_requested
from transforms.web.feed_list import read_feed_list
from transforms.web.http_client import FetchSettings
from transforms.web.schedule import ScheduleSettings
from transforms.write import (
    WriteArticlesEachBundle,
    WriteDeadLettersEachBundle,
    write_file_atomically,
)

_LOG = logging.getLogger(__name__)
# Seconds between two looks for due feeds on Dataflow (each feed keeps its own schedule).
DATAFLOW_TICK_SECONDS = 60.0
# Ticks of one local pipeline run (see run_local_rounds).
LOCAL_TICKS_PER_ROUND = 200


def fetch_settings_from(options: NewsPipelineOptions) -> FetchSettings:
    networks = (options.allowed_networks or "").split(",")
    return FetchSettings.from_pipeline_options(
        options, allowed_networks=tuple(network.strip() for network in networks if network)
    )


def feed_settings_from(
    options: NewsPipelineOptions, local_state: str | None, run_scope: str = "run"
) -> FeedSettings:
    return FeedSettings(
        feeds=options.feeds,
        state_path=local_state,
        archive=options.archive,
        fetch=fetch_settings_from(options),
        schedule=ScheduleSettings(
            base_interval=options.poll_interval,
            min_interval=options.min_poll_interval,
            max_interval=options.max_poll_interval,
        ),
        max_entries=options.max_entries_per_poll,
        seen_entries_days=options.seen_entries_days,
        fetch_concurrency=options.fetch_concurrency,
        every_tick=options.once,
        run_scope=run_scope,
    )


def live_summary(store: StateStore, run_info: dict[str, Any], counters: dict[str, int]):
    """The run summary of a live run: the batch summary's balance and counts, plus every
    feed's state and running totals (polls, 304s, new entries, rows, failures)."""
    summary = build_summary(counters, run_info)
    feed_counters = store.counters()
    summary["feeds"] = [
        {
            "url": feed.url,
            "title": feed.title,
            "state": feed.last_status or "never_polled",
            "failing_since": feed.failing_since.isoformat() if feed.failing_since else None,
            "last_error": feed.last_error,
            "last_polled_at": feed.last_polled_at.isoformat() if feed.last_polled_at else None,
            "next_poll_at": feed.next_poll_at.isoformat() if feed.next_poll_at else None,
            **feed_counters.get(feed.url, {}),
        }
        for feed in store.feeds()
    ]
    summary["feeds_by_state"] = {}
    for feed in summary["feeds"]:
        state = feed["state"]
        summary["feeds_by_state"][state] = summary["feeds_by_state"].get(state, 0) + 1
    return summary


def refresh_live_summary(
    output: str, local_state: str, run_scope: str, run_info: dict[str, Any], written: dict
) -> None:
    """After each bundle's files: the run's totals into the store, `_run_summary.json` anew."""
    store = StateStore(local_state)
    try:
        store.add_counters(
            run_scope,
            {
                "write.articles.rows": written.get("rows", 0),
                "write.dead_letters.rows": written.get("dead_letters", 0),
            },
        )
        for feed_url, rows in written.get("rows_by_feed", {}).items():
            if feed_url:
                store.add_counters(feed_url, {"rows": rows})
        counters = store.counters(run_scope).get(run_scope, {})
        summary = live_summary(store, {**run_info, "running": True}, counters)
    finally:
        store.close()
    write_file_atomically(
        output, SUMMARY_FILE, json.dumps(summary, indent=2, default=str).encode() + b"\n"
    )


class PollRoundStatus:
    """After each tick: one status line if feeds were polled since the last line (figures of
    the round: polls, 304s, new entries, failures, rows, dead letters), from the store."""

    def __init__(self, local_state: str, run_scope: str, feeds_total: int, quiet: bool):
        self.local_state = local_state
        self.run_scope = run_scope
        self.feeds_total = feeds_total
        self.reporter = ProgressReporter(quiet=quiet)
        self.last: dict[str, int] = {}
        self.rounds = 0

    def __call__(self) -> None:
        store = StateStore(self.local_state)
        try:
            store.settle_pending()  # the round's files are in place
            totals = store.counters(self.run_scope).get(self.run_scope, {})
            upcoming = [feed.next_poll_at for feed in store.feeds() if feed.next_poll_at]
        finally:
            store.close()
        if totals.get("polls", 0) == self.last.get("polls", 0):
            return
        delta = {name: value - self.last.get(name, 0) for name, value in totals.items()}
        self.last, self.rounds = totals, self.rounds + 1
        next_in = None
        if upcoming:
            now = dt.datetime.now(dt.timezone.utc)
            next_in = max(0.0, (min(upcoming) - now).total_seconds())
        self.reporter.poll_round(
            self.rounds,
            delta.get("polls", 0),
            delta.get("not_modified", 0),
            delta.get("new_entries", 0),
            delta.get("failures", 0),
            delta.get("write.articles.rows", 0),
            delta.get("write.dead_letters.rows", 0),
            feeds_total=self.feeds_total,
            next_poll_in_seconds=next_in,
        )


def build_live_pipeline(
    pipeline: beam.Pipeline,
    options: NewsPipelineOptions,
    ingested_at: dt.datetime,
    local_state: str | None,
    run_scope: str,
    run_info: dict[str, Any],
    duration: float | None = None,
    max_ticks: int | None = None,
) -> None:
    """The live graph; `local_state` None means Dataflow (state in Beam). Locally it ticks
    for `duration` seconds (None: until stopped), at most `max_ticks` times."""
    settings = feed_settings_from(options, local_state, run_scope)
    if local_state is not None:
        if options.once:
            ticks = pipeline | "OneTick" >> beam.Create([0])
        else:
            status = PollRoundStatus(
                local_state, run_scope, len(read_feed_list(options.feeds)), options.quiet
            )
            ticks = pipeline | "Ticks" >> LiveTicks(
                options.tick_seconds, duration, max_ticks, after_round=status
            )
        polled = ticks | "PollFeeds" >> PollFeeds(settings)
    else:
        from apache_beam.transforms.periodicsequence import PeriodicImpulse

        ticks = pipeline | "Ticks" >> PeriodicImpulse(
            fire_interval=max(options.tick_seconds, DATAFLOW_TICK_SECONDS)
        )
        polled = ticks | "PollFeeds" >> PollFeedsInBeamState(settings)
    entries = polled.main
    if local_state is None:
        # Spread one poll's entries over the workers before the slow page fetches.
        entries = entries | "SpreadEntries" >> beam.Reshuffle()
    fetched = entries | "FetchPages" >> FetchPages(
        settings.fetch, options.archive, options.fetch_concurrency, local_state, run_scope
    )
    processed = fetched["main"] | "ProcessDocuments" >> ProcessDocuments(
        options, ingested_at, streaming=True, state_path=local_state, separate_dead_letters=True
    )
    if local_state is not None:
        articles = processed["articles"] | "DropKnownContent" >> DropKnownContent(
            local_state, run_scope
        )
    else:
        articles = processed["articles"] | "DropRepeatedContent" >> DropRepeatedContentInState()
    refresh = None
    if local_state is not None:
        refresh = functools.partial(
            refresh_live_summary, options.output, local_state, run_scope, run_info
        )
    articles | "WriteArticles" >> WriteArticlesEachBundle(options.output, refresh)
    # One writer per step's dead letters: a Flatten would split the local runner's stage.
    dead_letter_outputs = {
        "Poll": polled[DEAD_LETTER],
        "Fetch": fetched[DEAD_LETTER],
        **{
            name.split(".")[-1].capitalize(): pcoll
            for name, pcoll in processed.items()
            if name.startswith(DEAD_LETTER)
        },
    }
    for step, dead_letters in dead_letter_outputs.items():
        dead_letters | f"Write{step}DeadLetters" >> WriteDeadLettersEachBundle(
            options.output, refresh
        )


def _install_stop_handlers():
    """Ctrl-C and SIGTERM end the run cleanly at the next tick; a second Ctrl-C aborts."""
    previous = {}

    def handler(signum, _frame):
        if signum == signal.SIGINT and getattr(handler, "asked", False):
            raise KeyboardInterrupt
        handler.asked = True
        print("Stopping after the current poll round (Ctrl-C again to abort)...", file=sys.stderr)
        request_stop()

    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not possible off the main thread (a test's thread): then no handler.
        with contextlib.suppress(ValueError):
            previous[signum] = signal.signal(signum, handler)
    return previous


def run_live(options: PipelineOptions) -> dict:
    """Run live ingestion until --once, --duration, Ctrl-C or SIGTERM; returns the summary."""
    news = options.view_as(NewsPipelineOptions)
    standard = options.view_as(StandardOptions)
    ingested_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    run_scope = f"run:{ingested_at.isoformat()}"
    is_local = not standard.runner
    local_state = state_path(news.output, news.state_dir) if is_local else None
    if is_local:
        # One in-process worker: the stop request and the store are shared in memory.
        options.view_as(DirectOptions).direct_num_workers = 1
        options.view_as(DirectOptions).direct_running_mode = "in_memory"
        read_feed_list(news.feeds)  # a bad feed list stops here, with its line numbers
    run_info = {
        "mode": "live",
        "pipeline_version": PIPELINE_VERSION,
        "runner": standard.runner or "FnApiRunner",
        "ingested_at": ingested_at.isoformat(),
        "feeds_list": news.feeds,
        "output": news.output,
        "archive": news.archive,
        "state": local_state,
    }
    if not is_local:
        pipeline = beam.Pipeline(options=options)
        build_live_pipeline(pipeline, news, ingested_at, None, run_scope, run_info)
        result = pipeline.run()
        result.wait_until_finish()
        try:
            return build_summary(counter_totals(result), run_info)
        except NotImplementedError:
            return dry_run_summary(result, standard.runner)  # the job it built, described
    counters = run_local_rounds(options, news, ingested_at, local_state, run_scope, run_info)
    store = StateStore(local_state)
    try:
        summary = live_summary(store, {**run_info, "running": False}, counters)
    finally:
        store.close()
    path = FileSystems.join(news.output, SUMMARY_FILE)
    write_file_atomically(
        news.output, SUMMARY_FILE, json.dumps(summary, indent=2, default=str).encode() + b"\n"
    )
    if summary["balanced"]:
        mark_complete(news.output, summary)  # a clean stop leaves a consistent dataset
    print(format_summary(summary, path), file=sys.stderr)
    print(format_feed_states(summary), file=sys.stderr)
    return summary


def index_output_texts(store: StateStore, output: str) -> int:
    """Bring the dedup index up to date with the Parquet the output already holds (written by
    batch runs, or by a live run whose store was lost), so that live ingestion never writes
    a text again. Each file is read once, three of its columns only."""
    import pyarrow.parquet as pq

    from pipeline.output_state import data_files

    articles, _dead = data_files(output)
    new = 0
    for path in store.unindexed_files(articles):
        with FileSystems.open(path) as handle:
            table = pq.read_table(handle, columns=["content_sha256", "doc_id", "url"])
        now = dt.datetime.now(dt.timezone.utc)
        columns = [table.column(name).to_pylist() for name in ("content_sha256", "doc_id", "url")]
        new += store.claim_contents(
            (sha, doc_id, url, now) for sha, doc_id, url in zip(*columns, strict=True)
        )
        store.mark_indexed([path])
    return new


def run_local_rounds(
    options: PipelineOptions,
    news: NewsPipelineOptions,
    ingested_at: dt.datetime,
    local_state: str,
    run_scope: str,
    run_info: dict[str, Any],
) -> dict[str, int]:
    """Run the local live graph in rounds of at most LOCAL_TICKS_PER_ROUND ticks until
    --once, --duration or a stop request; the counters of all rounds added up.

    The FnApiRunner keeps every bundle's metrics until the pipeline ends (a tick is a
    bundle), so an unbounded run is a series of bounded ones; state lives in the store, so
    a round starts where the last one stopped.
    """
    # While a live job runs its output is not complete; what a killed run left is cleaned.
    remove_marker(news.output)
    recover(news.output)
    store = StateStore(local_state)
    try:
        refetch = store.recover_pending()
        if refetch:
            _LOG.warning("a killed run left entries unwritten; polling again: %s", refetch)
        index_output_texts(store, news.output)
    finally:
        store.close()
    deadline = None if news.duration is None else time.monotonic() + news.duration
    totals: dict[str, int] = {}
    reset_stop()
    previous = _install_stop_handlers()
    try:
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            pipeline = beam.Pipeline(runner=fn_api_runner(options), options=options)
            build_live_pipeline(
                pipeline,
                news,
                ingested_at,
                local_state,
                run_scope,
                run_info,
                duration=remaining,
                max_ticks=LOCAL_TICKS_PER_ROUND,
            )
            result = pipeline.run()
            result.wait_until_finish()
            for name, value in counter_totals(result).items():
                totals[name] = totals.get(name, 0) + value
            settle = StateStore(local_state)
            try:
                settle.settle_pending()  # the pipeline ended: every round's files are in
            finally:
                settle.close()
            if news.once or stop_requested():
                break
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        reset_stop()
    return totals


def format_feed_states(summary: dict) -> str:
    lines = [f"Feeds by state: {summary.get('feeds_by_state', {})}"]
    for feed in summary.get("feeds", []):
        if feed["state"] == "failing":
            lines.append(
                f"  failing since {feed['failing_since']}: {feed['url']} ({feed['last_error']})"
            )
    return "\n".join(lines)
