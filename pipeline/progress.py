"""Progress of local runs: files read out of those the inputs expand to, documents, articles,
rows written, dead letters, rate and time left.

Beam's metrics cannot be read while a local pipeline runs, so small counting steps ("taps")
hang off a few of the graph's collections and write their counts, at most twice a second per
worker, to one small file each in a temporary folder the driver reads (local runners only:
their workers, threads or processes, share the driver's disk). A tap adds an addition per
element and a clock read every 8th: `python benchmarks/progress_overhead.py` measures it.

On a terminal the driver draws a progress bar (tqdm); otherwise it logs a plain line every
LOG_EVERY_SECONDS. Live runs print one status line per poll round (`ProgressReporter`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any, TextIO

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

FLUSH_EVERY_SECONDS = 0.5
BAR_REFRESH_SECONDS = 0.5
LOG_EVERY_SECONDS = 30.0
LOCAL_RUNNERS = (
    "",
    "DirectRunner",
    "FnApiRunner",
    "BundleBasedDirectRunner",
    "SwitchingDirectRunner",
)


@dataclasses.dataclass(frozen=True)
class Tap:
    """Count the elements of the main output of the transform with this full label."""

    name: str
    label: str


# Labels of pipeline/graph.py's batch graph. A label that is missing is skipped (and
# tests/test_cli.py checks that a real run reports every count).
BATCH_TAPS = (
    Tap("files", "ReadDocuments/OpenFiles"),
    Tap("documents", "ReadDocuments/SplitFileIntoDocuments"),
    Tap("extracted", "ProcessDocuments/ExtractArticles"),
    Tap("enriched", "ProcessDocuments/EnrichMetadata"),
    Tap("rows", "DropExactDuplicates"),
    Tap("dead_letters", "AllDeadLetters"),
)


def _size_of_file(readable_file) -> int:
    return getattr(getattr(readable_file, "metadata", None), "size_in_bytes", 0) or 0


class CountInto(beam.DoFn):
    """Counts elements (and the bytes of files) into `<directory>/<name>.<id>`: `count bytes`."""

    def __init__(self, directory: str, name: str):
        self.directory = directory
        self.name = name

    def setup(self):
        self._path = os.path.join(self.directory, f"{self.name}.{uuid.uuid4().hex}")
        self._count = 0
        self._bytes = 0
        self._next_flush = 0.0
        self._weigh = self.name == "files"
        # The clock is read every 8th element (every file: files are few and slow).
        self._clock_mask = 0 if self._weigh else 7

    def process(self, element):
        self._count += 1
        if self._weigh:
            self._bytes += _size_of_file(element)
        if not self._count & self._clock_mask and time.monotonic() >= self._next_flush:
            self._flush()

    def finish_bundle(self):
        self._flush()

    def teardown(self):
        self._flush()

    def _flush(self) -> None:
        self._next_flush = time.monotonic() + FLUSH_EVERY_SECONDS
        temporary = os.path.join(self.directory, f".{os.path.basename(self._path)}")
        try:
            with open(temporary, "w") as handle:
                handle.write(f"{self._count} {self._bytes}")
            os.replace(temporary, self._path)  # the driver never reads half a file
        except OSError:
            pass  # the run ended and its folder is gone; progress is best effort


def attach_taps(pipeline: beam.Pipeline, directory: str, taps=BATCH_TAPS) -> list[str]:
    """Hang a CountInto off each tapped output found in the built pipeline; returns their names."""
    by_label = {}

    class _Finder(beam.pipeline.PipelineVisitor):
        def enter_composite_transform(self, node):
            by_label[node.full_label] = node

        def visit_transform(self, node):
            by_label[node.full_label] = node

    pipeline.visit(_Finder())
    attached = []
    for tap in taps:
        node = by_label.get(tap.label)
        collection = node.outputs.get(None) if node is not None else None  # main output
        if collection is None:
            continue
        _ = collection | f"Progress/{tap.name}" >> beam.ParDo(CountInto(directory, tap.name))
        attached.append(tap.name)
    return attached


def read_counts(directory: str) -> dict[str, int]:
    """Sum of every tap file: {name: count}, plus `files_bytes`."""
    totals: dict[str, int] = {}
    try:
        names = os.listdir(directory)
    except OSError:
        return totals
    for file_name in names:
        if file_name.startswith("."):
            continue
        name = file_name.split(".", 1)[0]
        try:
            with open(os.path.join(directory, file_name)) as handle:
                count, size = (int(part) for part in handle.read().split())
        except (OSError, ValueError):
            continue  # replaced while read: the next reading has it
        totals[name] = totals.get(name, 0) + count
        if size:
            totals[f"{name}_bytes"] = totals.get(f"{name}_bytes", 0) + size
    return totals


@dataclasses.dataclass
class InputTotals:
    files: int = 0
    bytes: int = 0


def expand_input_totals(patterns: list[str]) -> InputTotals:
    """Files and bytes the --input patterns match (what the run will read)."""
    from transforms.read import expand_input_pattern

    totals = InputTotals()
    seen = set()
    for pattern in patterns or []:
        try:
            matched = FileSystems.match([expand_input_pattern(pattern)])[0].metadata_list
        except Exception:  # noqa: BLE001 - no total is no reason to stop the run
            continue
        for metadata in matched:
            if metadata.path not in seen:
                seen.add(metadata.path)
                totals.files += 1
                totals.bytes += metadata.size_in_bytes or 0
    return totals


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def seconds_left(done: float, total: float, elapsed: float) -> float | None:
    """Time left at the average rate so far; None before anything is done."""
    if done <= 0 or total <= 0 or elapsed <= 0:
        return None
    return max(0.0, elapsed * (total - done) / done)


@dataclasses.dataclass
class Phase:
    """What the run is doing now and how far along it is."""

    name: str
    done: int
    total: int
    unit: str
    seconds_left: float | None


def current_phase(
    counts: dict[str, int], totals: InputTotals, elapsed: float, final: bool = False
) -> Phase:
    """Reading (and extracting, fused with it) until every file is read, by bytes; then
    cleaning the extracted articles; then writing (rows are written at the end)."""
    files = counts.get("files", 0)
    if final:
        return Phase("done", counts.get("rows", 0), 0, "rows", 0.0)
    if totals.files and files < totals.files:
        if totals.bytes:
            left = seconds_left(counts.get("files_bytes", 0), totals.bytes, elapsed)
        else:
            left = seconds_left(files, totals.files, elapsed)
        return Phase("reading", files, totals.files, "files", left)
    extracted, enriched = counts.get("extracted", 0), counts.get("enriched", 0)
    if not counts.get("rows"):
        # some articles become dead letters while cleaned: enriched may stay under extracted
        return Phase("cleaning", enriched, extracted, "articles", None)
    return Phase("writing", counts.get("rows", 0), 0, "rows", None)


def progress_line(
    counts: dict[str, int],
    totals: InputTotals,
    elapsed: float,
    final: bool = False,
    busy: float | None = None,
) -> str:
    """One plain line: what a log shows every LOG_EVERY_SECONDS. `busy`: seconds since the
    first file was opened (rate and time left leave the workers' start-up out)."""
    busy = elapsed if busy is None else busy
    phase = current_phase(counts, totals, busy, final)
    documents = counts.get("documents", 0)
    rate = documents / busy if busy > 0 else 0.0
    files = f"files {counts.get('files', 0)}/{totals.files or '?'}"
    if totals.files:
        files += f" ({100 * counts.get('files', 0) / totals.files:.0f}%)"
    parts = [
        phase.name,
        files,
        f"documents {documents}",
        f"articles {counts.get('extracted', 0)}",
        f"rows written {counts.get('rows', 0)}",
        f"dead letters {counts.get('dead_letters', 0)}",
        f"{rate:.1f} docs/s",
        f"elapsed {format_duration(elapsed)}",
    ]
    if phase.name == "reading":
        parts.append(f"reading done in ~{format_duration(phase.seconds_left)}")
    return " | ".join(parts)


def is_local_run(options: PipelineOptions) -> bool:
    runner = options.view_as(StandardOptions).runner or ""
    return runner in LOCAL_RUNNERS


class _Display:
    """A tqdm bar on a terminal, plain lines otherwise."""

    def __init__(self, totals: InputTotals, stream: TextIO):
        self.totals = totals
        self.stream = stream
        self.started = time.monotonic()
        self.last_line = self.started
        self.first_file_at: float | None = None
        self.lines_printed = 0
        self.bar = None
        if stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(
                total=totals.files or None,
                unit="file",
                file=stream,
                dynamic_ncols=True,
                leave=True,
                desc="reading",
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} files "
                "[{elapsed}<{remaining}] {postfix}",
            )
        self.phase_name = "reading"

    def update(self, counts: dict[str, int], final: bool = False) -> None:
        now = time.monotonic()
        elapsed = now - self.started
        if self.first_file_at is None and counts.get("files"):
            self.first_file_at = now
        busy = now - self.first_file_at if self.first_file_at is not None else 0.0
        if self.bar is None:
            # A run short enough to print no line in passing prints none at the end either.
            if (final and self.lines_printed) or now - self.last_line >= LOG_EVERY_SECONDS:
                self.last_line = now
                self.lines_printed += 1
                stamp = dt.datetime.now(dt.timezone.utc).strftime("%H:%M:%SZ")
                line = progress_line(counts, self.totals, elapsed, final, busy)
                print(f"{stamp} progress {line}", file=self.stream, flush=True)
            return
        phase = current_phase(counts, self.totals, busy, final)
        if phase.name != self.phase_name and phase.name == "cleaning":
            self.phase_name = phase.name
            self.bar.set_description_str("cleaning")
            self.bar.unit = "article"
            self.bar.bar_format = self.bar.bar_format.replace(" files ", " articles ")
            self.bar.reset(total=phase.total)
        elif phase.name in ("writing", "done") and self.phase_name != phase.name:
            self.phase_name = phase.name
            self.bar.set_description_str(phase.name)
        if self.phase_name == "reading":
            self.bar.n = counts.get("files", 0)
        elif self.phase_name == "cleaning":
            self.bar.total = max(self.bar.total or 0, counts.get("extracted", 0))
            self.bar.n = counts.get("enriched", 0)
        rate = counts.get("documents", 0) / busy if busy > 0 else 0.0
        self.bar.set_postfix_str(
            f"docs {counts.get('documents', 0)} · rows {counts.get('rows', 0)} · "
            f"dead {counts.get('dead_letters', 0)} · {rate:.1f} docs/s",
            refresh=False,
        )
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextlib.contextmanager
def track_progress(
    pipeline: beam.Pipeline, options: PipelineOptions, stream: TextIO | None = None
) -> Iterator[dict[str, Any]]:
    """Around `pipeline.run()` and `wait_until_finish()`: shows progress while they run.

    Yields a dict that holds the last counts read (`counts`) when the block ends. Does nothing
    with --quiet or on a remote runner.
    """
    from pipeline.options import NewsPipelineOptions

    news = options.view_as(NewsPipelineOptions)
    state: dict[str, Any] = {"counts": {}, "taps": []}
    if getattr(news, "quiet", False) or not is_local_run(options):
        yield state
        return
    directory = tempfile.mkdtemp(prefix="news-progress-")
    state["taps"] = attach_taps(pipeline, directory)
    display = _Display(expand_input_totals(news.input), stream or sys.stderr)
    stop = threading.Event()

    def refresh() -> None:
        while not stop.wait(BAR_REFRESH_SECONDS):
            display.update(read_counts(directory))

    thread = threading.Thread(target=refresh, name="progress", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join(timeout=5)
        state["counts"] = read_counts(directory)
        display.update(state["counts"], final=True)
        display.close()
        shutil.rmtree(directory, ignore_errors=True)
        if os.path.exists(directory):  # a worker's last flush raced the removal
            time.sleep(FLUSH_EVERY_SECONDS)
            shutil.rmtree(directory, ignore_errors=True)


def poll_round_status(
    round_number: int,
    feeds_polled: int,
    not_modified: int,
    new_entries: int,
    failures: int,
    rows_written: int,
    dead_letters: int,
    feeds_total: int | None = None,
    next_poll_in_seconds: float | None = None,
) -> str:
    """The status line of one poll round of a live run."""
    polled = f"{feeds_polled}/{feeds_total}" if feeds_total is not None else str(feeds_polled)
    parts = [
        f"round {round_number}",
        f"feeds polled {polled}",
        f"not modified {not_modified}",
        f"new entries {new_entries}",
        f"failures {failures}",
        f"rows written {rows_written}",
        f"dead letters {dead_letters}",
    ]
    if next_poll_in_seconds is not None:
        parts.append(f"next poll in {format_duration(next_poll_in_seconds)}")
    return " | ".join(parts)


class ProgressReporter:
    """Live runs: `reporter.poll_round(...)` prints one status line per poll round (stderr),
    nothing with quiet=True. Same arguments as poll_round_status."""

    def __init__(self, quiet: bool = False, stream: TextIO | None = None):
        self.quiet = quiet
        self.stream = stream

    def poll_round(self, *args, **kwargs) -> str:
        line = poll_round_status(*args, **kwargs)
        if not self.quiet:
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%H:%M:%SZ")
            print(f"{stamp} {line}", file=self.stream or sys.stderr, flush=True)
        return line


def print_poll_round_status(*args, quiet: bool = False, stream: TextIO | None = None, **kwargs):
    """Module-level shortcut of ProgressReporter(quiet, stream).poll_round(...)."""
    return ProgressReporter(quiet, stream).poll_round(*args, **kwargs)
