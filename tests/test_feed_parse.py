"""Feed parsing (transforms/web/feed_parse.py) on feedparser's test feeds, real feeds and traps."""

from __future__ import annotations

import datetime as dt
import json
import re
import resource
import time

import pytest

from tests.helpers import SHARED, needs_shared
from transforms.records import FeedEntry
from transforms.web.feed_parse import (
    FAILED_EMPTY,
    FAILED_NOT_A_FEED,
    FAILED_UNSAFE_XML,
    SUMMARY_MAX_CHARS,
    canonical_entry_url,
    entry_keys,
    parse_feed,
)

FEEDS = SHARED / "corpora" / "feeds"
FEEDPARSER_TESTS = FEEDS / "feedparser-tests"
REAL_NEWS = FEEDS / "real-news"
# A feed taking longer than this is counted as slow (reported, never asserted).
SLOW_FEED_SECONDS = 1.0
# CDF (Microsoft's 1997 Channel Definition Format): feedparser 6.0 maps its fields but sets
# no version, so a CDF channel without items reads as not a feed.
NO_VERSION_EXPECTED = {"cdf"}

_HEADER_LINE = re.compile(r"^Header:\s*([\w-]+):\s*(.*?)\s*$", re.MULTILINE)


def _corpus_files() -> list:
    return sorted(
        path
        for path in FEEDPARSER_TESTS.rglob("*")
        if path.is_file() and path.name not in ("LICENSE", "SOURCE.txt")
    )


def _simulated_headers(body: bytes) -> dict[str, str]:
    head = body[:3000].decode("latin-1")
    return {name.lower(): value for name, value in _HEADER_LINE.findall(head)}


def _rss(items: str, *, prolog: str = "", channel: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}<rss version="2.0"><channel>'
        f"<title>Test feed</title>{channel}{items}</channel></rss>"
    ).encode()


def _item(index: int, *, when: dt.datetime | None = None, extra: str = "") -> str:
    date = f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate>" if when else ""
    return (
        f"<item><title>Story {index}</title><link>https://news.example/{index}</link>"
        f"<guid isPermaLink='false'>story-{index}</guid>{date}{extra}</item>"
    )


@needs_shared
def test_every_feedparser_test_feed_parses_without_raising():
    files = _corpus_files()
    assert len(files) == 312
    slow, missing_version = [], []
    for path in files:
        body = path.read_bytes()
        headers = _simulated_headers(body)
        started = time.perf_counter()
        parsed = parse_feed(
            body,
            feed_url=f"http://127.0.0.1/{path.name}",
            content_type=headers.get("content-type"),
            content_location=headers.get("content-location"),
        )
        if time.perf_counter() - started > SLOW_FEED_SECONDS:
            slow.append(path.name)
        relative = path.relative_to(FEEDPARSER_TESTS).parts
        expects_version = relative[0] == "wellformed" and relative[1] not in NO_VERSION_EXPECTED
        if expects_version and parsed.version is None:
            missing_version.append("/".join(relative))
        if parsed.failed_reason is None:
            assert parsed.version is not None or parsed.entries, path
    print(f"slow feeds (> {SLOW_FEED_SECONDS}s): {len(slow)} {slow}")
    assert missing_version == []


def _expected_items(name: str) -> tuple[dict, list[dict]]:
    raw = (REAL_NEWS / "expected" / f"{name}.json").read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # encoding.json was written in ISO-8859-1
    feed = json.loads(text)["feed"]
    return feed, feed["items"]


def _same_text(expected: str, got: str) -> bool:
    """Whitespace-insensitive; U+FFFD in the other parser's output stands for any one char."""
    expected, got = " ".join(expected.split()), " ".join(got.split())
    if "\ufffd" not in expected:
        return expected == got
    pattern = "".join("." if char == "\ufffd" else re.escape(char) for char in expected)
    return re.fullmatch(pattern, got) is not None


def _feedburner_original_links(body: bytes) -> list[str]:
    return re.findall(rb"<feedburner:origLink>([^<]+)</feedburner:origLink>", body)


