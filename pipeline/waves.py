"""Local batch runs in bounded waves: memory flat in the size of the input, the same rows.

The unbounded graph (pipeline.graph) holds every article in the local runner's memory between
extraction and cleaning (cleaning waits for the whole run's statistics) and again between
enrichment and dedup. Here the same composites run as a few Beam pipelines on the local runner,
each over a bounded share of the work, with what lies between them on disk:

1. extract, one wave of input files at a time: ReadDocuments and ExtractArticles fused with a
   step that spills each article to disk (pickles, gzip level 1) and counts its source's short
   lines in a run-scoped StateStore (SQLite), plus the words of lowercased articles;
2. word casings (only when the run has lowercased articles), from the spilled cased articles;
3. clean and enrich every spilled article with the whole input's statistics (a small side
   input), then spill each by its content hash into one of B buckets;
4. write, one bucket at a time: every copy of a text is in the same bucket, so
   DropExactDuplicates and WritePartitionedParquet keep exactly the rows of the unbounded run
   (files differ: a partition's rows are spread over one file per bucket).

Nothing grows with N in memory but the per-source learned lines, the casings of the run's
lowercased words, and one bucket (about `wave_size` articles) in the last pass.

Each pass is cut into shares (files in, spill files out), each share one pipeline run
in-process; with --direct_num_workers N > 1, N worker processes started once for the run take
the shares (PassRunner).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import hashlib
import math
import multiprocessing
import os
import pickle
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions

from pipeline.options import NewsPipelineOptions
from pipeline.output_state import DropAlreadyWritten, OutputRun
from pipeline.summary import build_summary, counter_totals, format_summary, write_summary
from pipeline.version import PIPELINE_VERSION
from transforms.clean import CleanArticles, CorpusStatistics
from transforms.corpus_stats import is_learned_boilerplate, short_line_fingerprints
from transforms.dedup import DropExactDuplicates
from transforms.documents.formats import COMPRESSION_SUFFIXES
from transforms.enrich import EnrichMetadata
from transforms.extract import ExtractArticles
from transforms.read import (
    JsonLinesRange,
    ReadDocuments,
    ReadJsonLinesRanges,
    expand_input_pattern,
    ranges_to_read,
)
from transforms.records import DEAD_LETTER
from transforms.state.store import StateStore
from transforms.text.truecase import (
    count_casings,
    is_lowercased,
    lowercased_vocabulary,
    merge_casings,
)
from transforms.write import (
    STAGED_SUFFIX,
    CountRowsPerPartition,
    WriteDeadLetters,
    WritePartitionedParquet,
    articles_to_parquet,
    file_digest,
    shard_of,
    write_file_atomically,
    write_file_staged,
)

# Without --wave_size, a local batch run goes in waves of this many files when its input is
# more than one wave: more files, or more bytes than AUTO_WAVES_ABOVE_BYTES (a compressed file
# counting COMPRESSED_WEIGHT times its size). The graph in one piece holds 70-90 KB per
# article in memory: 64 MB of JSON lines can be 100,000 articles.
DEFAULT_WAVE_SIZE = 1000
AUTO_WAVES_ABOVE_BYTES = 64 * 1024 * 1024
COMPRESSED_WEIGHT = 10
# Items per spill file: several files per worker, so the next pass can share them out.
SPILL_FILE_ITEMS = 500
# Per-source line counts written to the store in batches of this many documents.
STORE_BATCH_DOCUMENTS = 500
# Open bucket files per worker are bounded by this.
MAX_BUCKETS = 512
# A dedup bucket holds about --wave_size articles, or more when they are short: up to this many
# bytes of spilled articles (gzip level 1). A million short records had made 512 buckets, each
# a pipeline to build and a file in every partition. A bucket is held whole by the write pass:
# 16 MB (10,000 news pages) raised a worker's peak by a quarter at 20,000 pages; 4 MB is about
# 2,500 pages, or 10,000 short records.
WRITE_BUCKET_BYTES = 4 * 1024 * 1024
# With several workers a pass is cut into at least two shares per worker, but no share of the
# extract pass has fewer input files than this (each share is a pipeline to build and run).
MIN_SHARE_FILES = 20
# Spill files per share of the clean pass: it streams, so only its dead letters (held until
# the share's end) bound it.
CLEAN_SHARE_FILES = 40
# With several workers a JSON-lines file larger than this is cut into ranges for all of them.
MIN_RANGE_BYTES = 4 * 1024 * 1024
SPILL_SUFFIX = ".pkl.gz"


# ---------------------------------------------------------------- spill files


class SpillWriter:
    """Pickled items into gzip files of at most `max_items` each, under `directory`."""

    def __init__(self, directory: str, prefix: str, max_items: int = SPILL_FILE_ITEMS):
        self.directory = directory
        self.prefix = prefix
        self.max_items = max_items
        self._handle = None
        self._items = 0

    def write(self, item) -> None:
        if self._handle is None or self._items >= self.max_items:
            self.close()
            os.makedirs(self.directory, exist_ok=True)
            name = f"{self.prefix}-{uuid.uuid4().hex}{SPILL_SUFFIX}"
            path = os.path.join(self.directory, name)
            self._handle = gzip.open(path, "wb", compresslevel=1)  # noqa: SIM115 - closed in close()
            self._items = 0
        pickle.dump(item, self._handle, protocol=pickle.HIGHEST_PROTOCOL)
        self._items += 1

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def read_spill(path: str) -> Iterator:
    with gzip.open(path, "rb") as handle:
        while True:
            try:
                yield pickle.load(handle)
            except EOFError:
                return


def spill_files(directory: str) -> list[str]:
    if not os.path.isdir(directory):
        return []
    return sorted(
        os.path.join(directory, name)
        for name in os.listdir(directory)
        if name.endswith(SPILL_SUFFIX)
    )


def save_pickle(item, path: str) -> str:
    with open(path, "wb") as handle:
        pickle.dump(item, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def load_pickle(path: str):
    with open(path, "rb") as handle:
        return pickle.load(handle)


def text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


# ---------------------------------------------------------------- waves of input files


def list_input_files(patterns: list[str]) -> list[tuple[str, int]]:
    """(path, size) of every file the patterns match, each once, in a stable order."""
    found: dict[str, int] = {}
    for pattern in patterns:
        for match in FileSystems.match([expand_input_pattern(pattern)])[0].metadata_list:
            found.setdefault(match.path, match.size_in_bytes)
    return sorted(found.items())


def auto_wave_size(files: list[tuple[str, int]]) -> int:
    """The wave size of a run without --wave_size: 0 (one graph) for an input of one wave."""
    weight = sum(
        size * (COMPRESSED_WEIGHT if path.lower().endswith(COMPRESSION_SUFFIXES) else 1)
        for path, size in files
    )
    if len(files) > DEFAULT_WAVE_SIZE or weight > AUTO_WAVES_ABOVE_BYTES:
        return DEFAULT_WAVE_SIZE
    return 0


def plan_waves(
    files: list[tuple[str, int]], max_files: int, max_bytes: int | None = None
) -> list[list[str]]:
    """Consecutive groups of at most `max_files` files and (but for a single larger file)
    `max_bytes` bytes."""
    waves: list[list[str]] = []
    current: list[str] = []
    current_bytes = 0
    for path, size in files:
        too_many = len(current) >= max_files
        too_big = max_bytes is not None and current and current_bytes + size > max_bytes
        if current and (too_many or too_big):
            waves.append(current)
            current, current_bytes = [], 0
        current.append(path)
        current_bytes += size
    if current:
        waves.append(current)
    return waves


# ---------------------------------------------------------------- pass 1: extract and count


class _SpillAndCount(beam.DoFn):
    """Article -> spilled to disk; its source's short lines counted in the store; the words of
    a lowercased article kept for the casing pass. Outputs nothing."""

    def __init__(self, spill_dir: str, store_path: str):
        self.spill_dir = spill_dir
        self.store_path = store_path

    def setup(self):
        self.store = StateStore(self.store_path)

    def start_bundle(self):
        self.articles = SpillWriter(os.path.join(self.spill_dir, "articles"), "a")
        self.pending: list[tuple[str, str, set[str]]] = []
        self.vocabulary: set[str] = set()

    def process(self, article):
        self.articles.write(article)
        self.pending.append(
            (article.source_key, text_digest(article.text), short_line_fingerprints(article.text))
        )
        self.vocabulary |= lowercased_vocabulary(article.text)
        if len(self.pending) >= STORE_BATCH_DOCUMENTS:
            self._flush()
        return ()

    def _flush(self):
        self.store.add_source_documents(self.pending)
        self.pending = []

    def finish_bundle(self):
        self._flush()
        self.articles.close()
        if self.vocabulary:
            words = SpillWriter(os.path.join(self.spill_dir, "vocabulary"), "v")
            words.write(self.vocabulary)
            words.close()

    def teardown(self):
        self.store.close()


@dataclasses.dataclass(frozen=True)
class WaveOutput:
    """Where a run in waves writes: the output run's staging folder (files are moved into the
    output at the end, as in pipeline.graph) and the article files already in the output,
    whose texts are not written again."""

    write_dir: str
    staged: bool = False
    dedup_files: tuple[str, ...] = ()

    @classmethod
    def of(cls, output: str, output_run: OutputRun | None) -> WaveOutput:
        if output_run is None:
            return cls(output)
        return cls(output_run.staging_dir, True, tuple(output_run.dedup_files))


def build_extract_wave(
    pipeline, options: NewsPipelineOptions, wave, spill_dir, store_path, output: WaveOutput
):
    """`wave`: paths of whole files and JsonLinesRange pieces of large ones."""
    paths = [item for item in wave if isinstance(item, str)]
    ranges = [item for item in wave if isinstance(item, JsonLinesRange)]
    documents, dead_letters = [], []
    if paths:
        read = pipeline | "ReadDocuments" >> ReadDocuments(
            paths,
            options.max_document_bytes,
            options.max_records_per_file,
            options.max_expanded_bytes_per_file,
        )
        documents.append(read.documents)
        dead_letters.append(read[DEAD_LETTER])
    if ranges:
        read_ranges = pipeline | "ReadJsonLinesRanges" >> ReadJsonLinesRanges(
            ranges, options.max_document_bytes
        )
        documents.append(read_ranges.documents)
        dead_letters.append(read_ranges[DEAD_LETTER])
    all_documents = documents[0]
    if len(documents) > 1:
        all_documents = documents | "AllDocuments" >> beam.Flatten()
    extracted = all_documents | "ExtractArticles" >> ExtractArticles(
        options.max_seconds_per_document
    )
    _ = extracted.main | "SpillAndCount" >> beam.ParDo(_SpillAndCount(spill_dir, store_path))
    (
        (*dead_letters, extracted[DEAD_LETTER])
        | "ExtractDeadLetters" >> beam.Flatten()
        | "WriteDeadLetters" >> WriteDeadLetters(output.write_dir, staged=output.staged)
    )


# ---------------------------------------------------------------- statistics between passes


def learned_boilerplate(
    store: StateStore, min_docs: int, min_share: float
) -> dict[str, frozenset[str]]:
    """{source_key: learned template lines} of the whole input, by the rule of the batch graph."""
    documents = store.source_document_counts()
    learned: dict[str, set[str]] = {}
    for source_key, fingerprint, count in store.source_lines_seen(min_documents=2):
        if is_learned_boilerplate(count, documents.get(source_key, 0), min_docs, min_share):
            learned.setdefault(source_key, set()).add(fingerprint)
    return {source_key: frozenset(lines) for source_key, lines in learned.items()}


def count_share_casings(
    article_files: list[str], vocabulary: frozenset[str]
) -> tuple[dict[str, Counter], int]:
    """Casings of the vocabulary's words in the cased articles of some spill files
    (LearnCorpusStatistics' rule), unfiltered; also how many articles taught them."""
    merged: dict[str, Counter] = {}
    taught = 0
    if not vocabulary:
        return merged, taught
    for path in article_files:
        for article in read_spill(path):
            if not is_lowercased(article.text):
                taught += 1
                merge_casings(merged, count_casings(article.text, vocabulary))
    return merged, taught


def learn_casings(shares: list[tuple[dict[str, Counter], int]]) -> tuple[dict, int]:
    """The casings of the whole input from those of its shares, and how many articles taught
    them."""
    merged: dict[str, Counter] = {}
    for casings, _ in shares:
        merge_casings(merged, casings)
    # Words only ever seen lowercase teach nothing the default does not do.
    casings = {word: forms for word, forms in merged.items() if set(forms) != {word}}
    return casings, sum(taught for _, taught in shares)


# ---------------------------------------------------------------- pass 2: clean and enrich


def dedup_buckets(articles: int, spilled_bytes: int, wave_size: int) -> int:
    """How many dedup buckets the write pass takes: one per wave_size articles, fewer when
    that many articles spill under WRITE_BUCKET_BYTES (each bucket is held whole)."""
    by_count = math.ceil(articles / wave_size)
    by_bytes = math.ceil(spilled_bytes / WRITE_BUCKET_BYTES)
    return max(1, min(MAX_BUCKETS, by_count, by_bytes))


def bucket_of(content_sha256: str, buckets: int) -> int:
    return int(content_sha256[:8], 16) % buckets


class _SpillIntoBuckets(beam.DoFn):
    """Enriched article -> spilled into the bucket of its content hash."""

    def __init__(self, spill_dir: str, buckets: int):
        self.spill_dir = spill_dir
        self.buckets = buckets

    def start_bundle(self):
        self.writers: dict[int, SpillWriter] = {}

    def process(self, article):
        bucket = bucket_of(article.content_sha256, self.buckets)
        writer = self.writers.get(bucket)
        if writer is None:
            directory = os.path.join(self.spill_dir, f"bucket-{bucket:04d}")
            writer = self.writers[bucket] = SpillWriter(directory, "e", max_items=10**9)
        writer.write(article)
        return ()

    def finish_bundle(self):
        for writer in self.writers.values():
            writer.close()


def build_clean_pass(
    pipeline,
    options: NewsPipelineOptions,
    article_files: list[str],
    statistics_file: str,
    ingested_at: dt.datetime,
    spill_dir: str,
    buckets: int,
    output: WaveOutput,
):
    articles = (
        pipeline
        | "SpilledArticles" >> beam.Create(article_files)
        | "ReadSpill" >> beam.FlatMap(read_spill)
    )
    # The statistics travel as a file: beam.Create of the object would encode the whole
    # input's tables into every share's pipeline.
    statistics_input = (
        pipeline
        | "StatisticsFile" >> beam.Create([statistics_file])
        | "LoadStatistics" >> beam.Map(load_pickle)
    )
    cleaned = articles | "CleanArticles" >> CleanArticles(
        beam.pvalue.AsSingleton(statistics_input),
        options.min_words,
        options.max_seconds_per_document,
    )
    enriched = cleaned.main | "EnrichMetadata" >> EnrichMetadata(ingested_at)
    _ = enriched.main | "SpillIntoBuckets" >> beam.ParDo(_SpillIntoBuckets(spill_dir, buckets))
    (
        (cleaned[DEAD_LETTER], enriched[DEAD_LETTER])
        | "CleanDeadLetters" >> beam.Flatten()
        | "WriteDeadLetters" >> WriteDeadLetters(output.write_dir, staged=output.staged)
    )


# ---------------------------------------------------------------- pass 3: dedup and write


def build_write_bucket(
    pipeline, options: NewsPipelineOptions, bucket_files: list[str], output: WaveOutput
):
    articles = (
        pipeline
        | "BucketFiles" >> beam.Create(bucket_files)
        | "ReadBucket" >> beam.FlatMap(read_spill)
    )
    expected_rows = articles | "CountRowsPerPartition" >> CountRowsPerPartition()
    articles = articles | "DropExactDuplicates" >> DropExactDuplicates()
    if output.dedup_files:
        articles = articles | "DropAlreadyWritten" >> DropAlreadyWritten(list(output.dedup_files))
    (
        articles
        | "WritePartitionedParquet"
        >> WritePartitionedParquet(
            output.write_dir, options.rows_per_file, expected_rows, output.staged
        )
    )


# ---------------------------------------------------------------- pass 4: one file per partition


def compact_partition(folder: str, files: list[str], rows_per_file: int, suffix: str) -> int:
    """The article files of one partition folder, one per dedup bucket, rewritten as the
    one-graph writer lays out a partition: ceil(rows / rows_per_file) files, rows sharded by
    doc_id and sorted, named after the ids they hold. Returns how many files fewer
    the partition has. Holds one output file's rows at a time."""
    rows = 0
    for path in files:
        with FileSystems.open(path) as handle:
            rows += pq.ParquetFile(handle).metadata.num_rows
    shards = max(1, math.ceil(rows / rows_per_file))
    write = write_file_staged if suffix.endswith(STAGED_SUFFIX) else write_file_atomically
    written = set()
    for shard in range(shards):
        shard_rows = []
        for path in files:
            with FileSystems.open(path) as handle:
                table_rows = pq.read_table(handle).to_pylist()
            shard_rows += [
                r for r in table_rows if shards == 1 or shard_of(r["doc_id"], shards) == shard
            ]
        if not shard_rows:
            continue
        shard_rows.sort(key=lambda row: row["doc_id"])
        name = f"part-{file_digest([row['doc_id'] for row in shard_rows])}.parquet"
        written.add(write(folder, name, articles_to_parquet(shard_rows)))
    stale = [path for path in files if path not in written]
    if stale:
        FileSystems.delete(stale)
    return len(files) - len(written)


def partitions_to_compact(write_dir: str, staged: bool) -> list[tuple[str, list[str]]]:
    """(partition folder, its article files) of the partitions written in more than one file."""
    suffix = ".parquet" + (STAGED_SUFFIX if staged else "")
    pattern = FileSystems.join(write_dir, "**", "*" + suffix)
    by_folder: dict[str, list[str]] = {}
    for match in FileSystems.match([pattern])[0].metadata_list:
        folder, name = match.path.rsplit("/", 1)
        if not name.startswith("part-") or "/_" in folder[len(write_dir) :]:
            continue
        by_folder.setdefault(folder, []).append(match.path)
    return sorted((folder, sorted(paths)) for folder, paths in by_folder.items() if len(paths) > 1)


# ---------------------------------------------------------------- the driver


def _run_beam(options: PipelineOptions, runner_factory, build, *args) -> dict[str, int]:
    pipeline = beam.Pipeline(runner=runner_factory(options), options=options)
    build(pipeline, options.view_as(NewsPipelineOptions), *args)
    result = pipeline.run()
    result.wait_until_finish()
    return counter_totals(result)


def _in_process_options(options: PipelineOptions) -> dict:
    """The run's options for one in-process worker (each pass's pipelines run that way)."""
    return {
        **options.get_all_options(drop_default=True),
        "direct_num_workers": 1,
        "direct_running_mode": "in_memory",
    }


def _run_task(options: dict, runner_factory, build, args: tuple) -> dict[str, int]:
    """One pipeline of a pass, in whichever process runs it."""
    return _run_beam(PipelineOptions.from_dictionary(options), runner_factory, build, *args)


def local_workers(options: PipelineOptions) -> int:
    """--direct_num_workers (0: one per core)."""
    workers = options.view_as(DirectOptions).direct_num_workers
    return workers if workers > 0 else (os.cpu_count() or 1)


def _start_method() -> str:
    """fork on Linux: workers start with the driver's modules loaded (importing Beam, trafilatura
    and the language profiles costs a few CPU seconds per process). The driver creates its
    workers before it opens a file, a database or a thread. spawn elsewhere (macOS and Windows
    libraries do not survive a fork)."""
    return "fork" if sys.platform.startswith("linux") else "spawn"


def _load_before_fork() -> None:
    """What every worker would load on its first document, loaded once in the driver."""
    from transforms.text.language import detect_language

    detect_language("Loaded once before the workers start, so that each does not load it again.")


class PassRunner:
    """Runs the pipelines of each pass: in this process with one worker, else over `workers`
    processes started once for the whole run.

    Beam's multi-process local runner starts new workers for every pipeline and sends every
    element through the runner process; waves run many short pipelines, so the start-up of
    each would cost more than the work it shares out. Here each worker runs whole pipelines
    in-process on its own share of a pass (files in, spill files out), and only counters come
    back.
    """

    def __init__(self, options: PipelineOptions, runner_factory, workers: int):
        self.options = _in_process_options(options)
        self.runner_factory = runner_factory
        self.workers = workers
        self._executor = None
        if workers > 1 and _start_method() == "fork":
            _load_before_fork()
        if workers > 1:
            self._executor = ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context(_start_method())
            )
            self._executor.submit(os.getpid).result()  # every worker starts now (fork: all)

    def run_all(self, build, tasks: list[tuple], on_done=None) -> Counter:
        """Counters summed over one pipeline per task, each `build(pipeline, news, *task)`."""
        totals: Counter = Counter()
        if self._executor is None:
            for args in tasks:
                totals.update(_run_task(self.options, self.runner_factory, build, args))
                if on_done:
                    on_done()
            return totals
        futures = [
            self._executor.submit(_run_task, self.options, self.runner_factory, build, args)
            for args in tasks
        ]
        try:
            for future in as_completed(futures):
                totals.update(future.result())
                if on_done:
                    on_done()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        return totals

    def map(self, function, tasks: list[tuple]) -> list:
        """[function(*task) for task in tasks], over the workers (for plain steps between
        the passes: `function` must be importable by name)."""
        if self._executor is None:
            return [function(*args) for args in tasks]
        return list(self._executor.map(function, *zip(*tasks, strict=True))) if tasks else []

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)


