"""Dataflow: dry runs that stay offline, the job a dry run built, and the Flex Template entry.

A DataflowRunner dry run (`--dry_run=True`) translates the pipeline into the job Dataflow would
get and submits nothing. Beam still validates the options first, and when neither
`--temp_location` nor `--staging_location` is a valid `gs://bucket/path`, it looks up (or
creates) the project's default bucket: credentials are retried for about 25 s, then Cloud
Storage for 120 s, and the run fails. `prepare_dataflow_options` gives a dry run a placeholder
location instead (nothing is staged by a dry run), and skips the requirements cache (`pip
download`). Inputs are never matched at construction: `--input gs://...` is expanded by the
job itself (transforms/read.py: MatchAll).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import apache_beam as beam
from apache_beam.options.pipeline_options import (
    GoogleCloudOptions,
    PipelineOptions,
    SetupOptions,
    StandardOptions,
    TestOptions,
)
from apache_beam.portability import common_urns
from apache_beam.portability.api import beam_runner_api_pb2

_LOG = logging.getLogger(__name__)

# Used only by dry runs, which stage nothing; a real run needs a bucket of its own.
DRY_RUN_TEMP_LOCATION = "gs://dry-run-placeholder/tmp"

# The leaf transforms Dataflow Runner v2 executes: after the SDK has expanded a pipeline, every
# step is one of these. Anything else (TestStream, a legacy Read, a runner-specific URN of
# Beam's local runners) is refused when the job is submitted.
DATAFLOW_PRIMITIVE_URNS = frozenset(
    {
        common_urns.primitives.IMPULSE.urn,
        common_urns.primitives.PAR_DO.urn,
        common_urns.primitives.GROUP_BY_KEY.urn,
        common_urns.primitives.FLATTEN.urn,
        common_urns.primitives.ASSIGN_WINDOWS.urn,
        # Composites Dataflow implements natively when the SDK leaves them as leaves.
        common_urns.composites.COMBINE_PER_KEY.urn,
        common_urns.composites.RESHUFFLE.urn,
        common_urns.composites.GROUP_INTO_BATCHES_WITH_SHARDED_KEY.urn,
    }
)


def uses_dataflow(options: PipelineOptions) -> bool:
    runner = options.view_as(StandardOptions).runner or ""
    return runner.split(".")[-1] in ("DataflowRunner", "TestDataflowRunner")


def is_dry_run(options: PipelineOptions) -> bool:
    return bool(options.view_as(TestOptions).dry_run)


def _location_errors(options: PipelineOptions, name: str) -> list[str]:
    """Beam's own check of a gs:// location option (the one that triggers the bucket lookup)."""
    from apache_beam.options.pipeline_options_validator import PipelineOptionsValidator
    from apache_beam.runners.dataflow.dataflow_runner import DataflowRunner

    validator = PipelineOptionsValidator(options, DataflowRunner())
    return validator.validate_gcs_path(options.view_as(GoogleCloudOptions), name)


def prepare_dataflow_options(options: PipelineOptions) -> list[str]:
    """Make a Dataflow dry run need no network; returns what was changed (also logged).

    Call before `beam.Pipeline(options=...)`: Beam validates the options there.
    """
    if not (uses_dataflow(options) and is_dry_run(options)):
        return []
    changes = []
    cloud = options.view_as(GoogleCloudOptions)
    if _location_errors(options, "temp_location") and _location_errors(options, "staging_location"):
        # Else Beam looks up or creates the project's default bucket (credentials, GCS).
        changes.append(
            f"--temp_location {cloud.temp_location!r} is not a gs://bucket/path: the dry run "
            f"uses {DRY_RUN_TEMP_LOCATION} (a real run needs a bucket of yours)"
        )
        cloud.temp_location = DRY_RUN_TEMP_LOCATION
    setup = options.view_as(SetupOptions)
    if setup.requirements_file and setup.requirements_cache is None:
        from apache_beam.runners.portability.stager import SKIP_REQUIREMENTS_CACHE

        changes.append("--requirements_file: the dry run does not download the requirements")
        setup.requirements_cache = SKIP_REQUIREMENTS_CACHE
    for change in changes:
        _LOG.warning("dry run: %s", change)
    return changes


def _container_image(environment: beam_runner_api_pb2.Environment) -> str | None:
    if environment.urn != common_urns.environments.DOCKER.urn:
        return None
    payload = beam_runner_api_pb2.DockerPayload.FromString(environment.payload)
    return payload.container_image


def _dataflow_environment(job) -> dict[str, Any]:
    """The `environment` part of the job request (worker pool, experiments), built offline."""
    from apache_beam.runners.dataflow.internal import apiclient

    environment = apiclient.Environment(
        packages=[],
        options=job.options,
        environment_version=apiclient._FNAPI_ENVIRONMENT_MAJOR_VERSION,
        proto_pipeline_staged_url="gs://dry-run/pipeline.pb",
        proto_pipeline=job.proto_pipeline,
    )
    return json.loads(type(environment.proto).to_json(environment.proto))


