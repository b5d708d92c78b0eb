"""What the progress taps (pipeline/progress.py) cost per document.

    python benchmarks/progress_overhead.py [--n 50000] [--repeat 3]

1. the tap's own `process` per element (a clock read, an addition, a file write at most twice
   a second), called directly;
2. the same taps hung off a pipeline on the local runner (FnApiRunner) as the batch graph has
   them: N elements through three steps, with and without six taps; the difference per element
   is what progress costs a run per document, runner included.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.graph import local_runner
from pipeline.progress import CountInto, read_counts


def direct_cost_ns(n: int) -> float:
    with tempfile.TemporaryDirectory() as directory:
        tap = CountInto(directory, "documents")
        tap.setup()
        started = time.perf_counter()
        for element in range(n):
            tap.process(element)
        elapsed = time.perf_counter() - started
        tap.finish_bundle()
        assert read_counts(directory) == {"documents": n}
    return elapsed / n * 1e9


def pipeline_seconds(n: int, taps: int) -> float:
    options = PipelineOptions([])
    with tempfile.TemporaryDirectory() as directory:
        pipeline = beam.Pipeline(runner=local_runner(options), options=options)
        collection = pipeline | beam.Create(range(n)) | "Work" >> beam.Map(lambda x: x * 2)
        collection = collection | "More" >> beam.Map(lambda x: x + 1)
        for index in range(taps):
            _ = collection | f"Tap{index}" >> beam.ParDo(CountInto(directory, f"tap{index}"))
        started = time.perf_counter()
        pipeline.run().wait_until_finish()
        elapsed = time.perf_counter() - started
        if taps:
            assert read_counts(directory)["tap0"] == n
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    direct = min(direct_cost_ns(args.n) for _ in range(args.repeat))
    print(f"tap.process called directly: {direct:.0f} ns per element (best of {args.repeat})")
    without = [pipeline_seconds(args.n, 0) for _ in range(args.repeat)]
    with_taps = [pipeline_seconds(args.n, 6) for _ in range(args.repeat)]
    base, tapped = statistics.median(without), statistics.median(with_taps)
    per_element_us = (tapped - base) / args.n * 1e6
    print(
        f"FnApiRunner, {args.n} elements: {base:.2f} s without taps, {tapped:.2f} s with six "
        f"(medians of {args.repeat}): {per_element_us:.1f} us per element for all six taps"
    )
    print(
        "a document costs 1-40 ms in the pipeline (README, Performance): the taps are "
        f"{per_element_us / 1000 / 1.0 * 100:.2f}% of a 1 ms document"
    )


if __name__ == "__main__":
    main()