def share_out(
    items: list, max_per_share: int, workers: int, min_per_share: int = 1, per_worker: int = 2
) -> list[list]:
    """Consecutive shares of at most `max_per_share` items, and with several workers at least
    `per_worker` shares per worker (a worker that finishes early takes the next) when each
    keeps at least `min_per_share` items."""
    if not items:
        return []
    size = share_size(len(items), max_per_share, workers, min_per_share, per_worker)
    return [items[i : i + size] for i in range(0, len(items), size)]


def share_size(
    items: int, max_per_share: int, workers: int, min_per_share: int = 1, per_worker: int = 2
) -> int:
    """Items per share: at most `max_per_share`; with several workers, small enough for
    `per_worker` shares per worker, but not under `min_per_share`."""
    if workers == 1:
        return max(1, max_per_share)
    return max(1, min(max_per_share, max(min_per_share, math.ceil(items / (per_worker * workers)))))


class _PassProgress:
    """One line per finished share of a pass on stderr (not with --quiet)."""

    def __init__(self, name: str, shares: int, quiet: bool):
        self.name, self.shares, self.done = name, shares, 0
        self.quiet = quiet or shares == 0
        self.started = time.monotonic()

    def __call__(self) -> None:
        self.done += 1
        if not self.quiet:
            elapsed = time.monotonic() - self.started
            print(
                f"waves: {self.name} {self.done}/{self.shares} ({elapsed:.0f} s)",
                file=sys.stderr,
                flush=True,
            )


