"""Extract: raw documents (text, HTML, JSON record, WARC record) -> articles with metadata."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import posixpath
from typing import Any
from urllib.parse import urlsplit

import apache_beam as beam
from apache_beam.metrics import Metrics

from schemas import TEXT_FROM_FEED_CONTENT, TEXT_FROM_PAGE
from transforms.deadline import DEFAULT_MAX_SECONDS_PER_DOCUMENT, run_with_deadline
from transforms.documents.formats import decode_text
from transforms.documents.html_extract import extract_html, normalize_author
from transforms.documents.text_extract import parse_text_document
from transforms.failsafe import FailSafeMap
from transforms.records import (
    FORMAT_HTML,
    FORMAT_JSONL,
    FORMAT_TEXT,
    FORMAT_WARC,
    Article,
    PipelineError,
    RawDocument,
)
from transforms.text.dates import parse_published

STAGE = "extract"

# Accepted spellings of each field in JSON records, first match wins.
JSON_FIELD_ALIASES = {
    "url": ("url", "link", "canonical_url"),
    "title": ("title", "headline"),
    "text": ("text", "body", "content", "article", "maintext"),
    "html": ("html", "raw_html", "content_html"),
    "published": ("published", "published_at", "date", "pubDate", "date_publish", "datePublished"),
    "author": ("author", "authors", "byline"),
    "source": ("source", "site_name", "sitename", "publisher", "source_domain"),
}


def host_of(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url).hostname
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


def _first_field(record: dict[str, Any], name: str) -> Any:
    for key in JSON_FIELD_ALIASES[name]:
        value = record.get(key)
        if value not in (None, "", []):
            return value
    return None


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return "; ".join(str(item) for item in value if item) or None
    if isinstance(value, dict):
        return str(value.get("name") or "") or None
    return str(value)


def _article_from_json(document: RawDocument) -> Article:
    try:
        record = json.loads(document.payload)
    except ValueError as error:
        raise PipelineError("invalid_json", f"not a JSON object: {error}")
    if not isinstance(record, dict):
        raise PipelineError("invalid_json", f"expected a JSON object, got {type(record).__name__}")
    url = _as_text(_first_field(record, "url"))
    text = _as_text(_first_field(record, "text"))
    html = _first_field(record, "html")
    if not text and not html:
        raise PipelineError("no_article_text", "JSON record has neither text nor html")
    article = Article(
        doc_id=document.payload_sha256[:32],
        source_uri=document.source_uri,
        input_format=FORMAT_JSONL,
        text=text or "",
        url=url,
        title=_as_text(_first_field(record, "title")),
        author=normalize_author(_as_text(_first_field(record, "author"))),
        source=_as_text(_first_field(record, "source")),
    )
    if not text:
        extracted = extract_html(str(html), url=url)
        article.text = extracted.text
        article.title = article.title or extracted.title
        article.author = article.author or extracted.author
        article.source = article.source or extracted.sitename
        article.published_at, article.date_source = extracted.published_at, extracted.date_source
    published = parse_published(_first_field(record, "published"))
    if published is not None:
        article.published_at, article.date_source = published, "json_field"
    return article


def _article_from_html(document: RawDocument) -> Article:
    extracted = extract_html(document.payload, url=document.url)
    return Article(
        doc_id=document.payload_sha256[:32],
        source_uri=document.source_uri,
        input_format=document.input_format,
        text=extracted.text,
        url=extracted.url,
        title=extracted.title,
        author=extracted.author,
        source=extracted.sitename,
        published_at=extracted.published_at,
        date_source=extracted.date_source,
    )


def _article_from_text(document: RawDocument) -> Article:
    text, _encoding = decode_text(document.payload)
    parsed = parse_text_document(text)
    return Article(
        doc_id=document.payload_sha256[:32],
        source_uri=document.source_uri,
        input_format=FORMAT_TEXT,
        text=parsed.text,
        published_at=parsed.published_at,
        date_source=parsed.date_source,
    )


_EXTRACTORS = {
    FORMAT_TEXT: _article_from_text,
    FORMAT_HTML: _article_from_html,
    FORMAT_WARC: _article_from_html,
    FORMAT_JSONL: _article_from_json,
}


def source_key_of(article: Article) -> str:
    """What 'the same source' means for per-source statistics: host, publisher or folder."""
    return (
        host_of(article.url)
        or article.source
        or posixpath.dirname(article.source_uri.split("#")[0])
    )


def add_fetch_and_feed_fields(article: Article, document: RawDocument) -> None:
    """Schema v2 columns: when the bytes were fetched, where the text came from, and what the
    feed entry says (its title, author and date fill only what the page lacks)."""
    article.fetched_at = document.fetched_at
    article.text_source = document.text_source
    entry = document.entry
    if entry is None:
        return
    article.feed_url, article.feed_title = entry.feed_url, entry.feed_title
    article.entry_id, article.summary = entry.entry_id, entry.summary
    article.tags = list(entry.tags)
    article.url = article.url or entry.link
    article.title = article.title or entry.title
    article.author = article.author or normalize_author(entry.author)
    if article.published_at is None and entry.published_at is not None:
        published = entry.published_at
        if published.tzinfo is None:
            published = published.replace(tzinfo=dt.timezone.utc)
        article.published_at, article.date_source = published, "feed"


def feed_content_document(document: RawDocument) -> RawDocument | None:
    """The entry's own full content in place of a fetched page that holds no article."""
    entry = document.entry
    if entry is None or not entry.content or document.text_source != TEXT_FROM_PAGE:
        return None
    return dataclasses.replace(
        document,
        payload=entry.content.encode("utf-8"),
        input_format=FORMAT_HTML,
        text_source=TEXT_FROM_FEED_CONTENT,
    )


def extract_article(document: RawDocument) -> Article:
    """One raw document -> one article with the metadata its format carries."""
    try:
        return _extract_article(document)
    except PipelineError:
        fallback = feed_content_document(document)
        if fallback is None:
            raise
        Metrics.counter("news", "extract.feed_content_instead").inc()
        return _extract_article(fallback)


def _extract_article(document: RawDocument) -> Article:
    article = _EXTRACTORS[document.input_format](document)
    if not article.text.strip():
        raise PipelineError("no_article_text", "the document holds no text")
    if document.detected_by == "content" and document.input_format != FORMAT_WARC:
        article.fixes.append(f"format_from_content:{document.input_format}")
    article.fixes.extend(document.read_fixes)
    add_fetch_and_feed_fields(article, document)
    article.source = article.source or host_of(article.url)
    article.source_key = source_key_of(article)
    return article


class ExtractArticles(beam.PTransform):
    """RawDocument -> Article (text plus metadata). Outputs: `main`, `dead_letter`.

    A document over `max_seconds` is a `timeout` dead letter (transforms/deadline.py)."""

    def __init__(self, max_seconds: float | None = DEFAULT_MAX_SECONDS_PER_DOCUMENT):
        super().__init__()
        self.max_seconds = max_seconds

    def expand(self, documents):
        max_seconds = self.max_seconds

        def extract(document):
            return run_with_deadline(max_seconds, extract_article, document)

        return documents | "Extract" >> FailSafeMap(STAGE, extract)
