"""Live ingestion end to end: `python -m pipeline --feeds ...` against a server on 127.0.0.1.

The server serves the real feeds of ../shared/corpora/feeds/real-news, rewritten so that
their entries link to real article pages of ../shared/corpora/html/readability on the same
server, and a feed the test writes whose entries hit every fault the fetcher must survive.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import signal
import subprocess
import sys
import time

import duckdb
import feedparser
import pytest

from tests.fault_server import FaultServer
from tests.helpers import READABILITY, REPO, SHARED, needs_shared

REAL_FEEDS = SHARED / "corpora" / "feeds" / "real-news" / "input"
# Real feeds are cut to their first entries: 12 feeds x 3 fits the 38 real pages.
ENTRIES_PER_FEED = 3
ENTRY_BLOCK = re.compile(rb"<(item|entry)[\s>].*?</\1>", re.DOTALL)
ARTICLE_WORDS = (
    "The city council met on Tuesday evening to debate the new budget for public transport, "
    "and members argued for hours about bus lanes, ticket prices and the cost of repairs. "
)


def article_page(title: str, paragraphs: int = 6, salt: str = "") -> bytes:
    body = "".join(
        f"<p>{ARTICLE_WORDS} Paragraph {number} of {html.escape(title)} {salt}.</p>"
        for number in range(paragraphs)
    )
    return (
        f"<html><head><title>{html.escape(title)}</title></head><body><article>"
        f"<h1>{html.escape(title)}</h1>{body}</article></body></html>"
    ).encode()


class LiveSite:
    """The test's server: pages, feeds that answer conditional GETs, and a fault feed."""

    def __init__(self, server: FaultServer):
        self.server = server
        self.bodies: dict[str, bytes] = {}
        self.page_urls: list[str] = []
        self.fault_feed_entries: dict[str, dict] = {}

    def serve_feed(self, path: str, body: bytes, content_type="application/rss+xml"):
        self.bodies[path] = body

        def answer(request):
            current = self.bodies[path]
            etag = '"' + hashlib.sha256(current).hexdigest()[:16] + '"'
            if request.header("If-None-Match") == etag:
                return 304, {"ETag": etag}, b""
            return 200, {"ETag": etag, "Content-Type": content_type}, current

        self.server.add(path, answer)

    def serve_page(self, path: str, body: bytes):
        self.bodies[path] = body
        self.server.add(path, lambda request: (200, {}, self.bodies[path]))

    def fault_feed(self) -> bytes:
        entries = "".join(
            f"<entry><id>urn:test:{key}</id><title>{key}</title>"
            f'<link href="{html.escape(entry["link"])}"/>'
            f"<updated>{entry['updated']}</updated>"
            + (
                f'<content type="html">{html.escape(entry["content"])}</content>'
                if entry.get("content")
                else ""
            )
            + "</entry>"
            for key, entry in self.fault_feed_entries.items()
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<feed xmlns="http://www.w3.org/2005/Atom"><title>Faults</title>'
            "<id>urn:test:faults</id><updated>2026-11-30T10:00:00Z</updated>"
            f"{entries}</feed>"
        ).encode()


def first_entries_only(raw: bytes, keep: int) -> bytes:
    blocks = list(ENTRY_BLOCK.finditer(raw))
    for block in reversed(blocks[keep:]):
        raw = raw[: block.start()] + raw[block.end() :]
    return raw


def rewrite_real_feed(raw: bytes, page_urls: list[str]) -> tuple[bytes, list[str]]:
    """The feed cut to its first entries, their links (and ids that are links) replaced by
    local pages."""
    raw = first_entries_only(raw, ENTRIES_PER_FEED)
    parsed = feedparser.parse(raw)
    text = raw
    used = []
    for entry in parsed.entries:
        originals = {entry.get("link"), entry.get("id")}
        originals |= {link.get("href") for link in entry.get("links", [])}
        originals = {value for value in originals if value and value.startswith("http")}
        if not originals or not page_urls:
            continue
        local = page_urls.pop()
        used.append(local)
        for original in sorted(originals, key=len, reverse=True):
            for form in (original, html.escape(original), original.replace("&", "&amp;")):
                text = text.replace(form.encode(), local.encode())
    return text, used


