"""A time budget per document for the costly steps (extraction, cleaning).

Beam's FnApiRunner runs DoFns on worker threads, where `signal.alarm` cannot reach (signals
go to the main thread only). So one watchdog thread per process keeps the deadlines of the
documents in work; when one passes, it raises `DocumentTimeoutError` in the thread that works on
that document (CPython's `PyThreadState_SetAsyncExc`, as `func_timeout` does), and again every
`REFIRE_SECONDS` in case code under it swallows the exception (`except Exception`).

The exception lands when the thread next runs Python bytecode: a single long call into C
(an lxml parse, a regex) finishes first. What bounds those is the input size
(--max_document_bytes) and the text steps being at most linear in a line or a token. A document
that finishes after its deadline is a timeout all the same, so the outcome does not depend on
where the exception landed.
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import math
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from transforms.records import PipelineError

DEFAULT_MAX_SECONDS_PER_DOCUMENT = 60.0
REFIRE_SECONDS = 1.0

Result = TypeVar("Result")


class DocumentTimeoutError(PipelineError):
    """A document over its time budget; raised without arguments by the watchdog."""

    def __init__(self, message: str = "the document took longer than its time budget"):
        super().__init__("timeout", message)


class _Entry:
    __slots__ = ("active", "deadline", "fired", "thread_id")

    def __init__(self, deadline: float, thread_id: int):
        self.deadline = deadline
        self.thread_id = thread_id
        self.active = True
        self.fired = 0


def _raise_in_thread(thread_id: int, exception: type[BaseException] | None) -> None:
    """Schedules `exception` in the thread (None cancels a scheduled one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception else None
    )


class _Watchdog:
    def __init__(self):
        self._lock = threading.Condition()
        self._heap: list[tuple[float, int, _Entry]] = []
        self._order = itertools.count()
        self._pid = None
        # When the watchdog wakes next (inf: not before a notify). A deadline later than that
        # needs no wake-up (one per step call was a thread switch and a GIL handoff each).
        self._wakes_at = math.inf

    def register(self, seconds: float) -> _Entry:
        entry = _Entry(time.monotonic() + seconds, threading.get_ident())
        with self._lock:
            if self._pid != os.getpid():  # first use, or a forked child: no thread yet
                self._pid = os.getpid()
                self._heap = []
                self._wakes_at = math.inf
                threading.Thread(target=self._watch, name="document-deadline", daemon=True).start()
            self._drop_finished()  # the watchdog seldom wakes now: keep the heap small here
            heapq.heappush(self._heap, (entry.deadline, next(self._order), entry))
            if entry.deadline < self._wakes_at:
                self._lock.notify()
        return entry

    def unregister(self, entry: _Entry) -> None:
        """After this returns the watchdog fires no more for `entry` (one may be pending)."""
        with self._lock:
            entry.active = False

    def _drop_finished(self) -> None:
        while self._heap and not self._heap[0][2].active:
            heapq.heappop(self._heap)

    def _watch(self) -> None:
        while True:
            with self._lock:
                self._drop_finished()
                if not self._heap:
                    self._wakes_at = math.inf
                    self._lock.wait()
                    continue
                deadline, _order, entry = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._wakes_at = deadline
                    self._lock.wait(wait)
                    continue
                heapq.heappop(self._heap)
                # Under the lock: an entry unregistered is never fired at.
                entry.fired += 1
                _raise_in_thread(entry.thread_id, DocumentTimeoutError)
                entry.deadline = deadline + REFIRE_SECONDS
                heapq.heappush(self._heap, (entry.deadline, next(self._order), entry))


_WATCHDOG = _Watchdog()


def run_with_deadline(seconds: float | None, fn: Callable[..., Result], *args) -> Result:
    """fn(*args), or DocumentTimeoutError (error_type "timeout") when it takes over `seconds`.

    `seconds=None` runs fn with no budget.
    """
    if seconds is None:
        return fn(*args)
    entry = _WATCHDOG.register(seconds)
    timed_out = False
    try:
        return fn(*args)
    except DocumentTimeoutError:
        timed_out = True
    finally:
        _settle(entry)
        if entry.fired or timed_out:
            raise DocumentTimeoutError(f"over its time budget of {seconds:g} s")


def _settle(entry: _Entry) -> None:
    """Unregisters `entry` and cancels a raise still pending. The watchdog may raise once more
    until then: absorbed here, and the loop ends once nothing more can come."""
    while True:
        try:
            _WATCHDOG.unregister(entry)
            if entry.fired:
                _raise_in_thread(entry.thread_id, None)
            return
        except DocumentTimeoutError:
            continue
