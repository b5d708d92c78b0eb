"""Records passed between stages: raw documents, articles and dead letters."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Any

from pipeline.version import PIPELINE_VERSION

# Tag of the dead-letter output of every step that can fail.
DEAD_LETTER = "dead_letter"

# Input formats as written to the `input_format` column.
FORMAT_TEXT = "text"
FORMAT_HTML = "html"
FORMAT_JSONL = "jsonl"
FORMAT_WARC = "warc"

_PREVIEW_CHARS = 200


@dataclasses.dataclass
class FeedEntry:
    """What a feed says of one entry; fills the row where the page lacks it."""

    feed_url: str
    entry_id: str | None = None
    link: str | None = None
    feed_title: str | None = None
    title: str | None = None
    author: str | None = None
    published_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    tags: list[str] = dataclasses.field(default_factory=list)
    summary: str | None = None
    # Full HTML content the feed carries (content:encoded, Atom content), if any.
    content: str | None = None

    def to_json(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        for key in ("published_at", "updated_at"):
            if record[key] is not None:
                record[key] = record[key].isoformat()
        return record

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> FeedEntry:
        known = {field.name for field in dataclasses.fields(cls)}
        values = {key: value for key, value in record.items() if key in known}
        for key in ("published_at", "updated_at"):
            if values.get(key):
                values[key] = dt.datetime.fromisoformat(values[key])
        return cls(**values)


@dataclasses.dataclass
class RawDocument:
    """One document as read: a whole file, a JSON line or a WARC response record."""

    source_uri: str
    payload: bytes
    input_format: str
    url: str | None = None
    # How the format was decided: "extension", "content" or "extension+content".
    detected_by: str = "extension"
    # When the bytes were fetched (live ingestion, or a WARC record's WARC-Date).
    fetched_at: dt.datetime | None = None
    # The feed entry that linked to this document (live ingestion and its WARC replay).
    entry: FeedEntry | None = None
    # schemas.TEXT_FROM_*: the entry's own content stands in for a page that failed.
    text_source: str = "document"
    # What reading changed in the bytes (`nul_bytes_removed`, `transcoded_from:utf-16-le`).
    read_fixes: list[str] = dataclasses.field(default_factory=list)

    @property
    def payload_sha256(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()


@dataclasses.dataclass
class Article:
    """An article on its way to a row of schemas.ARTICLE_SCHEMA."""

    doc_id: str
    source_uri: str
    input_format: str
    text: str
    url: str | None = None
    source: str | None = None
    title: str | None = None
    author: str | None = None
    published_at: dt.datetime | None = None
    date_source: str | None = None
    language: str = "und"
    language_score: float | None = None
    word_count: int = 0
    char_count: int = 0
    content_sha256: str = ""
    fixes: list[str] = dataclasses.field(default_factory=list)
    duplicate_count: int = 0
    also_seen_at: list[str] = dataclasses.field(default_factory=list)
    ingested_at: dt.datetime | None = None
    pipeline_version: str = PIPELINE_VERSION
    # Schema version 2: where a live or archived row came from.
    fetched_at: dt.datetime | None = None
    feed_url: str | None = None
    feed_title: str | None = None
    entry_id: str | None = None
    tags: list[str] | None = None
    summary: str | None = None
    text_source: str = "document"
    # Grouping key for per-source statistics (host, feed or input folder); not written.
    source_key: str = ""

    def to_row(self) -> dict[str, Any]:
        # Shallow: dataclasses.asdict deep-copies every field, a cost per row for nothing.
        row = {field.name: getattr(self, field.name) for field in _ARTICLE_FIELDS}
        del row["source_key"]
        return row


_ARTICLE_FIELDS = dataclasses.fields(Article)


class PipelineError(Exception):
    """An expected failure of one input, with a short machine-readable reason."""

    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type


def preview(payload: bytes | str | None) -> str | None:
    if payload is None:
        return None
    if isinstance(payload, bytes):
        payload = payload[: _PREVIEW_CHARS * 4].decode("utf-8", errors="replace")
    return payload[:_PREVIEW_CHARS]


def dead_letter(
    source_uri: str,
    stage: str,
    error: BaseException | str,
    *,
    error_type: str | None = None,
    payload: bytes | str | None = None,
) -> dict[str, Any]:
    """A dead-letter record (schemas.DEAD_LETTER_FIELDS) for one input that became no row."""
    if isinstance(error, BaseException):
        error_type = error_type or getattr(error, "error_type", None) or type(error).__name__
        message = str(error) or type(error).__name__
    else:
        message = error
    raw = payload.encode("utf-8", errors="replace") if isinstance(payload, str) else payload
    return {
        "source_uri": source_uri,
        "stage": stage,
        "error_type": error_type or "error",
        "error": message[:2000],
        "payload_bytes": len(raw) if raw is not None else None,
        "payload_sha256": hashlib.sha256(raw).hexdigest() if raw is not None else None,
        "payload_preview": preview(raw),
        "failed_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "pipeline_version": PIPELINE_VERSION,
    }
