"""Read: input patterns -> raw documents (one per file, JSON line or WARC response record)."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import io
import itertools
import json
import os
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes, FileMetadata
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from transforms.documents.formats import (
    GZIP_MAGIC,
    as_utf8_text_bytes,
    detect_format,
    strip_compression_suffix,
)
from transforms.documents.limits import (
    DEFAULT_MAX_EXPANDED_BYTES_PER_FILE,
    DEFAULT_MAX_RECORDS_PER_FILE,
    bounded_records,
    limit_expansion,
)
from transforms.documents.warc import iter_warc_documents
from transforms.records import (
    DEAD_LETTER,
    FORMAT_JSONL,
    FORMAT_WARC,
    PipelineError,
    RawDocument,
    dead_letter,
)

STAGE = "read"
DEFAULT_MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
_HEAD_BYTES = 4096
# What a damaged gzip/bz2/zstd stream raises while it is read.
_CORRUPT = (EOFError, zlib.error, gzip.BadGzipFile)


def expand_input_pattern(pattern: str) -> str:
    """Local paths become absolute (so `source_uri` says exactly which file); a local directory
    means every file below it; remote paths (gs://...) pass unchanged."""
    if "://" in pattern:
        return pattern
    pattern = os.path.abspath(os.path.expanduser(pattern))
    return os.path.join(pattern, "**") if os.path.isdir(pattern) else pattern


def match_input_pattern(pattern: str) -> list[FileMetadata]:
    """The files of one pattern, as fileio.MatchAll finds them (FileSystems.match).

    A local path without glob characters is looked up directly: FileSystems.match compiles a
    regex for every pattern, and a wave of N files is N such patterns (about 1 ms each).
    """
    is_plain_local_path = (
        "://" not in pattern
        and not pattern.endswith(("/", "\\"))
        and not any(char in pattern for char in "[*?")
    )
    if not is_plain_local_path:
        return FileSystems.match([pattern])[0].metadata_list
    if not os.path.exists(pattern):
        return []
    return [FileMetadata(pattern, os.path.getsize(pattern), os.path.getmtime(pattern))]


def _read_bounded(stream: BinaryIO, max_bytes: int, source_uri: str, head: bytes = b"") -> bytes:
    """`head` (bytes already read from the stream) and the rest, up to max_bytes in all."""
    payload = head
    if len(head) <= max_bytes:  # read(negative) would read everything
        payload += stream.read(max_bytes + 1 - len(head))
    if len(payload) > max_bytes:
        raise PipelineError(
            "too_large", f"{source_uri} is larger than --max_document_bytes={max_bytes}"
        )
    return payload


def iter_json_records(
    stream: BinaryIO, source_uri: str, max_bytes: int, whole_file_json: bool
) -> Iterator[RawDocument | dict[str, Any]]:
    """JSON lines (or one JSON object/array for `.json`) -> one raw document per record."""
    if whole_file_json:
        payload = _read_bounded(stream, max_bytes, source_uri)
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = None  # not one JSON value: maybe JSON lines after all
        if isinstance(parsed, (dict, list)):
            records = parsed if isinstance(parsed, list) else [parsed]
            for index, record in enumerate(records, start=1):
                uri = f"{source_uri}#record={index}" if isinstance(parsed, list) else source_uri
                yield RawDocument(
                    uri, json.dumps(record, ensure_ascii=False).encode(), FORMAT_JSONL
                )
            return
        stream = io.BytesIO(payload)
    for line_number, line in enumerate(_bounded_lines(stream, max_bytes), start=1):
        uri = f"{source_uri}#line={line_number}"
        if line is None:
            yield dead_letter(
                uri,
                STAGE,
                f"JSON line is larger than --max_document_bytes={max_bytes}",
                error_type="too_large",
            )
        elif line.strip():
            yield RawDocument(uri, line.rstrip(b"\r\n"), FORMAT_JSONL)
        else:
            Metrics.counter("news", "read.jsonl_blank_lines").inc()


def _bounded_lines(stream: BinaryIO, max_bytes: int) -> Iterator[bytes | None]:
    """Lines of a stream, None for a line longer than max_bytes (skipped without holding it)."""
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        if len(line) > max_bytes:
            while line and not line.endswith(b"\n"):
                line = stream.readline(max_bytes + 1)
            yield None
        else:
            yield line


def iter_warc_records(
    stream: BinaryIO,
    source_uri: str,
    max_bytes: int,
    max_expanded_bytes: int = DEFAULT_MAX_EXPANDED_BYTES_PER_FILE,
) -> Iterator[RawDocument | dict[str, Any]]:
    """WARC HTML response/resource records -> raw documents (documents/warc.py)."""
    limit = functools.partial(limit_expansion, max_bytes=max_expanded_bytes, source_uri=source_uri)
    yield from iter_warc_documents(stream, source_uri, max_bytes, limit_stream=limit)


def _is_gzip_name(path: str) -> bool:
    return path.lower().endswith((".gz", ".gzip"))


def open_document_stream(path: str, open_file=FileSystems.open) -> BinaryIO:
    """A binary stream of the file's content, gunzipped when the name or magic bytes say gzip.

    Gzip goes through Python's gzip module rather than Beam's decompressor, so a truncated
    archive raises EOFError (a dead letter) instead of yielding a silently cut document.
    """
    raw = open_file(path, compression_type=CompressionTypes.UNCOMPRESSED)
    is_gzip = _is_gzip_name(path) or raw.read(2) == GZIP_MAGIC
    other_compression = (
        not is_gzip
        and CompressionTypes.detect_compression_type(path) != CompressionTypes.UNCOMPRESSED
    )
    if other_compression:
        # .bz2, .zst, .deflate by extension, through Beam.
        raw.close()
        return open_file(path, compression_type=CompressionTypes.AUTO)
    if raw.seekable():
        raw.seek(0)  # one open per file: opening costs more than the rest for small files
    else:
        raw.close()
        raw = open_file(path, compression_type=CompressionTypes.UNCOMPRESSED)
    return gzip.GzipFile(fileobj=raw, mode="rb") if is_gzip else raw


def iter_file_documents(
    path: str,
    max_bytes: int,
    open_file=FileSystems.open,
    max_records: int = DEFAULT_MAX_RECORDS_PER_FILE,
    max_expanded_bytes: int = DEFAULT_MAX_EXPANDED_BYTES_PER_FILE,
) -> Iterator[RawDocument | dict[str, Any]]:
    """Every document of one file, or dead letters for what cannot be read.

    `open_file(path, compression_type=...)` returns a binary stream (Beam's FileSystems.open by
    default, so gs:// works). Past `max_records` records or `max_expanded_bytes` bytes read
    (after decompression) it raises PipelineError (too_many_records, too_large_expanded): the
    caller makes the rest of the file one dead letter.
    """
    with open_document_stream(path, open_file) as stream:
        head = stream.read(_HEAD_BYTES)
        if not head.strip():
            raise PipelineError("empty_file", "the file is empty")
        # A WARC's records may hold binary payloads (gzip bodies, images) in its first bytes.
        is_warc = head.startswith(b"WARC/")
        input_format, detected_by = (
            (FORMAT_WARC, "content") if is_warc else detect_format(path, head)
        )
        if input_format not in (FORMAT_JSONL, FORMAT_WARC):
            # One document: the rest of the stream already open.
            payload = _read_bounded(stream, max_bytes, path, head)
            payload, read_fixes = as_utf8_text_bytes(payload)
            yield RawDocument(
                path, payload, input_format, detected_by=detected_by, read_fixes=read_fixes
            )
            return
    # Records are read from the start, as a stream (a file may be far larger than memory).
    with open_document_stream(path, open_file) as opened:
        stream = limit_expansion(opened, max_expanded_bytes, path)
        if input_format == FORMAT_JSONL:
            whole_file_json = strip_compression_suffix(path).lower().endswith(".json")
            records = iter_json_records(stream, path, max_bytes, whole_file_json)
        else:
            records = iter_warc_records(opened, path, max_bytes, max_expanded_bytes)
        yield from bounded_records(records, max_records, path)


# ---------------------------------------------------------------- large JSON-lines files in ranges

SPLITTABLE_SUFFIXES = (".jsonl", ".ndjson")


@dataclasses.dataclass(frozen=True)
class JsonLinesRange:
    """Bytes [start, end) of an uncompressed JSON-lines file, cut at line ends; `first_line` is
    the number of its first line in the file, so its documents keep the ids of a whole read."""

    path: str
    start: int
    end: int
    first_line: int


def _to_line_end(handle) -> None:
    while True:
        piece = handle.readline(1 << 20)
        if not piece or piece.endswith(b"\n"):
            return


def _open_uncompressed(path: str):
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def jsonl_ranges(path: str, size: int, range_bytes: int) -> tuple[list[JsonLinesRange], int]:
    """Line-aligned ranges of about `range_bytes` covering the file (local or gs://), and its
    number of lines (a last line without its newline included), from one read of the file."""
    cuts = [0]
    with _open_uncompressed(path) as handle:
        target = range_bytes
        while target < size:
            handle.seek(target - 1)  # a newline just before the target cuts at the target
            _to_line_end(handle)
            cut = handle.tell()
            if cut >= size:
                break
            cuts.append(cut)
            target = cut + range_bytes
        cuts.append(size)
        handle.seek(0)
        ranges, line, ends_with_newline = [], 1, True
        for start, end in itertools.pairwise(cuts):
            ranges.append(JsonLinesRange(path, start, end, line))
            remaining = end - start
            while remaining > 0 and (chunk := handle.read(min(remaining, 1 << 20))):
                line += chunk.count(b"\n")
                ends_with_newline = chunk.endswith(b"\n")
                remaining -= len(chunk)
    return ranges, line - 1 + (not ends_with_newline)


def _read_whole_as_json_lines(path: str) -> bool:
    """Whether a whole read (iter_file_documents) takes the file as JSON lines from its first
    bytes: not empty, not gzip by its magic bytes, not a WARC, JSON lines by name and content.
    Otherwise it reads the file another way, or makes it a dead letter: so must the ranges."""
    with _open_uncompressed(path) as handle:
        head = handle.read(_HEAD_BYTES)
    if not head.strip() or head.startswith((GZIP_MAGIC, b"WARC/")):
        return False
    try:
        return detect_format(path, head)[0] == FORMAT_JSONL
    except PipelineError:
        return False


def ranges_to_read(
    path: str, size: int, range_bytes: int, max_records: int, max_expanded_bytes: int
) -> list[JsonLinesRange]:
    """The ranges of an uncompressed JSON-lines file larger than `range_bytes`, or [] when it is
    read whole: smaller, compressed, another format, or past the per-file limits (the whole
    read cuts such a file at the limit; ranges would not)."""
    if not (
        path.lower().endswith(SPLITTABLE_SUFFIXES)
        and range_bytes < size <= max_expanded_bytes
        and _read_whole_as_json_lines(path)
    ):
        return []
    ranges, lines = jsonl_ranges(path, size, range_bytes)
    return ranges if lines <= max_records else []


def _renumbered(uri: str, first_line: int) -> str:
    path, _, line = uri.rpartition("#line=")
    return f"{path}#line={int(line) + first_line - 1}"


def iter_range_documents(
    piece: JsonLinesRange, max_bytes: int
) -> Iterator[RawDocument | dict[str, Any]]:
    """The documents and dead letters of one range, as a whole read gives them."""
    with _open_uncompressed(piece.path) as handle:
        handle.seek(piece.start)
        payload = handle.read(piece.end - piece.start)
    for item in iter_json_records(io.BytesIO(payload), piece.path, max_bytes, False):
        if isinstance(item, RawDocument):
            yield dataclasses.replace(
                item, source_uri=_renumbered(item.source_uri, piece.first_line)
            )
        else:
            item["source_uri"] = _renumbered(item["source_uri"], piece.first_line)
            yield item


class _CutLargeJsonLines(beam.DoFn):
    """FileMetadata -> itself, or the line-aligned ranges of a large JSON-lines file (so that
    the reshuffle after it spreads one big file over the workers)."""

    def __init__(self, range_bytes: int, max_records: int, max_expanded_bytes: int):
        self.limits = (range_bytes, max_records, max_expanded_bytes)

    def process(self, metadata: FileMetadata):
        ranges = ranges_to_read(metadata.path, metadata.size_in_bytes, *self.limits)
        if ranges:
            Metrics.counter("news", "read.files_in_ranges").inc()
        yield from ranges or [metadata]


class _OpenFiles(beam.DoFn):
    """FileMetadata -> fileio.ReadableFile, as fileio.ReadMatches makes it (directories
    skipped); ranges pass through."""

    def process(self, item):
        if isinstance(item, JsonLinesRange):
            yield item
        elif not item.path.endswith("/"):
            yield fileio.ReadableFile(item)


class _SplitFileIntoDocuments(beam.DoFn):
    def __init__(
        self,
        max_document_bytes: int,
        max_records: int = DEFAULT_MAX_RECORDS_PER_FILE,
        max_expanded_bytes: int = DEFAULT_MAX_EXPANDED_BYTES_PER_FILE,
    ):
        self.max_document_bytes = max_document_bytes
        self.max_records = max_records
        self.max_expanded_bytes = max_expanded_bytes
        self.files = Metrics.counter("news", "read.files")
        self.inputs = Metrics.counter("news", "inputs")
        self.failed = Metrics.counter("news", "dead_letter.read")

    def process(self, readable: fileio.ReadableFile | JsonLinesRange):
        if isinstance(readable, JsonLinesRange):
            path = readable.path
            if readable.start == 0:
                self.files.inc()
            documents = iter_range_documents(readable, self.max_document_bytes)
        else:
            path = readable.metadata.path
            self.files.inc()
            documents = iter_file_documents(
                path,
                self.max_document_bytes,
                max_records=self.max_records,
                max_expanded_bytes=self.max_expanded_bytes,
            )
        while True:
            try:
                item = next(documents)
            except StopIteration:
                return
            except Exception as error:  # noqa: BLE001 - any failure becomes a dead letter
                # Documents already yielded stay; the rest of the file is one dead letter.
                self.inputs.inc()
                error_type = "corrupt_compressed_file" if isinstance(error, _CORRUPT) else None
                yield self._dead(dead_letter(path, STAGE, error, error_type=error_type))
                return
            self.inputs.inc()
            if isinstance(item, RawDocument):
                Metrics.counter("news", f"read.format.{item.input_format}").inc()
                if item.detected_by == "content" and item.input_format != FORMAT_WARC:
                    Metrics.counter("news", "read.format_from_content").inc()
                yield item
            else:
                yield self._dead(item)

    def _dead(self, record: dict[str, Any]) -> beam.pvalue.TaggedOutput:
        self.failed.inc()
        Metrics.counter("news", f"dead_letter.{STAGE}.{record['error_type']}").inc()
        return beam.pvalue.TaggedOutput(DEAD_LETTER, record)


class ReadDocuments(beam.PTransform):
    """Input patterns (globs, directories, gs://, .gz) -> RawDocument, with dead letters.

    With `split_bytes`, an uncompressed JSON-lines file larger than that is read in
    line-aligned ranges (the same documents and ids), spread over the workers like files.
    Outputs: `documents` and `dead_letter`.
    """

    def __init__(
        self,
        patterns: list[str],
        max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
        max_records_per_file: int = DEFAULT_MAX_RECORDS_PER_FILE,
        max_expanded_bytes_per_file: int = DEFAULT_MAX_EXPANDED_BYTES_PER_FILE,
        split_bytes: int | None = None,
    ):
        super().__init__()
        self.patterns = [expand_input_pattern(pattern) for pattern in patterns]
        self.max_document_bytes = max_document_bytes
        self.limits = (max_records_per_file, max_expanded_bytes_per_file)
        self.split_bytes = split_bytes

    def expand(self, pipeline_root):
        files = (
            pipeline_root
            | "InputPatterns" >> beam.Create(self.patterns)
            | "MatchFiles" >> beam.FlatMap(match_input_pattern)
        )
        if self.split_bytes:  # same documents and ids, one big file read by many workers
            files |= "CutLargeJsonLines" >> beam.ParDo(
                _CutLargeJsonLines(self.split_bytes, *self.limits)
            )
        return (
            files
            | "SpreadFiles" >> beam.Reshuffle()
            | "OpenFiles" >> beam.ParDo(_OpenFiles())
            | "SplitFileIntoDocuments"
            >> beam.ParDo(
                _SplitFileIntoDocuments(self.max_document_bytes, *self.limits)
            ).with_outputs(DEAD_LETTER, main="documents")
        )


class ReadJsonLinesRanges(beam.PTransform):
    """Ranges of JSON-lines files (ranges_to_read) -> their documents, as ReadDocuments reads
    them (same ids, counters and dead letters). Outputs: `documents` and `dead_letter`."""

    def __init__(self, ranges: list[JsonLinesRange], max_document_bytes: int):
        super().__init__()
        self.ranges = ranges
        self.max_document_bytes = max_document_bytes

    def expand(self, pipeline_root):
        return (
            pipeline_root
            | "Ranges" >> beam.Create(self.ranges)
            | "ReadRanges"
            >> beam.ParDo(_SplitFileIntoDocuments(self.max_document_bytes)).with_outputs(
                DEAD_LETTER, main="documents"
            )
        )
