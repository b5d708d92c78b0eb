"""WARC: live fetches written as archives, and any crawler's WARC read back as raw documents.

Writer: `WarcArchiveWriter` collects the records of one bundle (feed responses, pages, feed
content standing in for a failed page) and `flush()` publishes them as one `.warc.gz` file.
Pages found through a feed get a `metadata` record (JSON: the FeedEntry and text_source) linked
to their response, so a replay rebuilds the same documents the live run saw.

Reader: `iter_warc_documents` turns the HTML response/resource records of any WARC into
RawDocument, with WARC-Date as fetched_at and the linked metadata record's entry. Pure: no Beam
but its counters.
"""

from __future__ import annotations

import collections
import datetime as dt
import gzip
import io
import json
import os
import posixpath
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, BinaryIO

import brotli
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader
from warcio.limitreader import LimitReader
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.timeutils import datetime_to_iso_date, iso_date_to_datetime
from warcio.warcwriter import WARCWriter

from pipeline.version import PIPELINE_VERSION
from schemas.article_v2 import TEXT_FROM_DOCUMENT, TEXT_FROM_FEED_CONTENT, TEXT_FROM_PAGE
from transforms.documents.formats import format_from_content
from transforms.records import (
    FORMAT_HTML,
    FORMAT_WARC,
    FeedEntry,
    PipelineError,
    RawDocument,
    dead_letter,
)

ARCHIVE_SUFFIX = ".warc.gz"
# `profile` of the JSON in our metadata records; other crawlers' metadata is left alone.
METADATA_PROFILE = "news-pipeline/feed-entry/1"
METADATA_CONTENT_TYPE = "application/json"
# A document waits at most this many records for its metadata record (crawlers write
# response, request, metadata), so memory stays bounded by a few documents.
PAIRING_WINDOW = 8
# Fix written to Article.fixes for a record the crawler cut (WARC-Truncated).
FLAG_TRUNCATED = "truncated"

STAGE = "read"
COUNTER_NAMESPACE = "news"
_HEAD_BYTES = 4096
_METADATA_MAX_BYTES = 1024 * 1024
_DRAIN_BYTES = 64 * 1024
_GZIP_LEVEL = 6
# Headers about the bytes on the wire, not the decoded body the archive holds.
_WIRE_HEADERS = ("content-encoding", "transfer-encoding", "content-length")
_FEED_MEDIA_TYPES = ("application/feed+json", "application/json+feed")
_ARCHIVED_RECORD_TYPES = ("response", "resource")


class _BrotliDecompressor:
    """What warcio asks of a decompressor, around brotli's (warcio's own `br` hook sets an
    attribute that brotli >= 1.1 refuses, so every br record would fail)."""

    unused_data = None

    def __init__(self):
        self._decompressor = brotli.Decompressor()

    def decompress(self, data: bytes) -> bytes:
        return self._decompressor.process(data)

    def flush(self) -> bytes:
        return b""

    @property
    def eof(self) -> bool:
        return self._decompressor.is_finished()


BufferedReader.DECOMPRESSORS["br"] = _BrotliDecompressor


def warc_date(moment: dt.datetime) -> str:
    """WARC-Date with microseconds (WARC/1.1), so a replay gives back the exact fetched_at."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return datetime_to_iso_date(moment, use_micros=True)


def parse_warc_date(value: str | None) -> dt.datetime | None:
    """WARC-Date (seconds or fractions) -> UTC datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        return iso_date_to_datetime(value.strip(), tz_aware=True)
    except ValueError:
        return None


def _archived_http_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]], body_length: int
) -> list[tuple[str, str]]:
    """Headers as stored next to the decoded body: wire encodings dropped, length recomputed."""
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    kept = [(name, value) for name, value in pairs if name.lower() not in _WIRE_HEADERS]
    kept += [
        (f"X-Archive-Orig-{name}", value)
        for name, value in pairs
        if name.lower() in _WIRE_HEADERS[:2]
    ]
    return [*kept, ("Content-Length", str(body_length))]


