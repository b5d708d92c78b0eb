"""WARC: the live archive writer, and any crawler's WARC read back as documents."""

from __future__ import annotations

import collections
import datetime as dt
import gzip
import io
import json
import pathlib
import random
import zlib

import brotli
import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from tests.helpers import READABILITY, needs_shared
from tests.test_end_to_end import query, run_pipeline
from transforms.documents.warc import (
    PAIRING_WINDOW,
    WarcArchiveWriter,
    iter_warc_documents,
    parse_warc_date,
    warc_date,
)
from transforms.extract import extract_article
from transforms.read import iter_file_documents
from transforms.records import FeedEntry, RawDocument

MAX_BYTES = 1024 * 1024
FETCHED_AT = dt.datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=dt.timezone.utc)


def _page(title: str, words: int = 200, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    vocabulary = ["river", "council", "budget", "vote", "harbour", "school", "winter", "road"]
    sentences = " ".join(
        f"The {rng.choice(vocabulary)} {rng.choice(vocabulary)} number {rng.randrange(10**6)}."
        for _ in range(words // 5)
    )
    return (
        f"<!doctype html><html><head><title>{title}</title></head>"
        f"<body><article><h1>{title}</h1><p>{sentences}</p></article></body></html>"
    ).encode()


def _entry(number: int, **overrides) -> FeedEntry:
    values = {
        "feed_url": "https://news.example/feed.xml",
        "entry_id": f"tag:news.example,2026:{number}",
        "link": f"https://news.example/story/{number}",
        "feed_title": "Example News",
        "title": f"Story {number}",
        "author": "Jane Doe",
        "published_at": dt.datetime(2026, 3, 4, 1, 2, 3, tzinfo=dt.timezone.utc),
        "tags": ["local", "politics"],
        "summary": f"Summary of story {number}.",
    }
    return FeedEntry(**{**values, **overrides})


def _read(data: bytes, **kwargs) -> tuple[list[RawDocument], list[dict], collections.Counter]:
    counts = collections.Counter()
    items = list(iter_warc_documents(io.BytesIO(data), "mem://x.warc", MAX_BYTES, counts, **kwargs))
    documents = [item for item in items if isinstance(item, RawDocument)]
    dead = [item for item in items if not isinstance(item, RawDocument)]
    return documents, dead, counts


def _read_file(path: pathlib.Path) -> tuple[list[RawDocument], list[dict]]:
    items = list(iter_file_documents(str(path), MAX_BYTES))
    documents = [item for item in items if isinstance(item, RawDocument)]
    return documents, [item for item in items if not isinstance(item, RawDocument)]


# ------------------------------------------------------------------------------------------
# Writer -> reader


def test_warc_date_keeps_microseconds_and_reads_second_precision_dates():
    assert warc_date(FETCHED_AT) == "2026-03-04T05:06:07.123456Z"
    assert parse_warc_date(warc_date(FETCHED_AT)) == FETCHED_AT
    assert parse_warc_date("2024-01-02T03:04:05Z") == dt.datetime(
        2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc
    )
    assert parse_warc_date("not a date") is None


def test_writer_round_trip_gives_the_same_bytes_url_time_and_entry(tmp_path):
    writer = WarcArchiveWriter(str(tmp_path / "archive"), prefix="live")
    page = _page("Council votes", seed=1)
    wire_headers = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Encoding", "gzip"),
        ("Transfer-Encoding", "chunked"),
        ("Content-Length", "123"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    ]
    entry = _entry(1)
    feed_xml = b"<?xml version='1.0'?><rss><channel><title>Example</title></channel></rss>"
    writer.add_response(
        "https://news.example/feed.xml",
        200,
        "OK",
        {"Content-Type": "application/rss+xml"},
        feed_xml,
        FETCHED_AT,
    )
    page_id = writer.add_response(
        entry.link, 200, "OK", wire_headers, page, FETCHED_AT, ("192.0.2.7", 443), entry=entry
    )
    feed_entry = _entry(2, content="<p>Full text from the feed, caf\u00e9.</p>", author=None)
    later = FETCHED_AT + dt.timedelta(seconds=1)
    writer.add_feed_content(feed_entry, later)
    assert writer.record_count == 5
    path = writer.flush(now=dt.datetime(2026, 3, 4, 23, 59, tzinfo=dt.timezone.utc))
    assert writer.record_count == 0 and writer.flush() is None

    relative = pathlib.Path(path).relative_to(tmp_path / "archive")
    assert relative.parts[:3] == ("2026", "03", "04")
    assert relative.name.startswith("live-20260304T235900") and relative.name.endswith(".warc.gz")
    assert [p.name for p in (tmp_path / "archive").rglob("*")] == [
        "2026",
        "03",
        "04",
        relative.name,
    ]

    with open(path, "rb") as stream:
        raw = {
            record.rec_headers.get_header("WARC-Record-ID"): record
            for record in ArchiveIterator(stream)
            if record.rec_type == "response"
            and "story" in record.rec_headers.get_header("WARC-Target-URI")
        }
        stored = raw[page_id]
        assert stored.rec_headers.get_header("WARC-IP-Address") == "192.0.2.7"
        headers = dict(stored.http_headers.headers)
        assert "Content-Encoding" not in headers and "Transfer-Encoding" not in headers
        assert headers["Content-Length"] == str(len(page))
        cookies = [value for name, value in stored.http_headers.headers if name == "Set-Cookie"]
        assert cookies == ["a=1", "b=2"]

    documents, dead = _read_file(pathlib.Path(path))
    assert dead == []
    first, second = documents
    assert (first.payload, first.url, first.fetched_at) == (page, entry.link, FETCHED_AT)
    assert first.entry == entry and first.text_source == "page" and first.read_fixes == []
    assert second.payload == feed_entry.content.encode("utf-8")
    assert (second.url, second.fetched_at) == (feed_entry.link, later)
    assert second.entry == feed_entry and second.text_source == "feed_content"

    with gzip.open(path) as stream:
        _, _, counts = _read(stream.read())
    assert counts["read.warc_records_skipped.feed"] == 1
    assert counts["read.warc_records_skipped.warcinfo"] == 1
    assert counts["read.warc_records_skipped.metadata"] == 2
    assert counts["read.warc_entries_from_metadata"] == 2


def test_flushes_make_separate_files_and_feed_content_needs_content(tmp_path):
    writer = WarcArchiveWriter(str(tmp_path))
    with pytest.raises(ValueError):
        writer.add_feed_content(_entry(1), FETCHED_AT)
    paths = set()
    for number in range(2):
        writer.add_response(f"https://x.example/{number}", 200, "OK", {}, b"<p>x</p>", FETCHED_AT)
        paths.add(writer.flush())
    assert len(paths) == 2 and all(pathlib.Path(path).is_file() for path in paths)


# ------------------------------------------------------------------------------------------
# Third-party WARCs


def _chunked(data: bytes, size: int = 100) -> bytes:
    parts = [
        b"%x\r\n%s\r\n" % (len(data[i : i + size]), data[i : i + size])
        for i in range(0, len(data), size)
    ]
    return b"".join(parts) + b"0\r\n\r\n"


class _Crawl:
    """A WARC written the way crawlers write it (warcio, WARC/1.0, second-precision dates)."""

    def __init__(self, compress: bool = True):
        self.buffer = io.BytesIO()
        self.writer = WARCWriter(self.buffer, gzip=compress)
        self.offsets: list[int] = []

    def add(self, record) -> str:
        self.offsets.append(self.buffer.tell())
        self.writer.write_record(record)
        return record.rec_headers.get_header("WARC-Record-ID")

    def response(self, url, body, status="200 OK", headers=(), warc_headers=None) -> str:
        http_headers = StatusAndHeaders(status, list(headers), protocol="HTTP/1.1")
        return self.add(
            self.writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=http_headers,
                warc_headers_dict={"WARC-Date": "2024-05-06T07:08:09Z", **(warc_headers or {})},
            )
        )

    def html(self, url, body, headers=(), warc_headers=None) -> str:
        return self.response(
            url, body, headers=[("Content-Type", "text/html"), *headers], warc_headers=warc_headers
        )

    def request(self, url) -> str:
        http_headers = StatusAndHeaders(
            f"GET {url} HTTP/1.1", [("Host", "x")], is_http_request=True
        )
        return self.add(self.writer.create_warc_record(url, "request", http_headers=http_headers))

    def metadata(self, url, payload: bytes, content_type: str, refers_to: str | None) -> str:
        headers = {"WARC-Concurrent-To": refers_to} if refers_to else {}
        return self.add(
            self.writer.create_warc_record(
                url,
                "metadata",
                payload=io.BytesIO(payload),
                length=len(payload),
                warc_content_type=content_type,
                warc_headers_dict=headers,
            )
        )

    def our_metadata(self, url, entry: FeedEntry, refers_to: str) -> str:
        payload = {
            "profile": "news-pipeline/feed-entry/1",
            "text_source": "page",
            "entry": entry.to_json(),
        }
        return self.metadata(url, json.dumps(payload).encode(), "application/json", refers_to)

    def bytes(self) -> bytes:
        return self.buffer.getvalue()


def test_a_third_party_crawl_gives_its_html_pages_and_counts_the_rest():
    crawl = _Crawl()
    crawl.add(crawl.writer.create_warcinfo_record("crawl.warc.gz", {"software": "crawler"}))
    plain, chunked_gzip, brotli_page, cut_page = (_page(f"Page {n}", seed=n) for n in range(4))
    crawl.request("https://site.example/plain")
    crawl.html("https://site.example/plain", plain)
    crawl.response("https://site.example/missing", b"<html>gone</html>", "404 Not Found")
    crawl.response("https://site.example/old", b"", "301 Moved", [("Location", "/new")])
    crawl.add(
        crawl.writer.create_revisit_record(
            "https://site.example/plain",
            "sha1:AAAA",
            "https://site.example/plain",
            "2024-01-01T00:00:00Z",
        )
    )
    crawl.metadata(
        "https://site.example/plain",
        b"outlink: https://a.example/\r\n",
        "application/warc-fields",
        None,
    )
    crawl.html(
        "https://site.example/chunked",
        _chunked(gzip.compress(chunked_gzip)),
        [("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")],
    )
    crawl.html(
        "https://site.example/br", brotli.compress(brotli_page), [("Content-Encoding", "br")]
    )
    crawl.html(
        "https://site.example/deflate", zlib.compress(plain), [("Content-Encoding", "deflate")]
    )
    crawl.html(
        "https://site.example/cut",
        gzip.compress(cut_page)[:300],
        [("Content-Encoding", "gzip")],
        warc_headers={"WARC-Truncated": "length"},
    )
    crawl.html("https://site.example/zstd", b"\x28\xb5\x2f\xfd....", [("Content-Encoding", "zstd")])
    crawl.response(
        "https://site.example/logo.png",
        b"\x89PNG\r\n\x1a\n",
        headers=[("Content-Type", "image/png")],
    )
    crawl.response(
        "https://site.example/atom", b"<feed/>", headers=[("Content-Type", "application/atom+xml")]
    )
    data = crawl.bytes()
    assert data[:2] == b"\x1f\x8b"

    documents, dead, counts = _read(data)

    by_url = {document.url.rsplit("/", 1)[1]: document for document in documents}
    assert sorted(by_url) == ["br", "chunked", "cut", "deflate", "plain"]
    assert by_url["plain"].payload == plain and by_url["deflate"].payload == plain
    assert by_url["chunked"].payload == chunked_gzip
    assert by_url["br"].payload == brotli_page
    assert cut_page.startswith(by_url["cut"].payload) and len(by_url["cut"].payload) < len(cut_page)
    assert by_url["cut"].read_fixes == ["truncated"]
    assert all(by_url[name].read_fixes == [] for name in ("plain", "chunked", "br", "deflate"))
    expected_time = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    assert {document.fetched_at for document in documents} == {expected_time}
    assert all(d.entry is None and d.text_source == "document" for d in documents)
    assert all(d.input_format == "warc" for d in documents)

    (unsupported,) = dead
    assert unsupported["error_type"] == "unsupported_content_encoding:zstd"
    assert unsupported["source_uri"] == "mem://x.warc#record=12"
    assert counts == {
        "read.warc_records_skipped.warcinfo": 1,
        "read.warc_records_skipped.request": 1,
        "read.warc_records_skipped.revisit": 1,
        "read.warc_records_skipped.metadata": 1,
        "read.warc_records_skipped.not_html": 1,
        "read.warc_records_skipped.feed": 1,
        "read.warc_non_200": 2,
        "read.warc_truncated_records": 1,
    }


def test_a_warc_whose_first_record_has_a_gzip_body_is_read_not_refused_as_binary(tmp_path):
    crawl = _Crawl(compress=False)
    page = _page("First", seed=5)
    crawl.html("https://site.example/a", gzip.compress(page), [("Content-Encoding", "gzip")])
    path = tmp_path / "crawl.warc"
    path.write_bytes(crawl.bytes())
    (document,), dead = _read_file(path)
    assert dead == [] and document.payload == page


def test_metadata_pairs_after_a_request_or_before_its_response_within_the_window():
    crawl = _Crawl()
    first = crawl.html("https://news.example/story/1", _page("One", seed=1))
    crawl.request("https://news.example/story/1")
    crawl.our_metadata("https://news.example/story/1", _entry(1), first)
    # Metadata first, then its response.
    crawl.our_metadata("https://news.example/story/2", _entry(2), "<urn:uuid:second>")
    crawl.html(
        "https://news.example/story/2",
        _page("Two", seed=2),
        warc_headers={"WARC-Record-ID": "<urn:uuid:second>"},
    )
    # Metadata too far behind its response: the document has gone out without it.
    late = crawl.html("https://news.example/story/3", _page("Three", seed=3))
    for _ in range(PAIRING_WINDOW):
        crawl.request("https://news.example/other")
    crawl.our_metadata("https://news.example/story/3", _entry(3), late)

    documents, dead, counts = _read(crawl.bytes())

    assert dead == []
    entries = {document.url.rsplit("/", 1)[1]: document.entry for document in documents}
    assert entries == {"1": _entry(1), "2": _entry(2), "3": None}
    assert counts["read.warc_entries_from_metadata"] == 2


def _cut_crawl(compress: bool) -> tuple[_Crawl, list[bytes]]:
    crawl = _Crawl(compress=compress)
    pages = [_page(f"Article {n}", words=600, seed=n) for n in range(5)]
    for number, page in enumerate(pages):
        crawl.html(f"https://site.example/{number}", page)
    return crawl, pages


@pytest.mark.parametrize("compress", [True, False], ids=["warc.gz", "warc"])
def test_an_archive_cut_anywhere_in_a_record_keeps_the_records_before_and_one_dead_letter(
    tmp_path, compress
):
    crawl, pages = _cut_crawl(compress)
    data = crawl.bytes()
    start, end = crawl.offsets[3], crawl.offsets[4]
    path = tmp_path / ("crawl.warc.gz" if compress else "crawl.warc")
    # Every few bytes through record 4: WARC headers, HTTP headers, body, the end.
    cuts = [*range(start + 1, start + 400), *range(start + 400, end, 61), end - 1]
    for cut in cuts:
        path.write_bytes(data[:cut])
        documents, dead = _read_file(path)
        payloads = [document.payload for document in documents]
        where = f"cut {cut - start} bytes into record 4 of {end - start}"
        if payloads == pages[:4]:
            # Only what follows the body was cut (CRLFs, gzip trailer): nothing is lost.
            assert [d["error_type"] for d in dead] in ([], ["truncated_archive"]), where
            assert cut >= end - 20, where
            continue
        assert payloads == pages[:3], where
        assert [d["error_type"] for d in dead] == ["truncated_archive"], where
        assert dead[0]["source_uri"] == f"{path}#record=4", where


def test_an_archive_cut_between_records_loses_nothing_it_held(tmp_path):
    crawl, pages = _cut_crawl(compress=False)
    path = tmp_path / "crawl.warc"
    path.write_bytes(crawl.bytes()[: crawl.offsets[3]])
    documents, dead = _read_file(path)
    assert [document.payload for document in documents] == pages[:3] and dead == []


def test_a_wrong_content_length_mid_file_is_a_dead_letter_never_a_shortened_page():
    crawl, pages = _cut_crawl(compress=False)
    data = crawl.bytes()
    start, end = crawl.offsets[2], crawl.offsets[3]
    record = data[start:end]
    declared = int(record.split(b"Content-Length: ", 1)[1].split(b"\r\n", 1)[0])
    shorter = record.replace(
        b"Content-Length: %d" % declared, b"Content-Length: %d" % (declared // 2)
    )

    documents, dead, _ = _read(data[:start] + shorter + data[end:])

    # warcio finds the next record again after the damaged one (here: one line of HTML).
    assert [document.payload for document in documents] == [*pages[:2], *pages[3:]]
    assert [(d["error_type"], d["source_uri"]) for d in dead] == [
        ("invalid_warc_record", "mem://x.warc#record=3")
    ]


def test_a_damaged_gzip_stream_raises_after_the_documents_before_it(tmp_path):
    crawl, pages = _cut_crawl(compress=True)
    data = bytearray(crawl.bytes())
    middle = (crawl.offsets[3] + crawl.offsets[4]) // 2
    data[middle : middle + 40] = b"\x00" * 40
    documents = []
    with pytest.raises((zlib.error, gzip.BadGzipFile, EOFError)):
        for item in iter_warc_documents(
            gzip.GzipFile(fileobj=io.BytesIO(bytes(data))), "mem://x", MAX_BYTES
        ):
            documents.append(item)
    assert [document.payload for document in documents] == pages[:3]


def test_an_oversized_record_is_a_dead_letter_and_reading_goes_on():
    crawl = _Crawl()
    small, large = _page("Small", seed=1), _page("Large", words=5000, seed=2)
    crawl.html("https://site.example/large", large)
    crawl.html("https://site.example/small", small)
    counts = collections.Counter()
    items = list(iter_warc_documents(io.BytesIO(crawl.bytes()), "mem://x", len(small) + 10, counts))
    assert items[0]["error_type"] == "too_large"
    assert items[1].payload == small and len(items) == 2


def test_an_archived_document_becomes_an_article_with_feed_fields_and_its_truncation_flag():
    crawl = _Crawl()
    body = _page("", seed=9).replace(b"<title></title>", b"").replace(b"<h1></h1>", b"")
    record_id = crawl.html(
        "https://news.example/story/4", body, warc_headers={"WARC-Truncated": "time"}
    )
    crawl.our_metadata("https://news.example/story/4", _entry(4), record_id)
    (document,), _, _ = _read(crawl.bytes())

    article = extract_article(document)

    entry = _entry(4)
    assert article.fixes == ["truncated"]
    assert (article.title, article.published_at, article.date_source) == (
        entry.title,
        entry.published_at,
        "feed",
    )
    assert (article.feed_url, article.feed_title, article.entry_id) == (
        entry.feed_url,
        entry.feed_title,
        entry.entry_id,
    )
    assert (article.tags, article.summary, article.text_source) == (
        entry.tags,
        entry.summary,
        "page",
    )
    assert article.fetched_at == dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)


# ------------------------------------------------------------------------------------------
# End to end: archive -> pipeline -> Parquet


@needs_shared
def test_replaying_an_archive_gives_rows_with_fetch_time_and_feed_fields(tmp_path):
    archive = tmp_path / "archive"
    writer = WarcArchiveWriter(str(archive))
    sources = sorted(READABILITY.glob("*/source.html"))[:3]
    pages = [source.read_bytes() for source in sources]
    for number, page in enumerate(pages[:2]):
        entry = _entry(number, title=None if number == 0 else f"Story {number}")
        fetched_at = FETCHED_AT + dt.timedelta(minutes=number)
        headers = {"Content-Type": "text/html; charset=utf-8"}
        writer.add_response(entry.link, 200, "OK", headers, page, fetched_at, entry=entry)
    feed_entry = _entry(7, content=pages[2].decode("utf-8", errors="replace"))
    writer.add_feed_content(feed_entry, FETCHED_AT)
    writer.flush()
    output = tmp_path / "out"

    summary = run_pipeline(output, archive)

    assert summary["inputs"] == 3
    rows = query(
        output,
        "select entry_id, fetched_at, feed_url, feed_title, tags, summary, text_source "
        "from ARTICLES order by entry_id",
    )
    expected = [
        (
            entry.entry_id,
            fetched_at,
            entry.feed_url,
            entry.feed_title,
            entry.tags,
            entry.summary,
            text_source,
        )
        for entry, fetched_at, text_source in [
            (_entry(0), FETCHED_AT, "page"),
            (_entry(1), FETCHED_AT + dt.timedelta(minutes=1), "page"),
            (feed_entry, FETCHED_AT, "feed_content"),
        ]
    ]
    assert summary["rows"] + summary["duplicates"] == 3
    assert [row[1:] for row in rows] == [row[1:] for row in expected]
    assert [row[0] for row in rows] == [row[0] for row in expected]