@needs_shared
@pytest.mark.parametrize(
    "filename",
    sorted(path.name for path in (REAL_NEWS / "input").glob("*")) if REAL_NEWS.is_dir() else [],
)
def test_real_feeds_match_another_parsers_reading(filename):
    body = (REAL_NEWS / "input" / filename).read_bytes()
    name = filename.rsplit(".", 1)[0]
    content_type = "application/atom+xml" if filename.endswith(".atom") else "application/rss+xml"
    parsed = parse_feed(body, feed_url=f"https://feeds.example/{name}", content_type=content_type)
    expected_feed, expected_items = _expected_items(name)

    assert parsed.failed_reason is None
    assert parsed.version is not None
    assert len(parsed.entries) == len(expected_items)
    assert _same_text(expected_feed["title"], parsed.title or "")
    # Principled difference: a FeedBurner entry's link is the redirector; we take origLink,
    # the publisher's own URL (no redirect hop, and the key other feeds would use).
    original_links = [link.decode() for link in _feedburner_original_links(body)]
    for index, (entry, item) in enumerate(zip(parsed.entries, expected_items, strict=True)):
        assert _same_text(item.get("title") or "", entry.title or ""), (index, entry.title)
        expected_link = original_links[index] if original_links else item["link"]
        assert canonical_entry_url(entry.link) == canonical_entry_url(expected_link)
        assert entry.feed_url == f"https://feeds.example/{name}"
        assert entry.feed_title == parsed.title


@needs_shared
def test_iso_8859_1_kannada_and_undeclared_feeds_decode():
    def titles(filename):
        body = (REAL_NEWS / "input" / filename).read_bytes()
        parsed = parse_feed(body, feed_url="https://feeds.example/x")
        return [entry.title for entry in parsed.entries], parsed

    portuguese, parsed = titles("encoding.rss")  # ISO-8859-1 with a declaration
    assert parsed.title == "Jornal de Notícias - Últimas Notícias"
    assert "Mãe de utente é a nova presidente da Raríssimas" in portuguese
    # Varthabharathi's snapshot is its English edition: curly quotes, no Kannada script.
    varthabharathi, _ = titles("customfields.rss")
    assert "ISUZU launches the ‘mu-X’ premium full-size 7 seater SUV in Bengaluru" in (
        varthabharathi
    )
    uol, parsed = titles("uolNoticias.rss")  # no XML declaration, not UTF-8
    assert any("simulações de 2º turno" in title for title in uol)
    assert parsed.bozo_reason == "CharacterEncodingOverride"


KANNADA_TITLE = "ಬೆಂಗಳೂರು ಸುದ್ದಿ"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_kannada_feed_decodes(encoding):
    body = (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel>'
        f"<title>ವಾರ್ತಾ ಭಾರತಿ</title><item><title>{KANNADA_TITLE}</title>"
        "<link>https://kn.example/1</link></item></channel></rss>"
    ).encode(encoding)
    parsed = parse_feed(body, feed_url="https://kn.example/rss")
    assert parsed.failed_reason is None
    assert parsed.title == "ವಾರ್ತಾ ಭಾರತಿ"
    assert parsed.entries[0].title == KANNADA_TITLE


def test_wrong_declared_encoding_still_yields_entries():
    body = _rss("<item><title>São Paulo</title><link>http://e.example/1</link></item>")
    body = body.decode("utf-8").encode("latin-1")  # declared utf-8, really latin-1
    parsed = parse_feed(body, feed_url="http://e.example/feed", content_type="text/xml")
    assert parsed.bozo_reason == "CharacterEncodingOverride"
    assert parsed.failed_reason is None
    assert [entry.title for entry in parsed.entries] == ["São Paulo"]


def test_ten_thousand_entries_keep_the_newest():
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    # Oldest first on purpose: "newest" must come from the dates, not the order.
    items = "".join(_item(i, when=start + dt.timedelta(minutes=i)) for i in range(10_000))
    parsed = parse_feed(_rss(items), feed_url="https://news.example/feed", max_entries=500)
    assert parsed.failed_reason is None
    assert len(parsed.entries) == 500
    assert parsed.skipped_entries == 9_500
    assert {entry.entry_id for entry in parsed.entries} == {
        f"story-{i}" for i in range(9_500, 10_000)
    }
    # Document order is kept among the survivors.
    assert parsed.entries[0].entry_id == "story-9500"