class WarcArchiveWriter:
    """Records of one bundle, published by `flush()` as one `.warc.gz` file.

    The file appears under `<archive_dir>/YYYY/MM/DD/<prefix>-<UTC time>-<id>.warc.gz` only
    when complete: local files are written under a hidden temporary name and renamed; object
    stores (gs://) publish an object only when its upload completes.
    """

    def __init__(self, archive_dir: str, prefix: str = "news"):
        self.archive_dir = archive_dir
        self.prefix = prefix
        # warcio serialises each record; it is gzipped here (one member per record, as the
        # format asks) at level 6: warcio's level 9 takes twice the time for 1% less size.
        self._record = io.BytesIO()
        self._writer = WARCWriter(self._record, gzip=False, warc_version="1.1")
        self._reset()

    def _reset(self) -> None:
        self._buffer = io.BytesIO()
        self.record_count = 0

    @property
    def buffered_bytes(self) -> int:
        """Compressed size of the bundle so far (flush when it grows too large)."""
        return self._buffer.tell()

    def _write(self, record) -> None:
        if self.record_count == 0:
            info = {"software": f"news-ingestion-pipeline/{PIPELINE_VERSION} (warcio)"}
            self._write_member(self._writer.create_warcinfo_record(None, info))
        self._write_member(record)
        self.record_count += 1

    def _write_member(self, record) -> None:
        self._record.seek(0)
        self._record.truncate()
        self._writer.write_record(record)
        self._buffer.write(gzip.compress(self._record.getvalue(), _GZIP_LEVEL, mtime=0))

    def add_response(
        self,
        url: str,
        status: int,
        reason: str | None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]],
        body: bytes,
        fetched_at: dt.datetime,
        peer_address: str | tuple | None = None,
        entry: FeedEntry | None = None,
        text_source: str = TEXT_FROM_PAGE,
    ) -> str:
        """Archive one HTTP response (decoded body) and, with `entry`, its metadata record.

        Returns the response's WARC-Record-ID.
        """
        record_id = StatusAndHeadersParser.make_warc_id()
        warc_headers = {"WARC-Record-ID": record_id, "WARC-Date": warc_date(fetched_at)}
        if isinstance(peer_address, tuple):
            peer_address = peer_address[0]
        if peer_address:
            warc_headers["WARC-IP-Address"] = str(peer_address)
        http_headers = StatusAndHeaders(
            f"{status} {reason or ''}".strip(),
            _archived_http_headers(headers, len(body)),
            protocol="HTTP/1.1",
        )
        self._write(
            self._writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=http_headers,
                warc_headers_dict=warc_headers,
            )
        )
        if entry is not None:
            self._add_metadata(url, record_id, fetched_at, entry, text_source)
        return record_id

    def add_feed_content(self, entry: FeedEntry, fetched_at: dt.datetime) -> str:
        """Archive the full content a feed carries for an entry whose page failed: a `resource`
        record (text/html) and its metadata record. Returns the resource's WARC-Record-ID."""
        url = entry.link or entry.entry_id
        if not url or not entry.content:
            raise ValueError("feed content needs the entry's content and its link or id")
        body = entry.content.encode("utf-8")
        record_id = StatusAndHeadersParser.make_warc_id()
        self._write(
            self._writer.create_warc_record(
                url,
                "resource",
                payload=io.BytesIO(body),
                length=len(body),
                warc_content_type="text/html; charset=utf-8",
                warc_headers_dict={"WARC-Record-ID": record_id, "WARC-Date": warc_date(fetched_at)},
            )
        )
        self._add_metadata(url, record_id, fetched_at, entry, TEXT_FROM_FEED_CONTENT)
        return record_id

    def _add_metadata(
        self,
        url: str,
        record_id: str,
        fetched_at: dt.datetime,
        entry: FeedEntry,
        text_source: str,
    ) -> None:
        metadata = {
            "profile": METADATA_PROFILE,
            "text_source": text_source,
            "entry": entry.to_json(),
        }
        payload = json.dumps(metadata, ensure_ascii=False, sort_keys=True).encode("utf-8")
        self._write(
            self._writer.create_warc_record(
                url,
                "metadata",
                payload=io.BytesIO(payload),
                length=len(payload),
                warc_content_type=METADATA_CONTENT_TYPE,
                warc_headers_dict={
                    "WARC-Date": warc_date(fetched_at),
                    "WARC-Concurrent-To": record_id,
                    "WARC-Refers-To": record_id,
                },
            )
        )

    def archive_path(self, now: dt.datetime) -> str:
        now = now.astimezone(dt.timezone.utc)
        name = f"{self.prefix}-{now:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}{ARCHIVE_SUFFIX}"
        return FileSystems.join(self.archive_dir, f"{now:%Y}", f"{now:%m}", f"{now:%d}", name)

    def flush(self, now: dt.datetime | None = None) -> str | None:
        """Publish the bundle as one file and start a new one; its path, or None when empty."""
        if self.record_count == 0:
            return None
        path = self.archive_path(now or dt.datetime.now(dt.timezone.utc))
        local = "://" not in path
        target = path
        if local:
            folder, name = os.path.split(path)
            target = os.path.join(folder, f".{name}.{uuid.uuid4().hex[:8]}.inprogress")
        with FileSystems.create(
            target, mime_type="application/warc", compression_type=CompressionTypes.UNCOMPRESSED
        ) as out:
            out.write(self._buffer.getvalue())
        if local:
            FileSystems.rename([target], [path])
        self._reset()
        return path


