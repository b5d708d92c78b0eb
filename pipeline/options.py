"""Command-line options of the pipeline, next to every standard Beam option."""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions

from transforms.clean import DEFAULT_MIN_WORDS
from transforms.corpus_stats import DEFAULT_MIN_DOCS, DEFAULT_MIN_SHARE
from transforms.read import DEFAULT_MAX_DOCUMENT_BYTES
from transforms.write import DEFAULT_ROWS_PER_FILE


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

    def validate_news_options(self) -> list[str]:
        """Errors in the options, for the command line to report before anything runs."""
        errors = []
        if not self.input:
            errors.append("--input is required (a file, directory or glob; repeatable)")
        if not self.output:
            errors.append("--output is required (a directory)")
        if self.max_document_bytes <= 0:
            errors.append("--max_document_bytes must be positive")
        if self.rows_per_file <= 0:
            errors.append("--rows_per_file must be positive")
        if self.boilerplate_min_docs < 2:
            errors.append("--boilerplate_min_docs must be at least 2")
        return errors