def test_billion_laughs_is_refused_promptly():
    declarations = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    )
    body = _rss(
        _item(1, extra="<description>&lol9;</description>"),
        prolog=(f"<!DOCTYPE rss [{declarations}]>"),
    )
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    parsed = parse_feed(body, feed_url="https://evil.example/feed")
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert parsed.failed_reason == FAILED_UNSAFE_XML
    assert parsed.entries == []
    assert grown_kib < 100_000


def test_one_big_entity_repeated_is_refused():
    # No nesting, so feedparser keeps it, and its fallback parser would expand it 2,000 times.
    prolog = f'<!DOCTYPE rss [<!ENTITY big "{"x" * 100_000}">]>'
    body = _rss(_item(1, extra=f"<description>{'&big;' * 2000}</description>"), prolog=prolog)
    assert parse_feed(body, feed_url="https://evil.example/feed").failed_reason == (
        FAILED_UNSAFE_XML
    )


def test_small_entities_in_a_doctype_still_work():
    body = _rss(
        "<item><guid isPermaLink='false'>&id;2006-05-04:/blog/</guid></item>",
        prolog='<!DOCTYPE rss [<!ENTITY id "tag:example.com,">]>',
    )
    parsed = parse_feed(body, feed_url="https://e.example/feed")
    assert parsed.failed_reason is None
    assert parsed.entries[0].entry_id == "tag:example.com,2006-05-04:/blog/"


@pytest.mark.parametrize("content_type", ["application/rss+xml", "text/html", None])
def test_html_page_is_not_a_feed(content_type):
    page = (
        b"<!DOCTYPE html><html><head><title>Home</title>"
        b'<link rel="alternate" type="application/rss+xml" href="/feed"></head>'
        b"<body><h1>News</h1><p>Hello<br>world</p></body></html>"
    )
    parsed = parse_feed(page, feed_url="https://e.example/", content_type=content_type)
    assert parsed.failed_reason == FAILED_NOT_A_FEED
    assert parsed.version is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"", FAILED_EMPTY), (b"  \n", FAILED_EMPTY), (b'{"version": "jsonfeed"}', "not_a_feed")],
)
def test_empty_and_non_markup_bodies_fail(body, reason):
    assert parse_feed(body, feed_url="https://e.example/feed").failed_reason == reason


def test_broken_xml_without_anything_feedlike_reports_the_exception():
    parsed = parse_feed(b"<?xml version='1.0'?><a><b></a>", feed_url="https://e.example/f")
    assert parsed.failed_reason == "SAXParseException"
    assert parsed.bozo_reason == "SAXParseException"


def test_ill_formed_feed_with_entries_is_usable():
    body = _rss(_item(1, extra="<description>AT&T rocks</description>") + "<item><title>x")
    parsed = parse_feed(body, feed_url="https://e.example/feed")
    assert parsed.bozo_reason is not None
    assert parsed.failed_reason is None
    assert parsed.entries[0].link == "https://news.example/1"


