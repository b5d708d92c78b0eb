"""Command-line options of the pipeline, next to every standard Beam option."""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.output_state import add_output_args
from transforms.clean import DEFAULT_MIN_WORDS
from transforms.corpus_stats import DEFAULT_MIN_DOCS, DEFAULT_MIN_SHARE
from transforms.deadline import DEFAULT_MAX_SECONDS_PER_DOCUMENT
from transforms.documents.limits import (
    DEFAULT_MAX_EXPANDED_BYTES_PER_FILE,
    DEFAULT_MAX_RECORDS_PER_FILE,
)
from transforms.read import DEFAULT_MAX_DOCUMENT_BYTES
from transforms.write import DEFAULT_ROWS_PER_FILE

# Live ingestion defaults (politeness and safety first; see README "Live feeds").
DEFAULT_POLL_INTERVAL_SECONDS = 900.0
DEFAULT_MIN_POLL_INTERVAL_SECONDS = 300.0
DEFAULT_MAX_POLL_INTERVAL_SECONDS = 86_400.0
DEFAULT_TICK_SECONDS = 10.0
DEFAULT_SEEN_ENTRIES_DAYS = 30.0
DEFAULT_MAX_ENTRIES_PER_POLL = 500
DEFAULT_FETCH_CONCURRENCY = 16
DEFAULT_PER_HOST_CONCURRENCY = 2
DEFAULT_PER_HOST_DELAY_SECONDS = 1.0
DEFAULT_REQUEST_DEADLINE_SECONDS = 30.0
DEFAULT_MAX_PAGE_BYTES = 10 * 1024 * 1024


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_LOG_LEVEL = "WARNING"


class UsageError(Exception):
    """A mistake on the command line: reported in one line, exit status 2."""