@pytest.fixture(scope="module")
def site():
    with FaultServer() as server:
        live = LiveSite(server)
        server.set_robots("User-agent: *\nDisallow: /private/\n")
        pages = sorted(READABILITY.glob("*/source.html"))
        for page in pages:
            path = f"/pages/{page.parent.name}.html"
            live.serve_page(path, page.read_bytes())
            live.page_urls.append(server.url(path))
        feed_paths = []
        for feed in sorted(REAL_FEEDS.iterdir()):
            rewritten, _used = rewrite_real_feed(feed.read_bytes(), live.page_urls)
            links = [entry.get("link", "") for entry in feedparser.parse(rewritten).entries]
            if not links or not all(link.startswith(server.base_url) for link in links):
                continue  # never let a test feed point outside this machine
            path = f"/feeds/{feed.name}"
            live.serve_feed(path, rewritten)
            feed_paths.append(path)
        live.serve_page("/pages/revised.html", article_page("Budget talks", salt="first"))
        long_content = article_page("Feed content only", paragraphs=8).decode()
        live.fault_feed_entries = {
            "ok": {"link": server.url("/pages/ok.html"), "updated": "2026-11-30T09:00:00Z"},
            "missing": {"link": server.url("/missing.html"), "updated": "2026-11-30T09:01:00Z"},
            "error": {"link": server.url("/500-always"), "updated": "2026-11-30T09:02:00Z"},
            "slow": {"link": server.url("/hang"), "updated": "2026-11-30T09:03:00Z"},
            "huge": {"link": server.url("/huge?bytes=5000000"), "updated": "2026-11-30T09:04Z"},
            "bomb": {"link": server.url("/gzip-bomb"), "updated": "2026-11-30T09:05:00Z"},
            "private": {
                "link": server.url("/redirect-to-private"),
                "updated": "2026-11-30T09:06:00Z",
            },
            "robots": {
                "link": server.url("/private/secret.html"),
                "updated": "2026-11-30T09:07:00Z",
            },
            "content": {
                "link": server.url("/gone.html"),
                "updated": "2026-11-30T09:08:00Z",
                "content": long_content,
            },
            "revised": {
                "link": server.url("/pages/revised.html"),
                "updated": "2026-11-30T09:09:00Z",
            },
        }
        live.serve_page("/pages/ok.html", article_page("Council meets"))
        live.serve_feed("/feeds/faults.atom", live.fault_feed(), "application/atom+xml")
        feed_paths.append("/feeds/faults.atom")
        # A feed that fails to fetch, and a page that is not a feed.
        feed_paths += ["/500-always", "/pages/ok.html"]
        live.feed_urls = [server.url(path) for path in feed_paths]
        yield live


def live_command(feeds_file, output, *extra):
    """`python -m pipeline --feeds ...` reaching only this machine's test server."""
    return [
        sys.executable,
        "-m",
        "pipeline",
        "--feeds",
        str(feeds_file),
        "--output",
        str(output),
        "--allowed_networks",
        "127.0.0.0/8",
        "--per_host_delay",
        "0",
        "--per_host_concurrency",
        "8",
        "--request_timeout",
        "4",
        *extra,
    ]


def run_live(tmp_path, feeds_file, *extra, timeout=300):
    command = live_command(
        feeds_file,
        tmp_path / "out",
        "--archive",
        str(tmp_path / "raw"),
        "--max_page_bytes",
        "2000000",
        "--max_entries_per_poll",
        "20",
        *extra,
    )
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False
    )


def rows(output, columns="*", where="true"):
    connection = duckdb.connect()
    source = f"read_parquet('{output}/**/*.parquet', hive_partitioning=true, union_by_name=true)"
    return connection.sql(f"SELECT {columns} FROM {source} WHERE {where}").fetchall()


