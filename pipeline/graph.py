"""The pipeline graph and `run(argv)`, the entry point of `python -m pipeline`."""

from __future__ import annotations

import datetime as dt
import logging
import sys

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    SetupOptions,
    StandardOptions,
)

from pipeline.dataflow import dry_run_summary, prepare_dataflow_options
from pipeline.options import NewsPipelineOptions, UsageError
from pipeline.output_state import DropAlreadyWritten, OutputRun, begin_output_run, ingested_at_of
from pipeline.progress import track_progress
from pipeline.summary import build_summary, counter_totals, format_summary, write_summary
from pipeline.version import PIPELINE_VERSION
from transforms.clean import CleanArticles, CleanArticlesWithTheirStatistics
from transforms.corpus_stats import (
    AttachRunningStatistics,
    AttachStoredStatistics,
    LearnCorpusStatistics,
)
from transforms.dedup import DropExactDuplicates
from transforms.enrich import EnrichMetadata
from transforms.extract import ExtractArticles
from transforms.read import ReadDocuments, expand_input_pattern
from transforms.records import DEAD_LETTER
from transforms.write import CountRowsPerPartition, WriteDeadLetters, WritePartitionedParquet

_LOG = logging.getLogger(__name__)


class ProcessDocuments(beam.PTransform):
    """RawDocument -> clean, enriched Article; the part batch, streaming and replay share.

    Outputs: `articles` and `dead_letter`.
    """

    def __init__(
        self,
        options: NewsPipelineOptions,
        ingested_at: dt.datetime,
        streaming: bool = False,
        spread_articles: bool = False,
        state_path: str | None = None,
        separate_dead_letters: bool = False,
    ):
        super().__init__()
        self.options = options
        self.ingested_at = ingested_at
        self.streaming = streaming
        # Local live runs: per-source statistics in the state store (keeps the stage fused).
        self.state_path = state_path
        # Dead letters per step (`dead_letter.extract`, ...) instead of one Flatten, which the
        # FnApiRunner materializes: a live graph must stay one fused stage.
        self.separate_dead_letters = separate_dead_letters
        # Local runner with several workers: see expand.
        self.spread_articles = spread_articles

    def expand(self, documents):
        options = self.options
        extracted = documents | "ExtractArticles" >> ExtractArticles(
            options.max_seconds_per_document
        )
        if self.state_path:
            cleaned = (
                extracted.main
                | "AttachStoredStatistics"
                >> AttachStoredStatistics(
                    self.state_path, options.boilerplate_min_docs, options.boilerplate_min_share
                )
                | "CleanArticles" >> CleanArticlesWithTheirStatistics(options.min_words)
            )
        elif self.streaming:
            # No end of input to wait for: per-source counts live in state instead.
            cleaned = (
                extracted.main
                | "AttachRunningStatistics"
                >> AttachRunningStatistics(
                    options.boilerplate_min_docs, options.boilerplate_min_share
                )
                | "CleanArticles" >> CleanArticlesWithTheirStatistics(options.min_words)
            )
        else:
            # Cleaning waits for the run's statistics, so the extracted articles are stored
            # between the two. The local runner gives each of its workers a share of stored
            # chunks, often uneven; stored by a shuffle, articles are spread evenly (2 local
            # workers on text: 0.88x -> 1.24x of one). One worker has no use for it.
            articles = extracted.main
            if self.spread_articles:
                articles = articles | "SpreadArticles" >> beam.Reshuffle()
            statistics = articles | "LearnCorpusStatistics" >> LearnCorpusStatistics(
                options.boilerplate_min_docs, options.boilerplate_min_share
            )
            cleaned = articles | "CleanArticles" >> CleanArticles(
                beam.pvalue.AsSingleton(statistics),
                options.min_words,
                options.max_seconds_per_document,
            )
        enriched = cleaned.main | "EnrichMetadata" >> EnrichMetadata(self.ingested_at)
        by_step = {
            f"{DEAD_LETTER}.extract": extracted[DEAD_LETTER],
            f"{DEAD_LETTER}.clean": cleaned[DEAD_LETTER],
            f"{DEAD_LETTER}.enrich": enriched[DEAD_LETTER],
        }
        if self.separate_dead_letters:
            return {"articles": enriched.main, **by_step}
        dead_letters = tuple(by_step.values()) | "CollectDeadLetters" >> beam.Flatten()
        return {"articles": enriched.main, DEAD_LETTER: dead_letters}


def build_batch_pipeline(
    pipeline: beam.Pipeline,
    options: NewsPipelineOptions,
    ingested_at: dt.datetime,
    output_run: OutputRun | None = None,
) -> None:
    """`output_run`: files are staged and texts the output holds skipped (output_state.py);
    without one, files go straight into the output."""
    read = pipeline | "ReadDocuments" >> ReadDocuments(
        options.input,
        options.max_document_bytes,
        options.max_records_per_file,
        options.max_expanded_bytes_per_file,
        options.split_bytes,
    )
    processed = read.documents | "ProcessDocuments" >> ProcessDocuments(
        options, ingested_at, spread_articles=several_local_workers(options)
    )
    # Counted before dedup: the writer's shards are known by the time dedup ends.
    expected_rows = processed["articles"] | "CountRowsPerPartition" >> CountRowsPerPartition()
    articles = processed["articles"] | "DropExactDuplicates" >> DropExactDuplicates()
    write_dir, staged = options.output, False
    if output_run is not None:
        write_dir, staged = output_run.staging_dir, True
        if output_run.dedup_files:
            articles = articles | "DropAlreadyWritten" >> DropAlreadyWritten(output_run.dedup_files)
    (
        articles
        | "WritePartitionedParquet"
        >> WritePartitionedParquet(write_dir, options.rows_per_file, expected_rows, staged)
    )
    (
        (read[DEAD_LETTER], processed[DEAD_LETTER])
        | "AllDeadLetters" >> beam.Flatten()
        | "WriteDeadLetters" >> WriteDeadLetters(write_dir, staged=staged)
    )