class NewsPipelineOptions(PipelineOptions):
    """`--input` (repeatable) and `--output` are required; the rest have defaults."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument(
            "--input",
            action="append",
            default=None,
            help="File, directory or glob to read (local or gs://; .gz read transparently). "
            "Repeat for several.",
        )
        parser.add_argument(
            "--output",
            default=None,
            help="Output directory: date=.../lang=.../*.parquet, _dead_letter/, _run_summary.json",
        )
        parser.add_argument(
            "--max_document_bytes",
            type=int,
            default=DEFAULT_MAX_DOCUMENT_BYTES,
            help="Larger documents go to the dead letters as too_large.",
        )
        parser.add_argument(
            "--max_records_per_file",
            type=int,
            default=DEFAULT_MAX_RECORDS_PER_FILE,
            help="Records (JSON lines, WARC records) read from one file; the rest of the file "
            "is one dead letter, too_many_records.",
        )
        parser.add_argument(
            "--max_expanded_bytes_per_file",
            type=int,
            default=DEFAULT_MAX_EXPANDED_BYTES_PER_FILE,
            help="Bytes read from one file after decompression; the rest of the file is one "
            "dead letter, too_large_expanded.",
        )
        parser.add_argument(
            "--max_seconds_per_document",
            type=float,
            default=DEFAULT_MAX_SECONDS_PER_DOCUMENT,
            help="Seconds one document may spend in extraction, and again in cleaning; past "
            "them it is a timeout dead letter.",
        )
        parser.add_argument(
            "--min_words",
            type=int,
            default=DEFAULT_MIN_WORDS,
            help="Articles with fewer words after cleaning go to the dead letters as too_short.",
        )
        parser.add_argument(
            "--rows_per_file",
            type=int,
            default=DEFAULT_ROWS_PER_FILE,
            help="Target rows per Parquet file: a partition is hash-sharded by doc_id into "
            "ceil(rows / this) files.",
        )
        parser.add_argument(
            "--boilerplate_min_docs",
            type=int,
            default=DEFAULT_MIN_DOCS,
            help="A line is learned as a source's boilerplate when it recurs in at least this "
            "many distinct documents of the source ...",
        )
        parser.add_argument(
            "--boilerplate_min_share",
            type=float,
            default=DEFAULT_MIN_SHARE,
            help="... and in at least this share of them.",
        )
        parser.add_argument(
            "--wave_size",
            type=int,
            default=None,
            help="Local batch runs: process at most this many input files per wave and dedup "
            "about this many articles at a time (more when they are short: 4 MB of them spilled), "
            "with the whole input's statistics, so memory stays flat in the size of the input "
            "(same rows). Default: waves of 1000 when the "
            "input is more than one wave (over 1000 files or 64 MB, a compressed file counting "
            "10 times its size), else the whole input in one graph; 0: always one graph.",
        )
        parser.add_argument(
            "--wave_bytes",
            type=int,
            default=None,
            help="In waves: also at most this many input bytes per wave.",
        )
        parser.add_argument(
            "--split_bytes",
            type=int,
            default=64 * 1024 * 1024,
            help="An uncompressed JSON-lines file larger than this is read in line-aligned "
            "ranges of about this size, shared among the workers (local waves and Dataflow); "
            "the same rows and ids as a whole read.",
        )
        add_output_args(parser)  # --overwrite, --ingested_at (pipeline/output_state.py)
        cls._add_live_feed_args(parser)
        cls._add_operator_args(parser)

    @classmethod
    def _add_operator_args(cls, parser):
        """What the operator sees while it runs."""
        parser.add_argument(
            "--quiet",
            action="store_true",
            default=False,
            help="No progress bar or progress lines (the run summary is still printed).",
        )
        parser.add_argument(
            "--log_level",
            default=DEFAULT_LOG_LEVEL,
            type=str.upper,
            choices=LOG_LEVELS,
            help="Log messages of at least this level (DEBUG shows Beam's own logs too).",
        )

    @classmethod
    def _add_live_feed_args(cls, parser):
        """Live ingestion: poll feeds, fetch their pages, write while running."""
        parser.add_argument(
            "--feeds",
            default=None,
            help="Feed list to poll: a text file (one URL a line, # comments) or OPML; "
            "local or gs://. Instead of --input.",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            default=False,
            help="Poll every feed once, fetch, write, save state and exit (for cron).",
        )
        parser.add_argument(
            "--duration",
            type=float,
            default=None,
            help="Seconds to run, then end cleanly (default: until Ctrl-C or SIGTERM).",
        )
        parser.add_argument(
            "--archive",
            default=None,
            help="Folder to archive every feed response and page as WARC (.warc.gz), "
            "replayable with --input 'ARCHIVE/**/*.warc.gz'.",
        )
        parser.add_argument(
            "--state_dir",
            default=None,
            help="Folder of the state store (feeds, entries seen, dedup index, per-source "
            "statistics). Default: OUTPUT/_state (needed when --output is not local).",
        )
        parser.add_argument(
            "--poll_interval",
            type=float,
            default=DEFAULT_POLL_INTERVAL_SECONDS,
            help="Base seconds between two polls of a feed, adapted to how often it publishes.",
        )
        parser.add_argument(
            "--min_poll_interval",
            type=float,
            default=DEFAULT_MIN_POLL_INTERVAL_SECONDS,
            help="A feed is never polled more often than this (seconds).",
        )
        parser.add_argument(
            "--max_poll_interval",
            type=float,
            default=DEFAULT_MAX_POLL_INTERVAL_SECONDS,
            help="A feed is polled at least this often, failing ones included (seconds).",
        )
        parser.add_argument(
            "--tick_seconds",
            type=float,
            default=DEFAULT_TICK_SECONDS,
            help="How often the live job looks for feeds due for a poll (seconds).",
        )
        parser.add_argument(
            "--seen_entries_days",
            type=float,
            default=DEFAULT_SEEN_ENTRIES_DAYS,
            help="Entries seen are remembered this many days (bounds the state).",
        )
        parser.add_argument(
            "--max_entries_per_poll",
            type=int,
            default=DEFAULT_MAX_ENTRIES_PER_POLL,
            help="At most this many new entries are taken from one poll of one feed.",
        )
        parser.add_argument(
            "--fetch_concurrency",
            type=int,
            default=DEFAULT_FETCH_CONCURRENCY,
            help="Pages fetched at once, all hosts together.",
        )
        parser.add_argument(
            "--per_host_concurrency",
            type=int,
            default=DEFAULT_PER_HOST_CONCURRENCY,
            help="Requests at once to one host.",
        )
        parser.add_argument(
            "--per_host_delay",
            type=float,
            default=DEFAULT_PER_HOST_DELAY_SECONDS,
            help="Seconds between two requests to one host (robots.txt crawl-delay wins if "
            "longer).",
        )
        parser.add_argument(
            "--request_timeout",
            type=float,
            default=DEFAULT_REQUEST_DEADLINE_SECONDS,
            help="Total seconds one request may take, body included.",
        )
        parser.add_argument(
            "--max_page_bytes",
            type=int,
            default=DEFAULT_MAX_PAGE_BYTES,
            help="A larger response body (after decompression) is a too_large dead letter.",
        )
        parser.add_argument(
            "--contact_url",
            default=None,
            help="URL added to the User-Agent so site owners can reach you.",
        )
        parser.add_argument(
            "--allow_private_addresses",
            action="store_true",
            default=False,
            help="Allow requests to loopback and private addresses (tests, intranets). Off by "
            "default so that a feed cannot make a worker call internal services.",
        )
        parser.add_argument(
            "--allowed_networks",
            default=None,
            help="Comma-separated CIDRs reachable although private, e.g. 10.1.0.0/16 for an "
            "intranet feed server; everything else private stays blocked.",
        )

    def validate_news_options(self) -> list[str]:
        """Errors in the options, for the command line to report before anything runs."""
        errors = []
        if self.input and self.feeds:
            errors.append("--input and --feeds do not go together (archives or live feeds)")
        if not self.input and not self.feeds:
            errors.append(
                "--input (a file, directory or glob; repeatable) or --feeds (a feed list) "
                "is required"
            )
        if self.once and self.duration is not None:
            errors.append("--once and --duration do not go together")
        if self.duration is not None and self.duration <= 0:
            errors.append("--duration must be positive")
        if not 0 < self.min_poll_interval <= self.max_poll_interval:
            errors.append("--min_poll_interval must be positive and at most --max_poll_interval")
        if not self.output:
            errors.append("--output is required (a directory)")
        if self.max_document_bytes <= 0:
            errors.append("--max_document_bytes must be positive")
        if self.max_records_per_file <= 0 or self.max_expanded_bytes_per_file <= 0:
            errors.append("--max_records_per_file, --max_expanded_bytes_per_file: must be > 0")
        if self.max_seconds_per_document <= 0:
            errors.append("--max_seconds_per_document must be positive")
        if self.rows_per_file <= 0:
            errors.append("--rows_per_file must be positive")
        if (self.wave_size or 0) < 0 or (self.wave_bytes is not None and self.wave_bytes <= 0):
            errors.append("--wave_size must be 0 or more and --wave_bytes positive")
        if self.split_bytes <= 0:
            errors.append("--split_bytes must be positive")
        if self.boilerplate_min_docs < 2:
            errors.append("--boilerplate_min_docs must be at least 2")
        return errors