def describe_job(job) -> dict[str, Any]:
    """A dry run's job (`result.job` of DataflowRunner), as plain data for tests and people.

    `steps` are the leaf transforms Dataflow gets (name -> URN), `top_level` the names of our
    composites, `environment` the job request's environment (worker pool settings, images).
    """
    components = job.proto_pipeline.components
    transforms = components.transforms
    # An empty composite that hands its input on (Create's MaybeReshuffle of one value) is
    # no step; batch jobs lose them to Beam's graph optimization, streaming jobs keep them.
    steps = {
        t.unique_name: t.spec.urn
        for t in transforms.values()
        if not t.subtransforms
        and t.unique_name
        and not set(t.outputs.values()) <= set(t.inputs.values())
    }
    top_level = sorted(
        t.unique_name for t in transforms.values() if t.unique_name and "/" not in t.unique_name
    )
    job_type = getattr(job.proto.type, "name", str(job.proto.type))
    unbounded = [
        name
        for name, pcollection in components.pcollections.items()
        if pcollection.is_bounded == beam_runner_api_pb2.IsBounded.UNBOUNDED
    ]
    return {
        "name": job.proto.name,
        "type": job_type,
        "streaming": bool(job.options.view_as(StandardOptions).streaming),
        "top_level": top_level,
        "steps": steps,
        "unbounded_pcollections": len(unbounded),
        "container_images": sorted(
            {_container_image(e) or e.urn for e in components.environments.values()}
        ),
        "environment": _dataflow_environment(job),
    }


def refused_steps(description: dict[str, Any]) -> list[str]:
    """Steps of a described job that Dataflow would refuse ("name (urn)")."""
    return sorted(
        f"{name} ({urn})"
        for name, urn in description["steps"].items()
        if urn not in DATAFLOW_PRIMITIVE_URNS
    )


def dry_run_summary(result, runner_name: str) -> dict[str, Any]:
    """What `run()` returns for a dry run: no counters, the job that would have been sent."""
    description = describe_job(result.job)
    refused = refused_steps(description)
    print(
        f"{runner_name}: pipeline built, no job ran, no summary. Job {description['name']}: "
        f"{description['type']}, {len(description['steps'])} steps, image "
        f"{', '.join(description['container_images'])}"
        + (f"; steps Dataflow refuses: {', '.join(refused)}" if refused else ""),
        file=sys.stderr,
    )
    return {"balanced": not refused, "ran": False, "dataflow_job": description}


# ---------------------------------------------------------------- Flex Template


def boolean_flags(parser_actions) -> set[str]:
    """Option strings of store_true actions (flags that take no value)."""
    import argparse

    return {
        option
        for action in parser_actions
        if isinstance(action, argparse._StoreTrueAction)
        for option in action.option_strings
    }


def flags_from_template(argv: list[str], flags: set[str]) -> list[str]:
    """Flex Templates pass every parameter as `--name=value`; a flag is `--name=true`.

    `--once=true` -> `--once`, `--once=false` -> nothing; other arguments unchanged.
    """
    converted = []
    for argument in argv:
        name, has_value, value = argument.partition("=")
        if has_value and name in flags:
            if value.lower() not in ("true", "false"):  # as metadata.json's regex
                raise ValueError(f"{name} takes true or false, not {value!r}")
            if value.lower() == "true":
                converted.append(name)
            continue
        converted.append(argument)
    return converted


def _our_flags() -> set[str]:
    from pipeline.cli import full_parser

    return boolean_flags(full_parser()._actions)


def launch_template(argv: list[str]) -> dict[str, Any]:
    """Entry point of the Flex Template (deploy/dataflow/main.py): build, submit, return.

    The template launcher runs this with `--template_location`: Beam writes the job there and
    the launcher submits it, so nothing may wait for the job (Beam raises when asked to). The
    batch graph writes straight into --output here: the staging folder of a local run is
    swapped in after the job ends, which a launcher that exits cannot do.
    """
    from pipeline.graph import build_batch_pipeline
    from pipeline.options import NewsPipelineOptions, UsageError
    from pipeline.output_state import ingested_at_of

    options = PipelineOptions(flags_from_template(argv, _our_flags()))
    standard = options.view_as(StandardOptions)
    standard.runner = standard.runner or "DataflowRunner"  # whether the launcher names it or not
    news = options.view_as(NewsPipelineOptions)
    errors = news.validate_news_options()
    if not uses_dataflow(options):
        errors.append(f"the Flex Template entry runs on Dataflow only, not {standard.runner}")
    if errors:
        raise UsageError("; ".join(errors))
    options.view_as(SetupOptions).save_main_session = False
    prepare_dataflow_options(options)
    ingested_at = ingested_at_of(options)
    pipeline = beam.Pipeline(options=options)
    if news.feeds:
        from pipeline.live import build_live_pipeline

        standard.streaming = True
        run_scope = f"run:{ingested_at.isoformat()}"
        info = {"mode": "live", "ingested_at": ingested_at.isoformat(), "output": news.output}
        build_live_pipeline(pipeline, news, ingested_at, None, run_scope, info)
    else:
        build_batch_pipeline(pipeline, news, ingested_at)
    result = pipeline.run()
    if is_dry_run(options):
        return dry_run_summary(result, "DataflowRunner")
    return {"balanced": True, "ran": False, "submitted": True}  # the launcher sends the job