def plan_extract_shares(
    news: NewsPipelineOptions, files: list[tuple[str, int]], workers: int
) -> list[list]:
    """Shares of the extract pass: whole files (at most --wave_size files and --wave_bytes
    bytes each) and line-aligned ranges of large JSON-lines files (at most --split_bytes; with
    several workers, a file of more than MIN_RANGE_BYTES is cut for all of them)."""

    def range_bytes(size: int) -> int:
        if workers == 1:
            return news.split_bytes
        return min(news.split_bytes, max(MIN_RANGE_BYTES, math.ceil(size / (2 * workers))))

    ranged, whole = [], []
    limits = (news.max_records_per_file, news.max_expanded_bytes_per_file)
    for path, size in files:
        if ranges := ranges_to_read(path, size, range_bytes(size), *limits):
            ranged.append(ranges)
        else:
            whole.append((path, size))
    per_share = share_size(len(whole), news.wave_size, workers, MIN_SHARE_FILES)
    shares: list[list] = plan_waves(whole, per_share, news.wave_bytes)
    for ranges in ranged:
        # One range per share: each is a bounded stream, and workers take them in turn.
        shares += [[piece] for piece in ranges]
    return shares


def run_in_waves(
    options: PipelineOptions,
    ingested_at: dt.datetime,
    runner_factory,
    output_run: OutputRun | None = None,
    input_files: list[tuple[str, int]] | None = None,
) -> dict:
    """The batch run of pipeline.graph.run in bounded waves; returns the run summary.

    `runner_factory(options)` builds the local runner of one pipeline. With `output_run`, files
    are staged, committed at the end, and texts the output holds are skipped (output_state.py).
    `input_files`: (path, size) of the input, when the caller has listed it already.
    """
    news = options.view_as(NewsPipelineOptions)
    quiet = bool(getattr(news, "quiet", False))
    workers = local_workers(options)
    work_root = news.state_dir or os.path.join(news.output, "_state")
    os.makedirs(work_root, exist_ok=True)
    work = tempfile.mkdtemp(prefix="waves-", dir=work_root)
    totals: Counter = Counter()
    passes = PassRunner(options, runner_factory, workers)
    output = WaveOutput.of(news.output, output_run)
    try:
        store = StateStore(os.path.join(work, "statistics.sqlite"))
        if input_files is None:
            input_files = list_input_files(news.input)
        waves = plan_extract_shares(news, input_files, workers)
        totals.update(
            passes.run_all(
                build_extract_wave,
                [(paths, work, store.path, output) for paths in waves],
                _PassProgress("extract", len(waves), quiet),
            )
        )
        article_files = spill_files(os.path.join(work, "articles"))
        words: set[str] = set()
        for path in spill_files(os.path.join(work, "vocabulary")):
            for share_words in read_spill(path):
                words |= share_words
        vocabulary = frozenset(words)
        # Casings only matter for the run's lowercased articles; counted over the workers.
        casing_shares = share_out(article_files, len(article_files), workers) if words else []
        casings, taught = learn_casings(
            passes.map(count_share_casings, [(share, vocabulary) for share in casing_shares])
        )
        totals["stats.casings_learned_from"] += taught
        statistics = CorpusStatistics(
            boilerplate_lines=learned_boilerplate(
                store, news.boilerplate_min_docs, news.boilerplate_min_share
            ),
            casings=casings,
        )
        store.close()
        buckets = dedup_buckets(
            totals.get("extract.ok", 0), sum(map(os.path.getsize, article_files)), news.wave_size
        )
        statistics_file = save_pickle(statistics, os.path.join(work, "statistics.pkl"))
        # One share per worker: articles cost about the same to clean, and each share is a
        # pipeline to build (about half a CPU-second).
        clean_shares = share_out(article_files, CLEAN_SHARE_FILES, workers, per_worker=1)
        totals.update(
            passes.run_all(
                build_clean_pass,
                [
                    (share, statistics_file, ingested_at, work, buckets, output)
                    for share in clean_shares
                ],
                _PassProgress("clean", len(clean_shares), quiet),
            )
        )
        bucket_shares = [
            files
            for files in (
                spill_files(os.path.join(work, f"bucket-{bucket:04d}")) for bucket in range(buckets)
            )
            if files
        ]
        totals.update(
            passes.run_all(
                build_write_bucket,
                [(files, output) for files in bucket_shares],
                _PassProgress("write", len(bucket_shares), quiet),
            )
        )
        # One dedup bucket, one file per partition: merged back into the one-graph layout.
        suffix = ".parquet" + (STAGED_SUFFIX if output.staged else "")
        compacted = passes.map(
            compact_partition,
            [
                (folder, files, news.rows_per_file, suffix)
                for folder, files in partitions_to_compact(output.write_dir, output.staged)
            ],
        )
        totals["write.articles.files"] -= sum(compacted)
    finally:
        passes.close()
        shutil.rmtree(work, ignore_errors=True)
    if output_run is not None:
        output_run.commit()
    summary = build_summary(
        dict(totals),
        {
            "pipeline_version": PIPELINE_VERSION,
            "runner": "FnApiRunner in waves"
            + (f", {workers} worker processes" if workers > 1 else ""),
            "ingested_at": ingested_at.isoformat(),
            "inputs_patterns": news.input,
            "output": news.output,
            "waves": len(waves),
            "dedup_buckets": buckets,
            **(output_run.summary_fields(dict(totals)) if output_run else {}),
        },
    )
    summary_path = write_summary(news.output, summary)
    print(format_summary(summary, summary_path), file=sys.stderr)
    return summary
