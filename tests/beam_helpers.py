"""TestPipeline on the same local runner the CLI uses (no Prism download attempt)."""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline

from pipeline.graph import local_runner


def local_test_pipeline(*args: str) -> TestPipeline:
    options = PipelineOptions(list(args))
    return TestPipeline(runner=local_runner(options), options=options)