# ------------------------------------------------------------------------------------------
# Reader


def _count(counts: collections.Counter | None, name: str) -> None:
    Metrics.counter(COUNTER_NAMESPACE, name).inc()
    if counts is not None:
        counts[name] += 1


class _CutAwareStream:
    """The archive stream as warcio reads it: a gzip stream that stops early reads as its end
    (the cut becomes one dead letter); any other failure is remembered as the file's, not a
    record's."""

    def __init__(self, stream: BinaryIO):
        self._read1 = getattr(stream, "read1", stream.read)
        self._compressed = getattr(stream, "fileobj", None)
        self.cut_off = False
        self.exhausted = False
        self.failure: BaseException | None = None

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(_DRAIN_BYTES), b""))
        parts, wanted = [], size
        while wanted > 0 and not self.exhausted:
            try:
                part = self._read_once(wanted)
            except Exception:
                if parts:
                    break  # hand over what was decoded; the next read raises the failure
                raise
            parts.append(part)
            wanted -= len(part)
        return b"".join(parts)

    def _read_once(self, size: int) -> bytes:
        # read1: at most one read below, so bytes decoded before a cut are never dropped
        # (GzipFile.read(n) loses what it collected when its last inner read hits the cut).
        if self.failure is not None:
            raise self.failure
        try:
            data = self._read1(size)
        except EOFError:
            self.cut_off = self.exhausted = True
            return b""
        except Exception as error:
            if isinstance(error, gzip.BadGzipFile) and self._compressed_bytes_left() == 0:
                # The file ends inside a gzip member's header: cut, not corrupt.
                self.cut_off = self.exhausted = True
                return b""
            self.failure = error
            raise
        if not data:
            self.exhausted = True
        return data

    def _compressed_bytes_left(self) -> int | None:
        try:
            return len(self._compressed.read(1))
        except (AttributeError, OSError, ValueError):  # unknown: not taken for a cut
            return None


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _is_feed(media_type: str) -> bool:
    if media_type in _FEED_MEDIA_TYPES:
        return True
    return media_type.endswith(("+xml", "/xml")) and "html" not in media_type


