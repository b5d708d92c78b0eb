"""A map step whose failures become dead letters instead of crashing the run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.records import DEAD_LETTER, Article, PipelineError, RawDocument, dead_letter

_LOG = logging.getLogger(__name__)


def _identity_of(element: Any) -> tuple[str, bytes | str | None]:
    if isinstance(element, tuple) and element:
        element = element[0]  # (article, its statistics)
    if isinstance(element, RawDocument):
        return element.source_uri, element.payload
    if isinstance(element, Article):
        return element.source_uri, element.text
    return repr(element)[:200], None


class _FailSafeDoFn(beam.DoFn):
    def __init__(self, stage: str, fn: Callable[..., Any]):
        self.stage = stage
        self.fn = fn
        self.succeeded = Metrics.counter("news", f"{stage}.ok")
        self.failed = Metrics.counter("news", f"dead_letter.{stage}")

    def process(self, element, *side_inputs):
        try:
            result = self.fn(element, *side_inputs)
        except Exception as error:  # noqa: BLE001 - one bad input must not stop the run
            source_uri, payload = _identity_of(element)
            if not isinstance(error, PipelineError):
                # Not an expected bad-input case: keep the traceback for whoever debugs it.
                _LOG.warning("%s failed on %s", self.stage, source_uri, exc_info=True)
            record = dead_letter(source_uri, self.stage, error, payload=payload)
            self.failed.inc()
            Metrics.counter("news", f"dead_letter.{self.stage}.{record['error_type']}").inc()
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, record)
            return
        self.succeeded.inc()
        yield result


class FailSafeMap(beam.PTransform):
    """`fn(element, *side_inputs) -> output`; an exception sends the input to `dead_letter`.

    Outputs: `main` and `dead_letter`, so every input ends up in exactly one of them.
    """

    def __init__(self, stage: str, fn: Callable[..., Any], *side_inputs):
        super().__init__()
        self.stage = stage
        self.fn = fn
        self.side_inputs = side_inputs

    def expand(self, pcoll):
        return pcoll | beam.ParDo(
            _FailSafeDoFn(self.stage, self.fn), *self.side_inputs
        ).with_outputs(DEAD_LETTER, main="main")
