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
import tempfile
import time
import timeit

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
        # CPU time, not wall time: other processes on a shared machine do not count
        started = time.process_time()
        pipeline.run().wait_until_finish()
        elapsed = time.process_time() - started
        if taps:
            assert read_counts(directory)["tap0"] == n
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    direct = min(direct_cost_ns(args.n) for _ in range(args.repeat))
    # how fast this machine is right now: the same tap figures on a loaded machine are larger
    empty_call = min(timeit.repeat("f(1)", "f = lambda x: None", number=args.n, repeat=3))
    print(
        f"tap.process called directly: {direct:.0f} ns per element (best of {args.repeat}); "
        f"an empty Python call: {empty_call / args.n * 1e9:.0f} ns on this machine now"
    )
    without, with_taps = [], []
    for _ in range(args.repeat):  # interleaved, so that a busy spell hits both
        without.append(pipeline_seconds(args.n, 0))
        with_taps.append(pipeline_seconds(args.n, 6))
    base, tapped = min(without), min(with_taps)
    per_element_us = (tapped - base) / args.n * 1e6
    print(
        f"FnApiRunner, {args.n} elements: {base:.2f} s CPU without taps, {tapped:.2f} s with six "
        f"(best of {args.repeat}): {per_element_us:.1f} us per element for all six taps"
    )
    print(
        f"per document: {per_element_us / 8.8 / 10:.2f}% of a plain-text document (8.8 ms at "
        f"114 docs/s), {per_element_us / 44 / 10:.2f}% of an HTML page (44 ms; README, "
        "Performance); figures of an unloaded machine there, so these percentages are upper "
        "bounds when this machine is busy"
    )


if __name__ == "__main__":
    main()
