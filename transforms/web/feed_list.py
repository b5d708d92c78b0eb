"""The list of feeds to poll: a text file (one URL a line) or OPML, local or on any Beam FS.

The format is told by content, not by name: OPML when the document's root is <opml>. Only
http(s) URLs are taken; a list with any invalid line is refused as a whole (FeedListError
names every bad line), since silently polling part of a list is worse than not starting.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import BinaryIO
from urllib.parse import urlsplit, urlunsplit

import lxml.etree
from apache_beam.io.filesystems import CompressionTypes, FileSystems

# A feed list is a few thousand lines; anything far bigger is the wrong file.
MAX_FEED_LIST_BYTES = 20 * 1024 * 1024
# Bad lines listed in the one-line error message; the rest are counted.
_PROBLEMS_SHOWN = 5

_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# "<url>  # comment": a hash after whitespace starts a comment (in a URL it is a fragment).
_INLINE_COMMENT = re.compile(r"\s+#.*$")
# Skipped while looking for the root element: XML declaration, PIs, comments, DOCTYPE.
_PROLOG_ITEM = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^\[>]*(?:\[.*?\])?\s*>)", re.S)
_ROOT_TAG = re.compile(rb"\s*<([A-Za-z_][\w.:-]*)")


@dataclasses.dataclass(frozen=True)
class FeedSource:
    """One feed to poll: its URL as written, and a title when the list gives one (OPML)."""

    url: str
    title: str | None = None


class FeedListError(ValueError):
    """A feed list that cannot be used; str() is one line naming the bad lines."""

    def __init__(self, source: str, problems: list[tuple[int | None, str]]):
        self.source = source
        # (line number or None, what is wrong), in file order.
        self.problems = problems
        shown = "; ".join(
            f"line {line}: {reason}" if line is not None else reason
            for line, reason in problems[:_PROBLEMS_SHOWN]
        )
        more = len(problems) - _PROBLEMS_SHOWN
        suffix = f"; and {more} more" if more > 0 else ""
        bad_lines = sum(1 for line, _ in problems if line is not None)
        summary = f"{bad_lines} invalid line(s)" if bad_lines else "unusable"
        super().__init__(f"feed list {source}: {summary}: {shown}{suffix}")


def read_feed_list(
    path: str, open_file: Callable[..., BinaryIO] = FileSystems.open
) -> list[FeedSource]:
    """The feeds of a list file (text or OPML), local or gs://, duplicates removed."""
    try:
        with open_file(path, compression_type=CompressionTypes.AUTO) as stream:
            data = stream.read(MAX_FEED_LIST_BYTES + 1)
    except OSError as error:
        raise FeedListError(path, [(None, f"cannot be read: {error}")]) from error
    if len(data) > MAX_FEED_LIST_BYTES:
        raise FeedListError(path, [(None, f"larger than {MAX_FEED_LIST_BYTES} bytes")])
    return parse_feed_list(data, source=path)


def parse_feed_list(data: bytes, source: str = "<feed list>") -> list[FeedSource]:
    """The feeds of a list given as bytes: OPML when its root element is <opml>, else text."""
    root = _root_tag(data)
    if root is not None and root.lower() == "opml":
        feeds, problems = _opml_feeds(data, source)
    elif root is not None:
        raise FeedListError(source, [(None, f"XML whose root is <{root}>, not <opml>")])
    else:
        feeds, problems = _text_feeds(data, source)
    if problems:
        raise FeedListError(source, problems)
    unique = _without_duplicates(feeds)
    if not unique:
        raise FeedListError(source, [(None, "no feed URL in it")])
    return unique


def canonical_feed_url(url: str) -> str:
    """One spelling per feed, to find duplicates: scheme and host case, default port,
    empty path, fragment. The query is kept as is (it often selects the feed)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if parts.username is not None:
        credentials = parts.username + (f":{parts.password}" if parts.password else "")
        netloc = f"{credentials}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def feed_url_problem(url: str) -> str | None:
    """Why a string is not a usable feed URL, or None when it is one."""
    if not url:
        return "empty URL"
    if any(char.isspace() for char in url):
        return f"whitespace inside a URL: {url!r}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as error:
        return f"not a URL ({error}): {url!r}"
    if parts.scheme.lower() not in _SCHEMES:
        return f"not an http(s) URL: {url!r}"
    if not parts.hostname:
        return f"no host: {url!r}"
    return None


def _root_tag(data: bytes) -> str | None:
    """Name of the root element when the data is markup, else None (a text list)."""
    head = data[:65536].removeprefix(b"\xef\xbb\xbf")
    position = 0
    while match := _PROLOG_ITEM.match(head, position):
        if match.end() == position:
            break
        position = match.end()
    root = _ROOT_TAG.match(head, position)
    if root:
        return root.group(1).decode("ascii", "replace").split(":")[-1]
    return "?" if head[position:].lstrip().startswith(b"<") else None


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FeedListError(source, [(None, f"not UTF-8 text ({error})")]) from error


def _text_feeds(data: bytes, source: str) -> tuple[list[FeedSource], list]:
    feeds, problems = [], []
    for number, raw_line in enumerate(_decode(data, source).splitlines(), start=1):
        line = _INLINE_COMMENT.sub("", raw_line).strip()
        if not line or line.startswith("#"):
            continue
        if len(line.split()) > 1:
            problems.append((number, f"one URL a line, got {line!r}"))
            continue
        problem = feed_url_problem(line)
        if problem:
            problems.append((number, problem))
        else:
            feeds.append(FeedSource(line))
    return feeds, problems


def _opml_feeds(data: bytes, source: str) -> tuple[list[FeedSource], list]:
    # No entity expansion beyond libxml2's amplification limit, no DTD, no network.
    parser = lxml.etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = lxml.etree.fromstring(data, parser=parser)
    except lxml.etree.XMLSyntaxError as error:
        line = error.lineno if getattr(error, "lineno", None) else None
        raise FeedListError(source, [(line, f"not well-formed OPML: {error.msg}")]) from error
    feeds, problems = [], []
    for outline in root.iter("outline", "{*}outline"):
        attributes = {name.lower(): value for name, value in outline.attrib.items()}
        url = (attributes.get("xmlurl") or "").strip()
        if not url:
            continue  # a folder of outlines, or a link that is not a feed
        problem = feed_url_problem(url)
        if problem:
            problems.append((outline.sourceline, problem))
            continue
        title = (attributes.get("title") or attributes.get("text") or "").strip()
        feeds.append(FeedSource(url, title or None))
    return feeds, problems


def _without_duplicates(feeds: list[FeedSource]) -> list[FeedSource]:
    """First occurrence wins; a title written only on a later duplicate is kept."""
    by_key: dict[str, FeedSource] = {}
    for feed in feeds:
        key = canonical_feed_url(feed.url)
        first = by_key.get(key)
        if first is None:
            by_key[key] = feed
        elif first.title is None and feed.title:
            by_key[key] = dataclasses.replace(first, title=feed.title)
    return list(by_key.values())
