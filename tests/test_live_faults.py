"""Issue 10, live half: one `--once` run over feeds whose entries hit every fault of the fault
server at once, next to healthy feeds.

Each fault ends in a retry (then a row) or a dead letter with its reason; no fetch outlives
its deadline (the run ends within a bound computed from --request_timeout); the healthy
feeds' entries all become rows; the summary balances. One pipeline run, shared by the tests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import math
import pathlib
import subprocess
import sys
import threading
import time

import duckdb
import pytest

from benchmarks.soak import article_html
from tests.fault_server import FaultServer
from tests.helpers import REPO

REQUEST_TIMEOUT = 4.0
FETCH_CONCURRENCY = 16
MAX_ENTRIES_PER_POLL = 20
HEALTHY_FEEDS = 3
HEALTHY_ENTRIES = 5
BIG_FEED_ENTRIES = 10_000
# Pipeline start-up, extraction and writing: everything that is not waiting on the network.
WORK_ALLOWANCE_SECONDS = 150.0

# Entry pages that never work, and the dead-letter reason each must end in (stage "fetch").
# Every query string is there to make each address distinct (the routes ignore it).
FAILING_PAGES = {
    # One byte every 50 ms, 30 s in all: only the total deadline stops it.
    "/slow-body?bytes=600&interval=0.05": "timeout",
    "/reset-mid-body?declared=5000&sent=100": "connection_error",
    "/500-always?for=page": "http_status:500",
    # Retry-After longer than the fetcher waits (60 s): no retry, a dead letter at once.
    "/429?ok_after=99&retry_after=120&key=page-too-long": "http_status:429",
    "/redirect-loop": "too_many_redirects",
    "/redirect-to-private?for=page": "blocked_address",
    "/redirect-to-metadata?for=page": "blocked_address",
    "/wrong-content-type": "unsupported_content_type:image/png",
    "/gzip-bomb?for=page": "decompression_bomb",
    # About 100 KB/s: the deadline comes before the size limit.
    "/endless-chunked?chunk=1024&interval=0.01": "timeout",
    # As fast as it goes: the size limit comes first.
    "/endless-chunked?chunk=65536&interval=0": "too_large",
    "/hang?for=page": "timeout",
    "/missing.html": "http_status:404",
}
# Built-in routes that fail once, then answer a tiny page: the fetch is retried and succeeds,
# and the page (three words) is then too short to be an article.
RETRIED_TINY_PAGES = ("/429?ok_after=1&retry_after=1&key=page", "/500-then-ok?fails=1&key=page")
# Article pages that fail first and work on the retry: rows.
RETRIED_ARTICLE_PAGES = {
    "/flaky/429-then-ok.html": [(429, {"Retry-After": "1"})],
    "/flaky/500-then-ok.html": [(500, {})],
    "/flaky/503-503-then-ok.html": [(503, {}), (503, {})],
}
# Feeds that never work, and their reasons (stage "poll").
FAILING_FEEDS = {
    "/500-always?for=feed": "http_status:500",
    "/hang?for=feed": "timeout",
    "/gzip-bomb?for=feed": "decompression_bomb",
    "/redirect-to-metadata?for=feed": "blocked_address",
    "/feeds/billion-laughs.xml": "unsafe_xml",
}

# Entries the run takes: every page above, the recovering feed's, the big feed's newest.
ENTRIES_TAKEN = (
    HEALTHY_FEEDS * HEALTHY_ENTRIES
    + len(FAILING_PAGES)
    + len(RETRIED_TINY_PAGES)
    + len(RETRIED_ARTICLE_PAGES)
    + 1
    + MAX_ENTRIES_PER_POLL
)


def rss(title: str, items: list[tuple[str, str, dt.datetime]], prolog: str = "") -> bytes:
    body = "".join(
        f"<item><guid isPermaLink='false'>{html.escape(guid)}</guid><title>{guid}</title>"
        f"<link>{html.escape(link)}</link>"
        f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate></item>"
        for guid, link, when in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}<rss version="2.0"><channel>'
        f"<title>{title}</title><link>http://127.0.0.1/</link>{body}</channel></rss>"
    ).encode()


def billion_laughs_feed() -> bytes:
    declarations = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    )
    when = dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc)
    feed = rss("Laughs", [("laugh", "http://127.0.0.1/laugh.html", when)])
    feed = feed.replace(b"<title>laugh</title>", b"<title>laugh</title><description>&lol9;")
    feed = feed.replace(b"</link>", b"</link></description>", 1)
    return feed.replace(b"<rss", f"<!DOCTYPE rss [{declarations}]><rss".encode(), 1)


def failing_then(body: bytes, failures: list[tuple[int, dict]]):
    """A route answering `failures` in turn, then `body` with 200."""
    lock = threading.Lock()
    calls = []

    def answer(request):
        with lock:
            calls.append(request)
            number = len(calls)
        if number <= len(failures):
            status, headers = failures[number - 1]
            return status, headers, b"not now"
        return 200, {}, body

    return answer


class FaultSite:
    """Healthy feeds, a fault feed, a feed that fails once, a 10,000-entry feed, bad feeds."""

    def __init__(self, server: FaultServer):
        self.server = server
        url = server.url
        now = dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone.utc)
        self.healthy_pages: list[str] = []
        self.feed_urls: list[str] = []
        for feed in range(HEALTHY_FEEDS):
            items = []
            for entry in range(HEALTHY_ENTRIES):
                path = f"/healthy/{feed}-{entry}.html"
                server.add(path, article_html(f"healthy-{feed}-{entry}"))
                items.append((f"healthy-{feed}-{entry}", url(path), now))
                self.healthy_pages.append(url(path))
            self._feed(f"/feeds/healthy-{feed}.xml", rss(f"Healthy {feed}", items))

        for path, failures in RETRIED_ARTICLE_PAGES.items():
            server.add(path, failing_then(article_html(path), failures))
        fault_paths = [*FAILING_PAGES, *RETRIED_TINY_PAGES, *RETRIED_ARTICLE_PAGES]
        fault_items = [(f"fault-{i}", url(path), now) for i, path in enumerate(fault_paths)]
        assert len(fault_items) <= MAX_ENTRIES_PER_POLL
        self._feed("/feeds/faults.xml", rss("Faults", fault_items))

        # A feed whose first answer is a 500: the poll is retried and its entries flow.
        server.add("/recovering/page.html", article_html("recovering"))
        recovering = rss("Recovering", [("recovering", url("/recovering/page.html"), now)])
        server.add("/feeds/recovering.xml", failing_then(recovering, [(500, {})]))
        self.feed_urls.append(url("/feeds/recovering.xml"))

        # 10,000 entries, one page route: the newest MAX_ENTRIES_PER_POLL are taken.
        server.add("/big", lambda request: (200, {}, article_html(f"big-{request.query['n']}")))
        big_items = [
            (f"big-{n}", url(f"/big?n={n}"), now - dt.timedelta(minutes=BIG_FEED_ENTRIES - n))
            for n in range(BIG_FEED_ENTRIES)
        ]
        self._feed("/feeds/big.xml", rss("Big", big_items))
        self.big_pages_taken = [
            url(f"/big?n={n}")
            for n in range(BIG_FEED_ENTRIES - MAX_ENTRIES_PER_POLL, BIG_FEED_ENTRIES)
        ]

        server.add(
            "/feeds/billion-laughs.xml",
            billion_laughs_feed(),
            200,
            {"Content-Type": "application/rss+xml"},
        )
        self.feed_urls += [url(path) for path in FAILING_FEEDS]

    def _feed(self, path: str, body: bytes) -> None:
        self.server.add(path, body, 200, {"Content-Type": "application/rss+xml"})
        self.feed_urls.append(self.server.url(path))


def fetch_rounds(pages: int) -> int:
    """Waves of page fetches one poll's pages take at FETCH_CONCURRENCY."""
    return math.ceil(pages / FETCH_CONCURRENCY)


