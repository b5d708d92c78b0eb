"""Ticks: the local live job's clock, one element per interval in real time, stoppable.

Beam's PeriodicImpulse runs to a fixed end. This source also ends at a stop request (Ctrl-C,
SIGTERM, --duration), by claiming past its range, so the job finishes like a batch job: the
last tick's bundle is written, then the runner returns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.transforms.core import RestrictionProvider

# How often a waiting tick source looks for a stop request.
STOP_CHECK_SECONDS = 0.2
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
    stop time or a stop request (Ctrl-C, SIGTERM): then it claims past its range and ends.

    It waits for the next tick inside `process` and yields one tick per bundle. (Deferring
    with a resume time instead makes the FnApiRunner re-run the residual in a busy loop, an
    empty bundle each time, and it keeps every bundle's metrics.)
    """

    def __init__(self, after_round: Callable[[], None] | None = None):
        self.after_round = after_round
        self.rounds_seen = 0

    @beam.DoFn.unbounded_per_element()
    def process(self, element, tracker=beam.DoFn.RestrictionParam(_TickRange())):  # noqa: B008
        start, _stop, interval = element
        restriction = tracker.current_restriction()
        index = restriction.start
        if self.after_round is not None and self.rounds_seen:
            # Called again right after the previous tick's bundle finished: its files are in.
            self.after_round()
        self.rounds_seen += 1
        due = start + index * interval
        while True:
            if stop_requested():
                tracker.try_claim(restriction.stop)
                return
            wait = due - time.time()
            if wait <= 0:
                break
            time.sleep(min(wait, STOP_CHECK_SECONDS))
        if not tracker.try_claim(index):
            return
        yield index
        if index + 1 < restriction.stop:
            tracker.defer_remainder()  # ends this tick's bundle: its files get written


class LiveTicks(beam.PTransform):
    """One element every `interval` seconds from now for `duration` seconds (None: until a
    stop request), at most `max_ticks` of them. On the local runner every step fused after
    it runs once per tick, as one bundle."""

    def __init__(
        self,
        interval: float,
        duration: float | None,
        max_ticks: int | None = None,
        after_round: Callable[[], None] | None = None,
    ):
        super().__init__()
        self.interval = interval
        self.duration = duration
        self.max_ticks = max_ticks
        # Called once a tick's bundle has finished (the live run prints its status line).
        self.after_round = after_round

    def expand(self, pipeline_root):
        interval, duration, max_ticks = self.interval, self.duration, self.max_ticks

        def bounds(_):
            start = time.time()
            # "Until stopped" is ten years of ticks: an offset range needs an end.
            stop = start + (duration if duration is not None else 10 * 365 * 86_400)
            if max_ticks is not None:
                stop = min(stop, start + (max_ticks - 0.5) * interval)
            return start, stop, interval

        return (
            pipeline_root
            | "Impulse" >> beam.Impulse()
            | "TickBounds" >> beam.Map(bounds)
            | "Ticks" >> beam.ParDo(_StoppableTicks(self.after_round))
        )