def several_local_workers(options: PipelineOptions) -> bool:
    """True for a run on the local runner (no --runner) with more than one worker."""
    if options.view_as(StandardOptions).runner:
        return False
    return options.view_as(DirectOptions).direct_num_workers != 1


def local_runner(options: PipelineOptions):
    """The runner for a run that names none.

    Beam's DirectRunner first tries to download the Prism runner; offline that fails after a
    delay and falls back. We go straight to what it falls back to: the FnApiRunner for batch
    (honours --direct_num_workers and --direct_running_mode=multi_processing), and the
    BundleBasedDirectRunner for --streaming (the FnApiRunner ignores --streaming).
    """
    if options.view_as(StandardOptions).streaming:
        from apache_beam.runners.direct.direct_runner import BundleBasedDirectRunner

        return BundleBasedDirectRunner()
    return fn_api_runner(options)


def fn_api_runner(options: PipelineOptions):
    """Beam's FnApiRunner with our options (live runs use it with --streaming too: it runs a
    tick source in real time, which the BundleBasedDirectRunner refuses)."""
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import fn_runner
    from apache_beam.runners.portability.portable_runner import JobServiceHandle

    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    provision_info = fn_runner.ExtendedProvisionInfo(
        beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded)
    )
    return fn_runner.FnApiRunner(provision_info=provision_info)


def missing_local_inputs(patterns: list[str]) -> list[str]:
    """Local --input values that match no file: a typo should stop the run before it starts."""
    missing = []
    for pattern in patterns:
        if "://" in pattern:
            continue  # remote filesystems are checked by Beam when the job runs
        expanded = expand_input_pattern(pattern)
        if not FileSystems.match([expanded])[0].metadata_list:
            missing.append(pattern)
    return missing


def feed_list_problems(path: str) -> list[str]:
    """A local --feeds list that cannot be used: the whole reason, in one line."""
    from transforms.web.feed_list import FeedListError, read_feed_list

    try:
        read_feed_list(path)
    except (OSError, FeedListError) as error:
        return [f"--feeds: {error}"]
    return []


def run(argv: list[str] | None = None) -> dict:
    """Run the pipeline: live with --feeds (pipeline/live.py), else batch; a local batch run
    over more than one wave of input goes in waves (pipeline/waves.py). Returns the run
    summary (also printed and written)."""
    options = PipelineOptions(argv)
    news_options = options.view_as(NewsPipelineOptions)
    errors = news_options.validate_news_options()
    if not errors and news_options.input:
        errors = [
            f"--input {p!r} matches no file" for p in missing_local_inputs(news_options.input)
        ]
    if not errors and news_options.feeds and "://" not in news_options.feeds:
        errors = feed_list_problems(news_options.feeds)
    if errors:
        raise UsageError("; ".join(errors))
    # Workers import our packages from the installed distribution, not from __main__.
    options.view_as(SetupOptions).save_main_session = False
    prepare_dataflow_options(options)  # a Dataflow dry run stays offline (dataflow.py)
    standard = options.view_as(StandardOptions)
    if news_options.feeds:
        from pipeline.live import run_live

        return run_live(options)
    runner = None if standard.runner else local_runner(options)
    ingested_at = ingested_at_of(options)
    output_run = begin_output_run(options)  # unmarks the output, recovers a killed run
    input_files = None
    if runner is not None and news_options.wave_size is None:
        from pipeline.waves import auto_wave_size, list_input_files

        input_files = list_input_files(news_options.input)
        news_options.wave_size = auto_wave_size(input_files)
    if news_options.wave_size and runner is not None:
        from pipeline.waves import run_in_waves  # local batch run in bounded waves

        summary = run_in_waves(options, ingested_at, local_runner, output_run, input_files)
        if output_run is not None:
            output_run.finish(summary)  # _SUCCESS, last
        return summary

    pipeline = beam.Pipeline(runner=runner, options=options)
    build_batch_pipeline(pipeline, news_options, ingested_at, output_run)
    with track_progress(pipeline, options):  # progress bar / lines of local runs
        result = pipeline.run()
        result.wait_until_finish()
    if output_run is not None:
        output_run.commit()
    try:
        counters = counter_totals(result)
    except NotImplementedError:
        # DataflowRunner --dry_run=True builds the job without running it: nothing to count.
        return dry_run_summary(result, standard.runner)  # the job it built, described

    summary = build_summary(
        counters,
        {
            "pipeline_version": PIPELINE_VERSION,
            "runner": standard.runner or type(runner).__name__,
            "ingested_at": ingested_at.isoformat(),
            "inputs_patterns": news_options.input,
            "output": news_options.output,
            **(output_run.summary_fields(counters) if output_run else {}),
        },
    )
    summary_path = write_summary(news_options.output, summary)
    print(format_summary(summary, summary_path), file=sys.stderr)
    if output_run is not None:
        output_run.finish(summary)  # _SUCCESS, last
    return summary
