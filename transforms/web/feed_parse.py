"""Feed bytes -> feed facts and FeedEntry records, through feedparser; entry keys for dedup.

feedparser is given the bytes (never a URL or a path: its own fetcher has no timeout, and a
string is opened as a local file). Whether a feed is usable is decided on what came out
(`version`, entries), not on `bozo`: most real feeds are a little ill-formed and still fine.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import courlan
import feedparser
import lxml.html

from transforms.records import FeedEntry

DEFAULT_MAX_ENTRIES = 500
# A summary is a teaser, not the article: longer ones are cut at a word boundary.
SUMMARY_MAX_CHARS = 1000
# Content counts as "full" only when it says clearly more than the summary.
CONTENT_MIN_EXTRA_CHARS = 100
CONTENT_MIN_RATIO = 1.2
# Entities declared in a DOCTYPE may expand the document to at most this many characters.
MAX_ENTITY_EXPANSION_CHARS = 1_000_000

# failed_reason values of our own; otherwise it is a feedparser exception's class name.
FAILED_EMPTY = "empty_body"
FAILED_NOT_A_FEED = "not_a_feed"
FAILED_UNSAFE_XML = "unsafe_xml"

# Exceptions after which the document says nothing about being a feed.
_NOT_A_FEED_EXCEPTIONS = {"NonXMLContentType"}

_HTML_ROOT = re.compile(rb"^(?:<!doctype\s+html|<html[\s>])", re.IGNORECASE)
_XML_PROLOG_COMMENTS = re.compile(rb"<\?.*?\?>|<!--.*?-->", re.DOTALL)
_ENTITY_DECLARATION = re.compile(
    r"<!ENTITY\s+(%\s*)?([\w.:-]+)\s+(?:\"([^\"]*)\"|'([^']*)'|(SYSTEM|PUBLIC)\b)"
)
_ENTITY_REFERENCE = re.compile(r"[&%][A-Za-z_]")
_FIRST_ELEMENT = re.compile(r"<[A-Za-z_]")
_BLOCK_TAG = re.compile(
    r"<(?:/?(?:p|div|li|ul|ol|tr|td|th|table|h[1-6]|blockquote|pre|section|article)\b|br\b)",
    re.IGNORECASE,
)
_WHITESPACE = re.compile(r"\s+")


@dataclasses.dataclass
class ParsedFeed:
    """One feed document as read: its facts, its entries, and whether it was usable."""

    feed_url: str
    # feedparser's format name ("rss20", "atom10", "rss10", ...); None when not a known feed.
    version: str | None = None
    title: str | None = None
    link: str | None = None
    # RSS <ttl>: the publisher's own "do not poll more often than this".
    ttl_minutes: int | None = None
    entries: list[FeedEntry] = dataclasses.field(default_factory=list)
    # Entries beyond max_entries (the newest ones are kept).
    skipped_entries: int = 0
    # Class name of feedparser's bozo exception (the document is ill-formed), or None.
    bozo_reason: str | None = None
    # None when usable; else FAILED_* or the exception's class name.
    failed_reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.failed_reason is None

    def entry_times(self) -> list[dt.datetime] | None:
        """Publication (else update) time of each dated entry: the scheduler's input.

        None when there are entries but none is dated (the frequency is unknown, which is
        not the same as a feed with no entries: []).
        """
        times = (entry.published_at or entry.updated_at for entry in self.entries)
        dated = [time for time in times if time is not None]
        return None if self.entries and not dated else dated


def parse_feed(
    body: bytes,
    *,
    feed_url: str,
    content_type: str | None = None,
    content_location: str | None = None,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> ParsedFeed:
    """Parse a fetched feed document; never raises on bad input (see ParsedFeed.failed_reason)."""
    parsed = ParsedFeed(feed_url=feed_url)
    if not body or not body.strip():
        parsed.failed_reason = FAILED_EMPTY
        return parsed
    if _entity_expansion_chars(body) > MAX_ENTITY_EXPANSION_CHARS:
        parsed.failed_reason = FAILED_UNSAFE_XML
        return parsed

    base_url = content_location or feed_url
    # Unknown type: application/xml lets the XML declaration or BOM name the encoding.
    headers = {"content-location": base_url, "content-type": content_type or "application/xml"}
    result = feedparser.parse(io.BytesIO(body), response_headers=headers)

    exception = result.get("bozo_exception") if result.get("bozo") else None
    parsed.bozo_reason = type(exception).__name__ if exception is not None else None
    parsed.version = result.get("version") or None
    feed = result.get("feed") or {}
    raw_entries = result.get("entries") or []
    if parsed.version is None and not raw_entries:
        parsed.failed_reason = _failure_reason(body, parsed.bozo_reason)
        return parsed

    parsed.title = _plain_text(feed.get("title"), dict.get(feed, "title_detail")) or None
    parsed.link = _http_url(feed.get("link"), base_url)
    parsed.ttl_minutes = _ttl_minutes(feed.get("ttl"))
    kept = _newest(raw_entries, max_entries)
    parsed.skipped_entries = len(raw_entries) - len(kept)
    parsed.entries = [_feed_entry(raw, feed_url, base_url, parsed.title) for raw in kept]
    return parsed


def _failure_reason(body: bytes, bozo_reason: str | None) -> str:
    start = _XML_PROLOG_COMMENTS.sub(b"", body[:4096]).lstrip(b"\xef\xbb\xbf").lstrip()
    # An HTML page, or no markup at all (JSON, plain text): not an XML feed, however broken.
    if _HTML_ROOT.match(start) or not start.startswith((b"<", b"\xff\xfe", b"\xfe\xff")):
        return FAILED_NOT_A_FEED
    if bozo_reason and bozo_reason not in _NOT_A_FEED_EXCEPTIONS:
        return bozo_reason
    return FAILED_NOT_A_FEED


def _as_text(body: bytes) -> str:
    """The document as text, well enough to find markup (UTF-16 or an ASCII superset)."""
    head = body[:4]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body.decode("utf-16", errors="ignore")
    if head.count(b"\x00") in (1, 2):
        encoding = "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
        return body.decode(encoding, errors="ignore")
    return body.decode("latin-1")


def _entity_expansion_chars(body: bytes) -> int:
    """How many characters the DOCTYPE's entities would add when expanded (an upper bound).

    feedparser drops entities that reference other entities (billion laughs), but expands
    "safe" ones in its fallback parser: one 100 KB entity used 2,000 times is 200 MB.
    """
    head = body[:65536]
    if b"ENTITY" not in head and b"E\x00N\x00T\x00I\x00T\x00Y" not in head:
        return 0
    text = _as_text(body)
    first_element = _FIRST_ELEMENT.search(text)
    prolog = text[: first_element.start()] if first_element else text
    total = 0
    for match in _ENTITY_DECLARATION.finditer(prolog):
        value = match.group(3) if match.group(3) is not None else match.group(4)
        if value is None:
            continue  # external: never fetched (feedparser turns external entities off)
        uses = text.count(f"&{match.group(2)};")
        total += uses * max(len(value), 1)
        if _ENTITY_REFERENCE.search(value):
            total += uses * MAX_ENTITY_EXPANSION_CHARS  # nested: refused outright
    return total


def _newest(raw_entries: list[Any], max_entries: int) -> list[Any]:
    """The max_entries newest entries, in document order; undated ones rank by position."""
    if len(raw_entries) <= max_entries:
        return list(raw_entries)
    dated = [(_timestamp(raw), -index, index) for index, raw in enumerate(raw_entries)]
    # Feeds list newest first: an undated entry keeps its place relative to its neighbours.
    keep = sorted(dated, reverse=True)[: max(max_entries, 0)]
    return [raw_entries[index] for index in sorted(index for _, _, index in keep)]


def _timestamp(raw: Mapping[str, Any]) -> float:
    time = _utc_time(dict.get(raw, "published_parsed")) or _utc_time(
        dict.get(raw, "updated_parsed")
    )
    return time.timestamp() if time else float("-inf")


def _feed_entry(raw: Mapping[str, Any], feed_url: str, base_url: str, feed_title: str | None):
    # dict.get: FeedParserDict.get maps missing keys onto others (updated -> published).
    link = _http_url(dict.get(raw, "feedburner_origlink"), base_url) or _http_url(
        dict.get(raw, "link"), base_url
    )
    summary_text = _plain_text(dict.get(raw, "summary"), dict.get(raw, "summary_detail"))
    content_html, content_text = _full_content(dict.get(raw, "content") or [])
    # feedparser copies Atom content into a missing summary: the summary is then its start.
    summary_text = _shorten(summary_text or content_text, SUMMARY_MAX_CHARS)
    if content_html and not _meaningfully_longer(content_text, summary_text):
        content_html = None
    entry_id = dict.get(raw, "id")
    return FeedEntry(
        feed_url=feed_url,
        entry_id=entry_id.strip() if isinstance(entry_id, str) and entry_id.strip() else None,
        link=link,
        feed_title=feed_title,
        title=_plain_text(dict.get(raw, "title"), dict.get(raw, "title_detail")) or None,
        author=_plain_text(dict.get(raw, "author"), None) or None,
        published_at=_utc_time(dict.get(raw, "published_parsed")),
        updated_at=_utc_time(dict.get(raw, "updated_parsed")),
        tags=_tags(dict.get(raw, "tags") or []),
        summary=summary_text or None,
        content=content_html,
    )


def _full_content(contents: list[Mapping[str, Any]]) -> tuple[str | None, str]:
    """The longest content block as HTML, and its plain text."""
    best_html, best_text = None, ""
    for block in contents:
        value = block.get("value") or ""
        is_html = "html" in (block.get("type") or "text/html")
        text = _plain_text(value, block)
        if len(text) > len(best_text):
            best_text = text
            best_html = value if is_html else f"<pre>{_escape(value)}</pre>"
    return best_html, best_text


def _meaningfully_longer(content_text: str, summary_text: str) -> bool:
    return (
        len(content_text) >= len(summary_text) * CONTENT_MIN_RATIO
        and len(content_text) - len(summary_text) >= CONTENT_MIN_EXTRA_CHARS
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain_text(value: Any, detail: Mapping[str, Any] | None) -> str:
    """Text of a feed field: HTML is stripped to its text, whitespace collapsed."""
    if not isinstance(value, str) or not value.strip():
        return ""
    kind = (detail or {}).get("type") or "text/html"
    if "html" in kind and ("<" in value or "&" in value):
        try:
            fragment = lxml.html.fragment_fromstring(
                _BLOCK_TAG.sub(lambda m: " " + m.group(0), value), create_parent="div"
            )
            for hidden in list(fragment.iter("script", "style")):
                hidden.drop_tree()
            value = fragment.text_content()
        except (ValueError, lxml.etree.LxmlError):
            pass
    return _WHITESPACE.sub(" ", value).strip()


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] or text[:limit]
    return cut.rstrip(" ,;:") + "…"


def _tags(tags: list[Mapping[str, Any]]) -> list[str]:
    terms: list[str] = []
    for tag in tags:
        term = _WHITESPACE.sub(" ", tag.get("term") or "").strip()
        if term and term not in terms:
            terms.append(term)
    return terms


def _utc_time(parsed: Any) -> dt.datetime | None:
    """feedparser's *_parsed (a UTC struct_time) as an aware datetime."""
    if not parsed:
        return None
    try:
        return dt.datetime(*parsed[:6], tzinfo=dt.timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return None


def _ttl_minutes(value: Any) -> int | None:
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes if minutes > 0 else None


def _http_url(value: Any, base_url: str) -> str | None:
    """An absolute http(s) URL, resolved against the feed's location; None otherwise."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        url = urljoin(base_url, value.strip())
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url


def canonical_entry_url(url: str | None) -> str | None:
    """One spelling per article URL, for dedup: host case, default port, trackers, fragment.

    Only tracking parameters are dropped (courlan's non-strict filter): strict mode keeps a
    short allow-list of parameters, and `?story=1` / `?story=2` would become one article.
    """
    if not url:
        return None
    cleaned = courlan.clean_url(url)
    if not cleaned:
        return None
    try:
        parts = urlsplit(cleaned)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def entry_keys(entry: FeedEntry) -> list[str]:
    """Keys an entry is known by across polls and restarts; known under any one -> not new."""
    keys = []
    if entry.entry_id:
        keys.append(f"id:{entry.feed_url}#{entry.entry_id}")
    canonical = canonical_entry_url(entry.link)
    if canonical:
        keys.append(f"url:{canonical}")
    return keys
