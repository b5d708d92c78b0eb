"""Ticks: the local live job's clock, one element per interval in real time, stoppable.

Beam's PeriodicImpulse runs to a fixed end. This source also ends at a stop request (Ctrl-C,
SIGTERM, --duration), by claiming past its range, so the job finishes like a batch job: the
last tick's bundle is written, then the runner returns.
"""

from __future__ import annotations

import threading
import time

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.utils.timestamp import Duration

# Set by a signal handler or the run's end: the tick source stops at its next firing.
_STOP = threading.Event()


def request_stop() -> None:
    _STOP.set()


def reset_stop() -> None:
    _STOP.clear()


def stop_requested() -> bool:
    return _STOP.is_set()


class _TickRange(RestrictionProvider):
    def initial_restriction(self, element):
        start, stop, interval = element
        return OffsetRange(0, max(1, int((stop - start) / interval) + 1))

    def create_tracker(self, restriction):
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element, restriction):
        return restriction.size()

    def truncate(self, element, restriction):
        return None  # on drain, no more ticks


class _StoppableTicks(beam.DoFn):
    """(start, stop, interval) -> the tick index at each interval, in real time, until the
    stop time or a stop request (Ctrl-C, SIGTERM): then it claims past its range and ends."""

    @beam.DoFn.unbounded_per_element()
    def process(self, element, tracker=beam.DoFn.RestrictionParam(_TickRange())):  # noqa: B008
        start, _stop, interval = element
        index = tracker.current_restriction().start
        while True:
            if stop_requested():
                tracker.try_claim(tracker.current_restriction().stop)
                return
            due = start + index * interval
            if due > time.time():
                tracker.defer_remainder(Duration(seconds=due - time.time()))
                return
            if not tracker.try_claim(index):
                return
            yield index
            index += 1


class LiveTicks(beam.PTransform):
    """One element every `interval` seconds from now for `duration` seconds (None: until a
    stop request). On the local runner every step fused after it runs once per tick."""

    def __init__(self, interval: float, duration: float | None):
        super().__init__()
        self.interval = interval
        self.duration = duration

    def expand(self, pipeline_root):
        interval, duration = self.interval, self.duration

        def bounds(_):
            start = time.time()
            # "Until stopped" is ten years of ticks: an offset range needs an end.
            stop = start + (duration if duration is not None else 10 * 365 * 86_400)
            return start, stop, interval

        return (
            pipeline_root
            | "Impulse" >> beam.Impulse()
            | "TickBounds" >> beam.Map(bounds)
            | "Ticks" >> beam.ParDo(_StoppableTicks())
        )
