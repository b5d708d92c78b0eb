"""Write: articles -> Hive-partitioned Parquet, dead letters -> JSON lines.

Files are named after the ids they hold, written to a temporary name and renamed when
complete: a rerun or replay of the same input rewrites the same files instead of adding
copies, and a reader never sees a half-written file. Partition folders are created by the
filesystem on write (unlike `fileio.WriteToFiles`, which loses files renamed into missing
`date=.../lang=...` folders).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from pipeline.version import PIPELINE_VERSION
from schemas import ARTICLE_SCHEMA, UNKNOWN_DATE_PARTITION
from transforms.records import Article

DEAD_LETTER_DIR = "_dead_letter"
DEFAULT_ROWS_PER_FILE = 50_000
PARQUET_COMPRESSION = "zstd"
# Temporary files of atomic writes: `.<name>.<random>.inprogress` (a rerun removes them).
TEMPORARY_SUFFIX = ".inprogress"
# Files of a run not yet committed (pipeline/output_state.py): never matched by *.parquet.
STAGED_SUFFIX = ".staged"


def partition_path(article: Article) -> str:
    """`date=YYYY-MM-DD/lang=xx` (UTC date of publication; Hive's null marker when unknown)."""
    if article.published_at is None:
        date = UNKNOWN_DATE_PARTITION
    else:
        date = article.published_at.astimezone(dt.timezone.utc).date().isoformat()
    return f"date={date}/lang={article.language}"


def shard_of(stable_id: str, shards: int) -> int:
    return int(hashlib.blake2b(stable_id.encode(), digest_size=4).hexdigest(), 16) % shards


def articles_to_parquet(rows: list[dict[str, Any]]) -> bytes:
    table = pa.Table.from_pylist(rows, schema=ARTICLE_SCHEMA)
    metadata = {
        **(table.schema.metadata or {}),
        b"news_pipeline.version": PIPELINE_VERSION.encode(),
    }
    buffer = io.BytesIO()
    pq.write_table(table.replace_schema_metadata(metadata), buffer, compression=PARQUET_COMPRESSION)
    return buffer.getvalue()


def dead_letters_to_jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(
        json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n" for row in rows
    ).encode()


def write_file_atomically(directory: str, name: str, payload: bytes) -> str:
    """Write `payload` to directory/name through a temporary file and a rename."""
    final_path = FileSystems.join(directory, name)
    temporary_path = FileSystems.join(directory, f".{name}.{uuid.uuid4().hex}{TEMPORARY_SUFFIX}")
    with FileSystems.create(temporary_path) as handle:
        handle.write(payload)
    if FileSystems.exists(final_path):
        FileSystems.delete([final_path])
    FileSystems.rename([temporary_path], [final_path])
    return final_path


def write_file_staged(directory: str, name: str, payload: bytes) -> str:
    """Write `payload` to directory/name.staged directly: a staged file is only moved into
    place once the whole run has finished, and a retried bundle rewrites the same name."""
    path = FileSystems.join(directory, name + STAGED_SUFFIX)
    with FileSystems.create(path) as handle:
        handle.write(payload)
    return path


def file_digest(ids: list[str]) -> str:
    """A file's name part: the same ids give the same name, on any machine or rerun."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:20]


class _WriteShard(beam.DoFn):
    """((folder, shard), rows) -> one file, named after the sorted ids it holds."""

    def __init__(
        self,
        output_dir: str,
        prefix: str,
        suffix: str,
        sort_key: Callable[[dict], str],
        encode: Callable[[list[dict]], bytes],
        counter_name: str,
        staged: bool = False,
    ):
        self.output_dir = output_dir
        self.write_file = write_file_staged if staged else write_file_atomically
        self.prefix = prefix
        self.suffix = suffix
        self.sort_key = sort_key
        self.encode = encode
        self.rows_written = Metrics.counter("news", f"{counter_name}.rows")
        self.files_written = Metrics.counter("news", f"{counter_name}.files")

    def process(self, item):
        (folder, _shard), rows = item
        rows = sorted(rows, key=self.sort_key)
        digest = file_digest(list(map(self.sort_key, rows)))
        path = self.write_file(
            FileSystems.join(self.output_dir, folder),
            f"{self.prefix}-{digest}{self.suffix}",
            self.encode(rows),
        )
        self.rows_written.inc(len(rows))
        self.files_written.inc()
        yield path


class _WriteShardedFiles(beam.PTransform):
    """(folder, row) pairs -> files of about `rows_per_file` rows (hash-sharded by id)."""

    def __init__(
        self,
        output_dir,
        prefix,
        suffix,
        id_of,
        encode,
        counter_name,
        rows_per_file,
        rows_per_folder=None,
        staged=False,
    ):
        super().__init__()
        self.output_dir = output_dir
        self.id_of = id_of
        self.rows_per_file = rows_per_file
        self.rows_per_folder = rows_per_folder
        self.write = _WriteShard(output_dir, prefix, suffix, id_of, encode, counter_name, staged)

    def expand(self, folder_and_rows):
        id_of, max_rows = self.id_of, self.rows_per_file
        rows_per_folder = self.rows_per_folder
        if rows_per_folder is None:
            rows_per_folder = (
                folder_and_rows | "CountRowsPerFolder" >> beam.combiners.Count.PerKey()
            )

        def key_by_shard(item, counts):
            folder, row = item
            shards = max(1, math.ceil(counts.get(folder, 1) / max_rows))
            return (folder, shard_of(id_of(row), shards)), row

        return (
            folder_and_rows
            | "KeyByShard" >> beam.Map(key_by_shard, counts=beam.pvalue.AsDict(rows_per_folder))
            | "GroupShards" >> beam.GroupByKey()
            | "WriteFiles" >> beam.ParDo(self.write)
        )


class CountRowsPerPartition(beam.PTransform):
    """Articles -> (partition folder, count): how many files WritePartitionedParquet shards
    each partition into. Counted upstream of dedup (`expected_rows`), the writer need not
    wait for its own input to be counted, which the local runner would hold in memory."""

    def expand(self, articles):
        return (
            articles
            | "PartitionOf" >> beam.Map(partition_path)
            | "CountPerPartition" >> beam.combiners.Count.PerElement()
        )


class WritePartitionedParquet(beam.PTransform):
    """Articles -> output/date=.../lang=.../part-<digest>.parquet (zstd, schemas.ARTICLE_SCHEMA).

    `expected_rows`: optional PCollection of CountRowsPerPartition; by default the articles
    written are counted. Either way the count only sets the number of files per partition
    (ceil(count / rows_per_file)), so the same input always gives the same files.
    `staged`: files get a `.staged` suffix, for a run's staging folder (output_state.py).
    """

    def __init__(
        self,
        output_dir: str,
        rows_per_file: int = DEFAULT_ROWS_PER_FILE,
        expected_rows=None,
        staged: bool = False,
    ):
        super().__init__()
        self.output_dir = output_dir
        self.rows_per_file = rows_per_file
        self.expected_rows = expected_rows
        self.staged = staged

    def expand(self, articles):
        return (
            articles
            | "ToPartitionedRows"
            >> beam.Map(lambda article: (partition_path(article), article.to_row()))
            | "WriteParquet"
            >> _WriteShardedFiles(
                self.output_dir,
                "part",
                ".parquet",
                lambda row: row["doc_id"],
                articles_to_parquet,
                "write.articles",
                self.rows_per_file,
                self.expected_rows,
                self.staged,
            )
        )


def _dead_letter_id(row: dict[str, Any]) -> str:
    return f"{row['source_uri']}\t{row['stage']}"


class WriteDeadLetters(beam.PTransform):
    """Dead-letter dicts -> output/_dead_letter/dead_letters-<digest>.jsonl."""

    def __init__(
        self, output_dir: str, rows_per_file: int = DEFAULT_ROWS_PER_FILE, staged: bool = False
    ):
        super().__init__()
        self.output_dir = output_dir
        self.rows_per_file = rows_per_file
        self.staged = staged

    def expand(self, dead_letters: Iterable[dict]):
        return (
            dead_letters
            | "IntoDeadLetterFolder" >> beam.Map(lambda row: (DEAD_LETTER_DIR, row))
            | "WriteJsonLines"
            >> _WriteShardedFiles(
                self.output_dir,
                "dead_letters",
                ".jsonl",
                _dead_letter_id,
                dead_letters_to_jsonl,
                "write.dead_letters",
                self.rows_per_file,
                staged=self.staged,
            )
        )


class _WriteArticlesEachBundleFn(beam.DoFn):
    """Article -> Parquet files written when the bundle finishes, one per partition, named
    after the ids they hold and renamed into place whole. On the local live runner a bundle
    is one tick, so a new entry is queryable as soon as its tick ends."""

    def __init__(self, output_dir: str, after_bundle: Callable[[dict], None] | None):
        self.output_dir = output_dir
        self.after_bundle = after_bundle
        self.rows_written = Metrics.counter("news", "write.articles.rows")
        self.files_written = Metrics.counter("news", "write.articles.files")

    def start_bundle(self):
        self.partitions: dict[str, list[dict[str, Any]]] = {}

    def process(self, article: Article):
        self.partitions.setdefault(partition_path(article), []).append(article.to_row())

    def finish_bundle(self):
        rows_by_feed: dict[str, int] = {}
        for folder, rows in sorted(self.partitions.items()):
            rows.sort(key=lambda row: row["doc_id"])
            write_file_atomically(
                FileSystems.join(self.output_dir, folder),
                f"part-{file_digest([row['doc_id'] for row in rows])}.parquet",
                articles_to_parquet(rows),
            )
            self.rows_written.inc(len(rows))
            self.files_written.inc()
            for row in rows:
                feed = row.get("feed_url") or ""
                rows_by_feed[feed] = rows_by_feed.get(feed, 0) + 1
        written = sum(rows_by_feed.values())
        self.partitions = {}
        if self.after_bundle is not None:
            # Every bundle, written or not: the summary also shows polls and 304s.
            self.after_bundle({"rows": written, "rows_by_feed": rows_by_feed})


class _WriteDeadLettersEachBundleFn(beam.DoFn):
    def __init__(self, output_dir: str, after_bundle: Callable[[dict], None] | None):
        self.output_dir = output_dir
        self.after_bundle = after_bundle
        self.dead_letters_written = Metrics.counter("news", "write.dead_letters.rows")

    def start_bundle(self):
        self.records: list[dict[str, Any]] = []

    def process(self, record: dict):
        self.records.append(record)

    def finish_bundle(self):
        if not self.records:
            return
        records, self.records = sorted(self.records, key=_dead_letter_id), []
        write_file_atomically(
            FileSystems.join(self.output_dir, DEAD_LETTER_DIR),
            # A feed failing at every poll repeats its record: the time tells them apart.
            f"dead_letters-{file_digest([_dead_letter_id(r) + r['failed_at'] for r in records])}"
            ".jsonl",
            dead_letters_to_jsonl(records),
        )
        self.dead_letters_written.inc(len(records))
        if self.after_bundle is not None:
            self.after_bundle({"dead_letters": len(records)})


class WriteArticlesEachBundle(beam.PTransform):
    """Live: articles -> Parquet as each bundle ends (the input never ends). No GroupByKey and
    no Flatten, so on the local runner it stays fused with the steps before it.
    `after_bundle(written)` runs after each bundle's files are in place."""

    def __init__(self, output_dir: str, after_bundle=None):
        super().__init__()
        self.output_dir = output_dir
        self.after_bundle = after_bundle

    def expand(self, articles):
        return articles | "WriteFiles" >> beam.ParDo(
            _WriteArticlesEachBundleFn(self.output_dir, self.after_bundle)
        )


class WriteDeadLettersEachBundle(beam.PTransform):
    """Live: one step's dead letters -> a JSON-lines file as each bundle ends."""

    def __init__(self, output_dir: str, after_bundle=None):
        super().__init__()
        self.output_dir = output_dir
        self.after_bundle = after_bundle

    def expand(self, dead_letters):
        return dead_letters | "WriteFiles" >> beam.ParDo(
            _WriteDeadLettersEachBundleFn(self.output_dir, self.after_bundle)
        )