def test_entry_mapping():
    content = "<p>" + "Full article text. " * 40 + "</p>"
    item = (
        "<item><title>Big &amp; small</title><link>/stories/1?utm_source=rss#top</link>"
        "<guid isPermaLink='false'>g-1</guid><dc:creator>Ann Writer</dc:creator>"
        "<pubDate>Tue, 02 Jan 2024 03:04:05 +0200</pubDate>"
        "<category>World</category><category> World </category><category>Europe</category>"
        "<description>&lt;p&gt;Short &lt;b&gt;teaser&lt;/b&gt;.&lt;/p&gt;&lt;p&gt;Two&lt;/p&gt;"
        f"</description><content:encoded><![CDATA[{content}]]></content:encoded></item>"
        "<item><title>Unsafe</title><link>javascript:alert(1)</link></item>"
    )
    body = (
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>Paper</title><link>https://paper.example/</link><ttl>30</ttl>{item}"
        "</channel></rss>"
    ).encode()
    parsed = parse_feed(
        body,
        feed_url="https://paper.example/rss",
        content_type="application/rss+xml; charset=utf-8",
        content_location="https://paper.example/feeds/main.xml",
    )
    assert (parsed.version, parsed.title, parsed.ttl_minutes) == ("rss20", "Paper", 30)
    entry = parsed.entries[0]
    assert entry.entry_id == "g-1"
    assert entry.link == "https://paper.example/stories/1?utm_source=rss#top"
    assert entry.title == "Big & small"
    assert entry.author == "Ann Writer"
    assert entry.published_at == dt.datetime(2024, 1, 2, 1, 4, 5, tzinfo=dt.timezone.utc)
    assert entry.tags == ["World", "Europe"]
    assert entry.summary == "Short teaser. Two"
    assert "Full article text." in entry.content
    assert parsed.entry_times() == [entry.published_at]
    assert parsed.entries[1].link is None  # only http(s) links are ever fetched


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>two &amp; three</p>", "One two & three"),
        ("a<br>b", "a b"),
        ("<b>wo</b>rd", "word"),
        ("<script>alert(1)</script><style>p{}</style>Visible", "Visible"),
        ("<!-- only a comment -->", ""),
    ],
)
def test_summary_html_becomes_plain_text(html, text):
    escaped = html.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    body = _rss(
        f"<item><link>https://e.example/1</link><description>{escaped}</description></item>"
    )
    entry = parse_feed(body, feed_url="https://e.example/feed").entries[0]
    assert entry.summary == (text or None)


def test_atom_content_only_gives_summary_and_keeps_long_content():
    long_text = "Paragraph of the article. " * 100
    body = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>A</title>"
        "<entry><id>tag:a,2024:1</id><title>Long</title><link href='/1'/>"
        "<updated>2024-03-01T10:00:00Z</updated>"
        f"<content type='html'>&lt;p&gt;{long_text}&lt;/p&gt;</content></entry>"
        "<entry><id>tag:a,2024:2</id><title>Short</title><link href='/2'/>"
        "<content type='html'>&lt;p&gt;Just a line.&lt;/p&gt;</content></entry></feed>"
    ).encode()
    parsed = parse_feed(body, feed_url="https://a.example/atom")
    long_entry, short_entry = parsed.entries
    assert long_entry.updated_at == dt.datetime(2024, 3, 1, 10, tzinfo=dt.timezone.utc)
    assert long_entry.published_at is None
    assert len(long_entry.summary) <= SUMMARY_MAX_CHARS + 1
    assert long_entry.summary.endswith("…")
    assert long_entry.content.count("Paragraph of the article.") == 100
    assert short_entry.summary == "Just a line."
    assert short_entry.content is None  # says nothing the summary does not
    assert short_entry.link == "https://a.example/2"


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "HTTPS://News.Example.COM:443/a/b?utm_source=rss&id=7#comments",
            "https://news.example.com/a/b?id=7",
        ),
        ("http://news.example.com", "http://news.example.com/"),
        ("https://blog.example/?p=42&fbclid=abc", "https://blog.example/?p=42"),
        ("https://site.example/article.php?story=1", "https://site.example/article.php?story=1"),
        ("ftp://files.example/x", None),
        ("not a url", None),
        (None, None),
    ],
)
def test_canonical_entry_url(url, canonical):
    assert canonical_entry_url(url) == canonical


def test_distinct_query_articles_stay_distinct():
    first = canonical_entry_url("https://site.example/article.php?story=1")
    second = canonical_entry_url("https://site.example/article.php?story=2")
    assert first != second


def test_entry_keys():
    entry = FeedEntry(
        feed_url="https://f.example/rss", entry_id="42", link="https://F.example/x?utm_medium=rss"
    )
    assert entry_keys(entry) == ["id:https://f.example/rss#42", "url:https://f.example/x"]
    assert entry_keys(FeedEntry(feed_url="https://f.example/rss")) == []
    assert entry_keys(FeedEntry(feed_url="u", link="https://f.example/x#frag")) == [
        "url:https://f.example/x"
    ]