def dead_letters(output):
    records = []
    for path in sorted((output / "_dead_letter").glob("*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    return records


@pytest.fixture(scope="module")
def first_poll(site, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("live")
    feeds_file = tmp_path / "feeds.txt"
    feeds_file.write_text("# test feeds\n" + "\n".join(site.feed_urls) + "\n")
    completed = run_live(tmp_path, feeds_file, "--once")
    assert completed.returncode == 0, completed.stderr[-4000:]
    return tmp_path, feeds_file, completed


@needs_shared
def test_every_entry_whose_page_exists_is_a_row(site, first_poll):
    tmp_path, _feeds_file, completed = first_poll
    output = tmp_path / "out"
    summary = json.loads((output / "_run_summary.json").read_text())
    assert summary["balanced"], completed.stderr[-3000:]
    requested_pages = {
        site.server.url(request.path)
        for request in site.server.requests
        if request.path.startswith("/pages/") and request.path != "/pages/ok.html"
    } | {site.server.url("/pages/ok.html")}
    # source_uri is the address fetched; url is the page's canonical URL when it names one.
    fetched = {uri for (uri,) in rows(output, "source_uri")}
    assert requested_pages <= fetched
    # Each row says where it came from.
    for feed_url, entry_id, text_source, fetched_at in rows(
        output, "feed_url, entry_id, text_source, fetched_at"
    ):
        assert feed_url in site.feed_urls
        assert text_source in ("page", "feed_content")
        assert fetched_at is not None
        assert entry_id or text_source == "page"


@needs_shared
def test_faults_end_as_dead_letters_with_reasons(site, first_poll):
    tmp_path, _feeds_file, _completed = first_poll
    output = tmp_path / "out"
    reasons = {record["source_uri"]: record["error_type"] for record in dead_letters(output)}
    url = site.server.url
    assert reasons[url("/missing.html")] == "http_status:404"
    assert reasons[url("/500-always")] in ("http_status:500",)  # the page, and the feed
    assert reasons[url("/hang")] == "timeout"
    assert reasons[url("/huge?bytes=5000000")] == "too_large"
    assert reasons[url("/gzip-bomb")] == "decompression_bomb"
    assert reasons[url("/redirect-to-private")] == "blocked_address"
    assert reasons[url("/private/secret.html")] == "disallowed_by_robots"
    assert reasons[url("/pages/ok.html")] == "not_a_feed"
    # robots.txt said no: the page was never requested.
    assert site.server.requests_for("/private/secret.html") == []


@needs_shared
def test_a_page_that_fails_still_yields_the_feeds_full_content(site, first_poll):
    tmp_path, _feeds_file, _completed = first_poll
    found = rows(
        tmp_path / "out", "text_source, text", f"source_uri = '{site.server.url('/gone.html')}'"
    )
    assert len(found) == 1
    text_source, text = found[0]
    assert text_source == "feed_content"
    assert "bus lanes" in text


@needs_shared
def test_second_poll_is_conditional_and_adds_nothing_then_a_changed_page_is_a_revision(
    site, first_poll
):
    tmp_path, feeds_file, _completed = first_poll
    output = tmp_path / "out"
    before = sorted(rows(output, "doc_id"))
    site.server.clear_log()
    completed = run_live(tmp_path, feeds_file, "--once")
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert sorted(rows(output, "doc_id")) == before
    feed_requests = [r for r in site.server.requests if r.path.startswith("/feeds/")]
    assert feed_requests and all(r.header("If-None-Match") for r in feed_requests)
    summary = json.loads((output / "_run_summary.json").read_text())
    not_modified = sum(feed.get("not_modified", 0) for feed in summary["feeds"])
    assert not_modified >= len(feed_requests)

    # The page changes and the feed says the entry was updated: a revision row.
    site.serve_page("/pages/revised.html", article_page("Budget talks", salt="second"))
    site.fault_feed_entries["revised"]["updated"] = "2026-12-01T09:09:00Z"
    site.bodies["/feeds/faults.atom"] = site.fault_feed()
    completed = run_live(tmp_path, feeds_file, "--once")
    assert completed.returncode == 0, completed.stderr[-3000:]
    revisions = rows(
        output, "doc_id, text", f"source_uri = '{site.server.url('/pages/revised.html')}'"
    )
    assert len(revisions) == 2
    assert len({doc_id for doc_id, _ in revisions}) == 2
    assert sum("second" in text for _, text in revisions) == 1


@needs_shared
def test_replaying_the_archive_gives_the_same_rows(site, first_poll, tmp_path):
    live_dir, _feeds_file, _completed = first_poll
    replay = tmp_path / "replay"
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "--input",
        str(live_dir / "raw" / "**" / "*.warc.gz"),
        "--output",
        str(replay),
    ]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=300, cwd=REPO, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    columns = "doc_id, url, text, published_at"
    assert sorted(rows(replay, columns)) == sorted(rows(live_dir / "out", columns))


@needs_shared
def test_parquet_appears_while_the_job_runs_and_sigterm_ends_it_cleanly(site, tmp_path):
    feeds_file = tmp_path / "feeds.txt"
    feeds_file.write_text(site.server.url("/feeds/faults.atom") + "\n")
    output = tmp_path / "out"
    command = live_command(feeds_file, output, "--tick_seconds", "1")
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(output.glob("date=*/**/*.parquet")):
            assert process.poll() is None, process.communicate()[1][-3000:]
            time.sleep(0.2)
        assert list(output.glob("date=*/**/*.parquet")), "no Parquet file within 120 s"
        assert process.poll() is None  # the job is still running
        running = json.loads((output / "_run_summary.json").read_text())
        assert running["running"] is True and running["rows"] >= 1
        assert not (output / "_SUCCESS").exists()
        process.send_signal(signal.SIGTERM)
        _stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr[-3000:]
    final = json.loads((output / "_run_summary.json").read_text())
    assert final["running"] is False and final["balanced"]
    assert (output / "_SUCCESS").exists()  # written at the clean stop, not while running
    assert not [name for name in os.listdir(output) if name.endswith(".inprogress")]


@needs_shared
def test_a_run_killed_mid_round_loses_no_entry_after_restart(site, tmp_path):
    """kill -9 while a round waits on a slow page: its entries were taken but not written.
    The next run takes them again, and each entry ends as exactly one row."""
    pages = {f"/kill/{n}.html": article_page(f"Story {n}", salt=f"kill{n}") for n in range(3)}
    for path, body in pages.items():
        site.serve_page(path, body)
    slow = "/slow-body?bytes=400&interval=0.02"  # about 8 s, within --request_timeout 20
    links = [site.server.url(path) for path in pages] + [site.server.url(slow)]
    items = "".join(
        f"<item><guid>kill-{n}</guid><title>Story {n}</title><link>{html.escape(link)}</link>"
        "</item>"
        for n, link in enumerate(links)
    )
    site.serve_feed(
        "/feeds/kill.rss", f'<rss version="2.0"><channel>{items}</channel></rss>'.encode()
    )
    feeds_file = tmp_path / "feeds.txt"
    feeds_file.write_text(site.server.url("/feeds/kill.rss") + "\n")
    output = tmp_path / "out"
    command = live_command(feeds_file, output, "--request_timeout", "20", "--once")
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not site.server.requests_for("/slow-body"):
            assert process.poll() is None, process.communicate()[1][-3000:]
            time.sleep(0.1)
        assert site.server.requests_for("/slow-body"), "the slow page was never requested"
        process.kill()  # kill -9 while the round's other pages are fetched, not yet written
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert not list(output.glob("date=*/**/*.parquet"))
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=300, cwd=REPO, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    fetched = [uri for (uri,) in rows(output, "source_uri")]
    assert sorted(fetched) == sorted(site.server.url(path) for path in pages)