def _drain(stream) -> None:
    while stream.read(_DRAIN_BYTES):
        pass


def _record_was_cut(record) -> bool:
    """True when the archive ended inside this record: fewer bytes than its Content-Length,
    or headers without a whole one. Drains the record first."""
    _drain(record.raw_stream)
    declared = record.rec_headers.get_header("Content-Length") or ""
    if not declared.strip().isdigit():  # absent or cut inside ("Content-Length: ")
        return True
    return isinstance(record.raw_stream, LimitReader) and record.raw_stream.limit > 0


def _coding_unfinished(content_stream) -> bool:
    """True when a gzip/deflate/br body stopped before its end marker (decoded text cut)."""
    decompressor = getattr(content_stream, "decompressor", None)
    return decompressor is not None and not getattr(decompressor, "eof", True)


class _WarcDocumentReader:
    def __init__(self, stream: BinaryIO, source_uri: str, max_bytes: int, counts, limit_stream):
        self.stream = _CutAwareStream(stream)
        self.records_stream = limit_stream(self.stream) if limit_stream else self.stream
        self.source_uri = source_uri
        self.max_bytes = max_bytes
        self.counts = counts
        # WARC-Record-ID -> (record number, document) waiting for its metadata record.
        self.pending: collections.OrderedDict[str, tuple[int, RawDocument]] = (
            collections.OrderedDict()
        )
        # Metadata seen before its record: WARC-Record-ID -> (record number, entry, source).
        self.early_metadata: collections.OrderedDict[str, tuple[int, FeedEntry, str]] = (
            collections.OrderedDict()
        )
        self.cut_reported = False

    def count(self, name: str) -> None:
        _count(self.counts, name)

    def uri(self, index: int) -> str:
        return f"{self.source_uri}#record={index}"

    def cut_dead_letter(self, index: int, detail: str) -> dict[str, Any]:
        self.cut_reported = True
        return dead_letter(
            self.uri(index),
            STAGE,
            f"the archive ends inside this record ({detail}); records before it are kept",
            error_type="truncated_archive",
        )

    def __iter__(self) -> Iterator[RawDocument | dict[str, Any]]:
        self.archive = ArchiveIterator(self.records_stream)
        records = iter(self.archive)
        index = 0
        while True:
            errors_before = self.archive.err_count
            try:
                record = next(records)
            except StopIteration:
                break
            except Exception as error:  # classified just below
                if self.file_failed(error):
                    yield from self.release(everything=True)
                    raise  # the file itself is damaged: read.py's file-level dead letter
                yield from self.check_length(index, errors_before)
                yield from self.release(everything=True)
                if self.cut_reported:
                    return
                if self.stream.exhausted:
                    yield self.cut_dead_letter(index + 1, f"unreadable headers: {error}")
                else:
                    yield dead_letter(
                        self.uri(index + 1), STAGE, error, error_type="invalid_warc_record"
                    )
                return
            yield from self.check_length(index, errors_before)
            index += 1
            try:
                item = self.read_record(record, index)
            except Exception as error:  # a record's failure, or the file's (re-raised)
                if self.file_failed(error):
                    yield from self.release(everything=True)
                    raise
                item = dead_letter(self.uri(index), STAGE, error)
            if isinstance(item, RawDocument):
                self.hold(item, record.rec_headers.get_header("WARC-Record-ID"), index)
            elif item is not None:
                yield item
            yield from self.release(before=index - PAIRING_WINDOW, latest=index)
        yield from self.check_length(index, errors_before)
        yield from self.release(everything=True)
        if self.cut_reported:
            return
        if self.stream.cut_off:
            yield self.cut_dead_letter(index + 1, "the compressed stream ends early")
        elif self.stopped_inside_headers():
            yield self.cut_dead_letter(index + 1, "inside its headers")

    def check_length(self, index: int, errors_before: int) -> Iterator[dict[str, Any]]:
        """warcio counts a record not followed by its blank lines (Content-Length wrong, e.g.
        cut inside that header): the record `index` is then no document but a dead letter."""
        if index == 0 or self.archive.err_count == errors_before:
            return
        for key, (held_index, _document) in list(self.pending.items()):
            if held_index == index:
                del self.pending[key]
        if self.stream.exhausted:
            if not self.cut_reported:
                yield self.cut_dead_letter(index, "its Content-Length is cut")
        else:
            yield dead_letter(
                self.uri(index),
                STAGE,
                "the record is not followed by the blank lines its Content-Length implies",
                error_type="invalid_warc_record",
            )

    def stopped_inside_headers(self) -> bool:
        """warcio takes headers that end early for the archive's end; then bytes were read
        past the end of the last whole record."""
        try:
            return self.archive.fh.tell() > self.archive.offset
        except (AttributeError, OSError, TypeError):
            return False

    def file_failed(self, error: Exception) -> bool:
        """A failure of the whole file (damaged compression, a per-file limit), not a record."""
        return self.stream.failure is not None or isinstance(error, PipelineError)

    def hold(self, document: RawDocument, record_id: str | None, index: int) -> None:
        if record_id and record_id in self.early_metadata:
            _, entry, text_source = self.early_metadata.pop(record_id)
            self.attach(document, entry, text_source)
            record_id = None  # paired already: out with the next release
        self.pending[record_id or f"#{index}"] = (index, document)

    def attach(self, document: RawDocument, entry: FeedEntry, text_source: str) -> None:
        document.entry = entry
        document.text_source = text_source or TEXT_FROM_PAGE
        self.count("read.warc_entries_from_metadata")

    def release(
        self, before: int = 0, latest: int = 0, everything: bool = False
    ) -> Iterator[RawDocument]:
        """Documents out of the buffer, oldest first: all, or those past the pairing window or
        paired already (never the latest record's: the next record may show it damaged)."""
        while self.pending:
            key, (index, document) = next(iter(self.pending.items()))
            ready = index <= before or (document.entry is not None and index < latest)
            if not (everything or ready):
                return
            del self.pending[key]
            yield document
        while self.early_metadata and (
            everything or next(iter(self.early_metadata.values()))[0] <= before
        ):
            self.early_metadata.popitem(last=False)

    def read_record(self, record, index: int) -> RawDocument | dict[str, Any] | None:
        kind = record.rec_type or "unknown"
        if kind == "metadata":
            self.read_metadata(record, index)
        if kind not in _ARCHIVED_RECORD_TYPES:
            if kind != "metadata":
                self.count(f"read.warc_records_skipped.{kind}")
            return self.skip(record, index)
        if kind == "response":
            if record.http_headers is None:  # dns:, whois: ... responses
                self.count("read.warc_records_skipped.not_http")
                return self.skip(record, index)
            status = record.http_headers.get_statuscode()
            if status != "200":
                self.count("read.warc_non_200")
                return self.skip(record, index)
            content_type = record.http_headers.get_header("Content-Type")
        else:
            content_type = record.content_type
        media_type = _media_type(content_type)
        if _is_feed(media_type):
            self.count("read.warc_records_skipped.feed")
            return self.skip(record, index)
        if media_type and "html" not in media_type:
            self.count("read.warc_records_skipped.not_html")
            return self.skip(record, index)
        return self.read_document(record, index, sniff=not media_type)

    def skip(self, record, index: int) -> dict[str, Any] | None:
        if _record_was_cut(record):
            return self.cut_dead_letter(index, f"a {record.rec_type} record")
        return None

    def read_metadata(self, record, index: int) -> None:
        self.count("read.warc_records_skipped.metadata")
        if "json" not in _media_type(record.content_type):
            return
        payload = record.raw_stream.read(_METADATA_MAX_BYTES + 1)
        try:
            metadata = json.loads(payload)
            if not isinstance(metadata, dict) or metadata.get("profile") != METADATA_PROFILE:
                return
            entry = FeedEntry.from_json(metadata["entry"])
        except (ValueError, TypeError, KeyError):
            self.count("read.warc_metadata_invalid")
            return
        text_source = metadata.get("text_source") or TEXT_FROM_PAGE
        headers = record.rec_headers
        target = headers.get_header("WARC-Refers-To") or headers.get_header("WARC-Concurrent-To")
        if not target:
            return
        if target in self.pending:
            self.attach(self.pending[target][1], entry, text_source)
        else:
            self.early_metadata[target] = (index, entry, text_source)

    def read_document(self, record, index: int, sniff: bool) -> RawDocument | dict | None:
        uri = self.uri(index)
        encoding = ""
        if record.http_headers is not None:
            encoding = (record.http_headers.get_header("Content-Encoding") or "").strip().lower()
        if encoding not in ("", "identity") and encoding not in BufferedReader.DECOMPRESSORS:
            if _record_was_cut(record):
                return self.cut_dead_letter(index, "a response record")
            return dead_letter(
                uri,
                STAGE,
                f"Content-Encoding {encoding!r} cannot be decoded",
                error_type=f"unsupported_content_encoding:{encoding}",
            )
        content = record.content_stream()
        payload = content.read(self.max_bytes + 1)
        coding_cut = len(payload) <= self.max_bytes and _coding_unfinished(content)
        if _record_was_cut(record):
            return self.cut_dead_letter(index, "a response record")
        if len(payload) > self.max_bytes:
            return dead_letter(
                uri,
                STAGE,
                f"WARC record is larger than --max_document_bytes={self.max_bytes}",
                error_type="too_large",
                payload=payload[:_HEAD_BYTES],
            )
        if sniff and format_from_content(payload[:_HEAD_BYTES]) != FORMAT_HTML:
            self.count("read.warc_records_skipped.not_html")
            return None
        flags = []
        if record.rec_headers.get_header("WARC-Truncated") or coding_cut:
            flags.append(FLAG_TRUNCATED)
            self.count("read.warc_truncated_records")
        return RawDocument(
            uri,
            payload,
            FORMAT_WARC,
            url=record.rec_headers.get_header("WARC-Target-URI"),
            detected_by="content",
            fetched_at=parse_warc_date(record.rec_headers.get_header("WARC-Date")),
            text_source=TEXT_FROM_DOCUMENT,
            read_fixes=flags,
        )