@dataclasses.dataclass
class FaultRun:
    site: FaultSite
    output: pathlib.Path
    completed: subprocess.CompletedProcess
    seconds: float
    requests: list


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("live-faults")
    with FaultServer() as server:
        server.set_robots("User-agent: *\nAllow: /\n")
        site = FaultSite(server)
        feeds_file = tmp_path / "feeds.txt"
        feeds_file.write_text("\n".join(site.feed_urls) + "\n")
        output = tmp_path / "out"
        command = [
            sys.executable, "-m", "pipeline", "--feeds", str(feeds_file), "--output", str(output),
            "--allowed_networks", "127.0.0.0/8", "--per_host_delay", "0",
            # The server stands in for many hosts: no slot waits eat into a page's deadline.
            "--per_host_concurrency", str(FETCH_CONCURRENCY * 2),
            "--fetch_concurrency", str(FETCH_CONCURRENCY),
            "--request_timeout", str(REQUEST_TIMEOUT), "--max_page_bytes", "2000000",
            "--max_entries_per_poll", str(MAX_ENTRIES_PER_POLL), "--once",
        ]  # fmt: skip
        started = time.monotonic()
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=900, cwd=REPO, check=False
        )
        seconds = time.monotonic() - started
        assert completed.returncode == 0, completed.stderr[-4000:]
        yield FaultRun(site, output, completed, seconds, server.requests)


def rows(output, columns, where="true"):
    source = f"read_parquet('{output}/**/*.parquet', hive_partitioning=true, union_by_name=true)"
    return duckdb.connect().sql(f"SELECT {columns} FROM {source} WHERE {where}").fetchall()


