"""Fetch: feed entries -> the raw article pages they link to, politely and safely.

Pages of one bundle are fetched concurrently (a thread pool; per-host limits, robots.txt and
the address guard are the fetcher's, transforms/web/). A page that cannot be fetched becomes
a dead letter with its reason, unless the feed carried the entry's full content: then that
content becomes the document (`text_source` = feed_content). Every page is archived as WARC.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.utils.windowed_value import WindowedValue

from schemas import TEXT_FROM_FEED_CONTENT, TEXT_FROM_PAGE
from transforms.records import (
    DEAD_LETTER,
    FORMAT_HTML,
    FeedEntry,
    PipelineError,
    RawDocument,
    dead_letter,
)

STAGE = "fetch"
NAMESPACE = "news"
# Content types taken as pages; anything else is not an article page.
PAGE_CONTENT_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def page_content_type(response) -> str:
    return (response.header("content-type") or "").split(";")[0].strip().lower()


def document_from_feed_content(entry: FeedEntry, fetched_at) -> RawDocument:
    """The entry's own full content as the document of a page that could not be had."""
    return RawDocument(
        source_uri=entry.link or f"{entry.feed_url}#entry={entry.entry_id}",
        payload=entry.content.encode("utf-8"),
        input_format=FORMAT_HTML,
        url=entry.link,
        detected_by="feed",
        fetched_at=fetched_at,
        entry=entry,
        text_source=TEXT_FROM_FEED_CONTENT,
    )


def fetch_entry_page(entry: FeedEntry, fetcher) -> tuple[RawDocument | None, object, dict | None]:
    """(document, response or None, dead letter or None) for one entry; never raises for a
    bad page. The response is returned for the archive."""
    failure: PipelineError | None = None
    response = None
    if not entry.link:
        failure = PipelineError("no_link", "the entry has no link")
    else:
        try:
            response = fetcher.fetch(entry.link)
        except PipelineError as error:
            failure = error
        else:
            content_type = page_content_type(response)
            if content_type not in PAGE_CONTENT_TYPES:
                failure = PipelineError(
                    f"unsupported_content_type:{content_type}",
                    f"{entry.link} is {content_type}, not a page",
                )
            else:
                document = RawDocument(
                    source_uri=response.url,
                    payload=response.body,
                    input_format=FORMAT_HTML,
                    url=response.url,
                    detected_by="fetch",
                    fetched_at=response.fetched_at,
                    entry=entry,
                    text_source=TEXT_FROM_PAGE,
                )
                return document, response, None
    if entry.content:
        Metrics.counter(NAMESPACE, "fetch.feed_content_instead").inc()
        return document_from_feed_content(entry, _utc_now()), response, None
    source_uri = entry.link or f"{entry.feed_url}#entry={entry.entry_id}"
    record = dead_letter(source_uri, STAGE, failure)
    record["feed_url"] = entry.feed_url
    return None, response, record


class _FetchPagesFn(beam.DoFn):
    """FeedEntry -> RawDocument; the bundle's pages are fetched concurrently and emitted as
    they arrive, the last ones when the bundle finishes."""

    def __init__(self, fetch_settings, archive_dir, concurrency, state_path, run_scope):
        self.fetch_settings = fetch_settings
        self.archive_dir = archive_dir
        self.concurrency = concurrency
        self.state_path = state_path
        self.run_scope = run_scope

    def setup(self):
        from transforms.archive import archive_writer_for
        from transforms.web.politeness import PoliteFetcher

        self.fetcher = PoliteFetcher(self.fetch_settings)
        self.pool = concurrent.futures.ThreadPoolExecutor(self.concurrency)
        self.archive = archive_writer_for(self.archive_dir, "pages")
        self.store = None
        if self.state_path:
            from transforms.state.store import StateStore

            self.store = StateStore(self.state_path)

    def teardown(self):
        pool = getattr(self, "pool", None)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
            self.fetcher.close()
            if self.store is not None:
                self.store.close()

    def start_bundle(self):
        # (fetch, the entry's timestamp and window): what finish_bundle emits them with.
        self.pending: list[tuple[concurrent.futures.Future, object, object]] = []
        # Per feed: pages fetched, pages that failed, feed content used instead.
        self.per_feed: dict[str, dict[str, int]] = {}

    def process(
        self,
        entry: FeedEntry,
        timestamp=beam.DoFn.TimestampParam,
        window=beam.DoFn.WindowParam,
    ):
        future = self.pool.submit(fetch_entry_page, entry, self.fetcher)
        self.pending.append((future, timestamp, window))
        # One look per future: a page finishing between two looks would be in neither list.
        done, waiting = [], []
        for item in self.pending:
            (done if item[0].done() else waiting).append(item)
        self.pending = waiting
        # Backpressure: pages wait in memory only while the steps after this one catch up.
        while len(self.pending) >= 2 * self.concurrency:
            done.append(self.pending.pop(0))
        for future, _timestamp, _window in done:
            yield from self._outputs(future.result())

    def finish_bundle(self):
        for future, timestamp, window in self.pending:
            for output in self._outputs(future.result()):
                if isinstance(output, beam.pvalue.TaggedOutput):
                    yield beam.pvalue.TaggedOutput(
                        output.tag, WindowedValue(output.value, timestamp, [window])
                    )
                else:
                    yield WindowedValue(output, timestamp, [window])
        self.pending = []
        if self.archive is not None:
            self.archive.flush()
        if self.store is not None:
            for feed_url, counts in self.per_feed.items():
                self.store.add_counters(feed_url, counts)

    def _outputs(self, result):
        document, response, failure = result
        entry = document.entry if document is not None else None
        feed_url = entry.feed_url if entry is not None else (failure or {}).get("feed_url")
        if feed_url:
            counts = self.per_feed.setdefault(feed_url, {})
            outcome = "page_failures" if failure else f"{document.text_source}_documents"
            for name in ("pages_fetched" if response is not None else None, outcome):
                if name:
                    counts[name] = counts.get(name, 0) + 1
        if self.archive is not None:
            if response is not None:
                self.archive.add_response_of(response, entry=document and document.entry)
            if document is not None and document.text_source == TEXT_FROM_FEED_CONTENT:
                self.archive.add_feed_content_of(document)
        if failure is not None:
            Metrics.counter(NAMESPACE, f"dead_letter.{STAGE}").inc()
            Metrics.counter(NAMESPACE, f"dead_letter.{STAGE}.{failure['error_type']}").inc()
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, failure)
        else:
            Metrics.counter(NAMESPACE, f"fetch.{document.text_source}").inc()
            yield document


class FetchPages(beam.PTransform):
    """FeedEntry -> RawDocument (the page, or the feed's own content when the page fails).

    Outputs: `main` and `dead_letter`.
    """

    def __init__(
        self,
        fetch_settings,
        archive_dir: str | None = None,
        concurrency: int = 16,
        state_path: str | None = None,
        run_scope: str = "run",
    ):
        super().__init__()
        self.fetch_settings = fetch_settings
        self.archive_dir = archive_dir
        self.concurrency = concurrency
        # Local runs count pages per feed in the state store (for the summary and report).
        self.state_path = state_path
        self.run_scope = run_scope

    def expand(self, entries):
        fetch = _FetchPagesFn(
            self.fetch_settings,
            self.archive_dir,
            self.concurrency,
            self.state_path,
            self.run_scope,
        )
        return entries | "FetchPage" >> beam.ParDo(fetch).with_outputs(DEAD_LETTER, main="main")