def iter_warc_documents(
    stream: BinaryIO,
    source_uri: str,
    max_bytes: int,
    counts: collections.Counter | None = None,
    limit_stream: Callable[[BinaryIO], BinaryIO] | None = None,
) -> Iterator[RawDocument | dict[str, Any]]:
    """HTML response and resource records of a WARC (plain, or gzip per record) -> RawDocument;
    failures of single records -> dead-letter dicts.

    A document carries WARC-Target-URI as url, WARC-Date as fetched_at, and the FeedEntry and
    text_source of its metadata record when one (ours) follows within PAIRING_WINDOW records.
    Feed responses, non-HTML, request/revisit/warcinfo/metadata records and non-200 responses
    are counted (Beam counters, and `counts` when given), not yielded. An archive cut off
    mid-record keeps the records before the cut and yields one `truncated_archive` dead letter.
    A damaged compressed stream raises (after yielding the documents read), as before.

    `stream` is the file's content (gunzipped, or per-record gzip as crawlers write it);
    `limit_stream` wraps it once cut-off detection is in place (read.py's expansion budget,
    whose PipelineError is raised as the file's failure).
    """
    return iter(_WarcDocumentReader(stream, source_uri, max_bytes, counts, limit_stream))


def archive_name_pattern(archive_dir: str) -> str:
    """Input pattern that replays every archive file under archive_dir."""
    return posixpath.join(archive_dir.rstrip("/"), "**", f"*{ARCHIVE_SUFFIX}")
