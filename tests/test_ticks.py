"""The local live job's clock runs in real time on the FnApiRunner and ends on request."""

import threading
import time

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.graph import fn_api_runner
from transforms.ticks import LiveTicks, request_stop, reset_stop

SEEN: list[tuple[int, float]] = []
BUNDLES_FINISHED: list[float] = []


class _RecordArrival(beam.DoFn):
    def process(self, tick):
        SEEN.append((tick, time.monotonic()))

    def finish_bundle(self):
        BUNDLES_FINISHED.append(time.monotonic())


def _run(duration, stop_after=None):
    SEEN.clear()
    BUNDLES_FINISHED.clear()
    reset_stop()
    options = PipelineOptions([])
    started = time.monotonic()
    timer = None
    if stop_after is not None:
        timer = threading.Timer(stop_after, request_stop)
        timer.start()
    try:
        with beam.Pipeline(runner=fn_api_runner(options), options=options) as pipeline:
            _ = pipeline | LiveTicks(0.5, duration) | beam.ParDo(_RecordArrival())
    finally:
        if timer is not None:
            timer.cancel()
        reset_stop()
    return started, time.monotonic()


def test_ticks_arrive_over_time_each_in_its_own_bundle():
    started, _ended = _run(duration=2.0)
    ticks = [tick for tick, _ in SEEN]
    assert ticks == list(range(len(ticks))) and 4 <= len(ticks) <= 5
    arrivals = [at - started for _, at in SEEN]
    # Real time: the last tick comes well after the first, not all at the end of the run.
    assert arrivals[-1] - arrivals[0] >= 1.0
    # Each tick is a bundle of its own, finished before the next tick arrives.
    assert BUNDLES_FINISHED[0] < SEEN[1][1]
    # And no empty bundles while waiting: the runner keeps every bundle's metrics.
    assert len(ticks) <= len(BUNDLES_FINISHED) <= len(ticks) + 2


def test_a_stop_request_ends_an_unbounded_run():
    started, ended = _run(duration=None, stop_after=1.5)
    assert 2 <= len(SEEN) <= 6
    assert ended - started < 60  # ended at all (bounded by the test's own guard)