def dead_letters(output):
    records = []
    for path in sorted((output / "_dead_letter").glob("*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    return records


def test_every_fault_ends_in_a_dead_letter_with_its_reason(run):
    url = run.site.server.url
    found = {
        (record["source_uri"], record["stage"]): record["error_type"]
        for record in dead_letters(run.output)
    }
    expected = {(url(path), "fetch"): reason for path, reason in FAILING_PAGES.items()}
    expected |= {(url(path), "poll"): reason for path, reason in FAILING_FEEDS.items()}
    assert {key: found.get(key) for key in expected} == expected
    # The 10,000-entry feed: the newest 20 are taken, the rest is one dead letter.
    assert found[(url("/feeds/big.xml"), "poll")] == "too_many_entries"
    # Nothing was fetched from an address the redirects pointed at.
    assert all(request.path != "/latest/meta-data/" for request in run.requests)


def test_retried_faults_end_in_rows_or_a_later_stage(run):
    url = run.site.server.url
    targets = [request.target for request in run.requests]
    for path in RETRIED_TINY_PAGES:
        assert targets.count(path) == 2, path  # one failure, one retry
    reasons = {
        record["source_uri"]: (record["stage"], record["error_type"])
        for record in dead_letters(run.output)
    }
    for path in RETRIED_TINY_PAGES:
        # Fetched after the retry: only cleaning turned the three-word page down.
        assert reasons[url(path)] == ("clean", "too_short")
    written = {uri for (uri,) in rows(run.output, "source_uri")}
    for path, failures in RETRIED_ARTICLE_PAGES.items():
        assert targets.count(path) == len(failures) + 1, path
        assert url(path) in written and url(path) not in reasons
    # The feed that answered 500 once: retried within the poll, its entry is a row.
    assert targets.count("/feeds/recovering.xml") == 2
    assert url("/recovering/page.html") in written


def test_healthy_feeds_keep_flowing_next_to_the_faults(run):
    counts = dict(rows(run.output, "source_uri, count(*)", "true GROUP BY source_uri"))
    expected = run.site.healthy_pages + run.site.big_pages_taken
    assert {uri: counts.get(uri, 0) for uri in expected} == {uri: 1 for uri in expected}
    summary = json.loads((run.output / "_run_summary.json").read_text())
    feeds = {feed["url"]: feed for feed in summary["feeds"]}
    for number in range(HEALTHY_FEEDS):
        feed = feeds[run.site.server.url(f"/feeds/healthy-{number}.xml")]
        assert (feed["state"], feed["new_entries"], feed["rows"]) == (
            "ok",
            HEALTHY_ENTRIES,
            HEALTHY_ENTRIES,
        )
    for path, reason in FAILING_FEEDS.items():
        feed = feeds[run.site.server.url(path)]
        assert feed["state"] == "failing" and reason in feed["last_error"]


def test_the_summary_balances_and_accounts_for_every_entry(run):
    summary = json.loads((run.output / "_run_summary.json").read_text())
    assert summary["balanced"], run.completed.stderr[-3000:]
    assert summary["running"] is False
    written = rows(run.output, "count(*)")[0][0]
    letters = dead_letters(run.output)
    assert (summary["rows"], summary["dead_letters"]) == (written, len(letters))
    feed_failures = len(FAILING_FEEDS) + 1  # and the big feed's too_many_entries
    assert summary["inputs"] == ENTRIES_TAKEN + feed_failures
    assert summary["duplicates"] == 0


def test_no_fetch_outlives_its_deadline(run):
    # One round: the polls (all at once), then the pages (in waves), each wave bounded by
    # the request deadline; retries and redirects happen within it.
    network_bound = REQUEST_TIMEOUT * (1 + fetch_rounds(ENTRIES_TAKEN))
    # /hang and the slow bodies would each hold the run for 30 s without the deadline.
    assert run.seconds < WORK_ALLOWANCE_SECONDS + 2 * network_bound


def test_each_slow_fault_gives_up_near_its_deadline(run):
    # Request times are monotonic; dead letters carry wall-clock times.
    wall_minus_monotonic = time.time() - time.monotonic()
    first_request = {}
    for request in run.requests:
        first_request.setdefault(request.target, request.at + wall_minus_monotonic)
    slow = [path for path, reason in FAILING_PAGES.items() if reason == "timeout"]
    failed_at = {
        record["source_uri"]: dt.datetime.fromisoformat(record["failed_at"]).timestamp()
        for record in dead_letters(run.output)
    }
    for path in slow:
        # Generous (load, thread scheduling): without the total deadline each would take
        # 15 s (the read timeout) or 30 s (the server's own limit).
        assert failed_at[run.site.server.url(path)] - first_request[path] < 3 * REQUEST_TIMEOUT
