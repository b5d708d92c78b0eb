"""Dataflow: both jobs build offline with --dry_run=True, into a graph Dataflow accepts; the
Flex Template's files agree with the package and the options the command line has."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from pipeline.dataflow import (
    DRY_RUN_TEMP_LOCATION,
    describe_job,
    flags_from_template,
    prepare_dataflow_options,
    refused_steps,
)

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy" / "dataflow"
DATAFLOW = ["--runner", "DataflowRunner", "--project", "demo-project", "--region", "europe-west1"]


class NetworkUsed(BaseException):
    """Raised by a test that forbids the network; passes through `except Exception`."""


def refuse_network(monkeypatch) -> list:
    """Every connection, name lookup and credentials lookup fails at once and is recorded."""
    import google.auth

    attempts = []

    def refuse(what):
        def refused(*args, **kwargs):
            attempts.append((what, args[:2]))
            # Not an Exception: no retry loop catches it, the test fails at once.
            raise NetworkUsed(what)

        return refused

    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(google.auth, "default", refuse("google.auth.default"))
    return attempts


def keep_dataflow_jobs(monkeypatch) -> list:
    """The jobs DataflowRunner builds from now on, described (describe_job)."""
    from apache_beam.runners.dataflow.dataflow_runner import DataflowRunner

    jobs = []
    original = DataflowRunner.run_pipeline

    def run_and_keep(self, pipeline, options):
        result = original(self, pipeline, options)
        jobs.append(describe_job(result.job))
        return result

    monkeypatch.setattr(DataflowRunner, "run_pipeline", run_and_keep)
    return jobs


@pytest.fixture
def no_network(monkeypatch):
    return refuse_network(monkeypatch)


@pytest.fixture
def dataflow_jobs(monkeypatch):
    return keep_dataflow_jobs(monkeypatch)


def dry_run(argv: list[str]) -> dict:
    from pipeline.graph import run

    return run([*argv, *DATAFLOW, "--dry_run=True"])


def small_job(argv: list[str], streaming: bool = False) -> dict:
    """A two-step pipeline's dry-run job: worker settings depend on options, not on the graph."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    options = PipelineOptions([*DATAFLOW, "--dry_run=True", *argv])
    options.view_as(StandardOptions).streaming = streaming
    prepare_dataflow_options(options)
    pipeline = beam.Pipeline(options=options)
    _ = pipeline | beam.Create(["a"]) | beam.Map(str.upper)
    return describe_job(pipeline.run().job)


# ---------------------------------------------------------------- batch


@pytest.fixture(scope="module")
def batch_dry_run():
    """One batch dry run with no --temp_location and no network; (summary, job, attempts).

    Without --temp_location Beam used to look up the project's default bucket: credentials
    retried, then Cloud Storage for 120 s. Here any such attempt fails and is recorded.
    """
    with pytest.MonkeyPatch.context() as monkeypatch:
        attempts = refuse_network(monkeypatch)
        jobs = keep_dataflow_jobs(monkeypatch)
        summary = dry_run(
            ["--input", "gs://news-archive/raw/**/*.warc.gz", "--output", "gs://news-out/o"]
        )
    return summary, jobs, attempts


def test_batch_dry_run_needs_no_network_without_temp_location(batch_dry_run):
    summary, jobs, attempts = batch_dry_run
    assert attempts == []
    assert summary["ran"] is False and summary["balanced"] is True
    (job,) = jobs
    assert job == summary["dataflow_job"]
    assert job["type"] == "JOB_TYPE_BATCH" and job["streaming"] is False
    assert job["unbounded_pcollections"] == 0
    assert job["environment"]["tempStoragePrefix"].startswith(
        DRY_RUN_TEMP_LOCATION.replace("gs://", "storage.googleapis.com/")
    )


def test_batch_job_has_the_expected_steps_and_none_dataflow_refuses(batch_dry_run):
    (job,) = batch_dry_run[1]
    for step in (
        "ReadDocuments",
        "ProcessDocuments",
        "CountRowsPerPartition",
        "DropExactDuplicates",
        "WritePartitionedParquet",
        "WriteDeadLetters",
    ):
        assert step in job["top_level"]
    assert refused_steps(job) == []
    # The input pattern is matched by the job (MatchAll), never at construction.
    assert any(name.startswith("ReadDocuments/MatchFiles") for name in job["steps"])
    pool = job["environment"]["workerPools"][0]
    assert pool["sdkHarnessContainerImages"][0]["containerImage"].endswith(
        "beam_python3.11_sdk:2.77.0"
    )


def test_worker_settings_come_from_the_options_not_the_code(no_network):
    default = small_job(["--temp_location", "gs://a-bucket/tmp"])
    chosen = small_job(
        [
            *("--temp_location", "gs://a-bucket/tmp"),
            *("--machine_type", "n2-standard-4", "--max_num_workers", "7"),
            *("--autoscaling_algorithm", "NONE", "--num_workers", "3"),
            *("--sdk_container_image", "europe-docker.pkg.dev/p/news/pipeline:1"),
        ]
    )
    assert no_network == []
    default_pool, chosen_pool = (job["environment"]["workerPools"][0] for job in (default, chosen))
    # Nothing set by the code: Dataflow's defaults apply unless the command line says.
    assert default_pool["machineType"] == "" and default_pool["numWorkers"] == 0
    assert default_pool["autoscalingSettings"].get("maxNumWorkers", 0) == 0
    assert chosen_pool["machineType"] == "n2-standard-4" and chosen_pool["numWorkers"] == 3
    assert chosen_pool["autoscalingSettings"]["maxNumWorkers"] == 7
    assert chosen_pool["autoscalingSettings"]["algorithm"] == 1  # AUTOSCALING_ALGORITHM_NONE
    assert chosen["container_images"] == ["europe-docker.pkg.dev/p/news/pipeline:1"]


def test_a_step_dataflow_refuses_is_reported(no_network):
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
    from apache_beam.testing.test_stream import TestStream

    options = PipelineOptions([*DATAFLOW, "--dry_run=True"])
    options.view_as(StandardOptions).streaming = True
    prepare_dataflow_options(options)
    pipeline = beam.Pipeline(options=options)
    _ = pipeline | "Events" >> TestStream().add_elements(["a"]) | beam.Map(str.upper)
    job = describe_job(pipeline.run().job)
    assert job["type"] == "JOB_TYPE_STREAMING"
    assert refused_steps(job) == ["Events (beam:transform:teststream:v1)"]


@pytest.mark.parametrize(
    ("argv", "placeholder"),
    [
        ([], True),
        (["--temp_location", "gs://b/t"], True),  # a one-letter bucket is not a bucket name
        (["--temp_location", "/tmp/local"], True),
        (["--temp_location", "gs://real-bucket/tmp"], False),
        (["--staging_location", "gs://real-bucket/staging"], False),
    ],
)
def test_dry_run_placeholder_only_when_no_location_is_valid(argv, placeholder):
    from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions

    options = PipelineOptions([*DATAFLOW, "--dry_run=True", *argv])
    changes = prepare_dataflow_options(options)
    temp = options.view_as(GoogleCloudOptions).temp_location
    assert (temp == DRY_RUN_TEMP_LOCATION) is placeholder
    assert bool(changes) is placeholder


def test_real_runs_and_local_runs_are_left_alone():
    from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions

    for argv in (DATAFLOW, ["--dry_run=True"]):
        options = PipelineOptions(argv)
        assert prepare_dataflow_options(options) == []
        assert options.view_as(GoogleCloudOptions).temp_location is None


# ---------------------------------------------------------------- streaming


def test_streaming_job_builds_offline_with_the_live_steps(tmp_path, no_network, dataflow_jobs):
    pytest.importorskip("pipeline.live")
    feeds = tmp_path / "feeds.txt"  # read at launch: the job carries the list
    feeds.write_text("https://news.example.org/rss.xml\nhttps://other.example.net/atom\n")
    summary = dry_run(
        [
            *("--feeds", str(feeds), "--output", "gs://news-out/live", "--streaming"),
            *("--archive", "gs://news-out/warc"),
        ]
    )
    assert no_network == []
    assert summary["ran"] is False
    (job,) = dataflow_jobs
    assert job["type"] == "JOB_TYPE_STREAMING" and job["streaming"] is True
    assert job["environment"]["version"]["job_type"] == "FNAPI_STREAMING"
    assert job["unbounded_pcollections"] > 0
    for step in ("Ticks", "PollFeeds", "FetchPages", "ProcessDocuments"):
        assert step in job["top_level"]
    assert refused_steps(job) == []


# ---------------------------------------------------------------- Flex Template


def test_template_flags_become_command_line_flags():
    flags = {"--once", "--overwrite"}
    argv = ["--once=true", "--overwrite=false", "--output=gs://b/o", "--min_words=5"]
    assert flags_from_template(argv, flags) == ["--once", "--output=gs://b/o", "--min_words=5"]
    with pytest.raises(ValueError, match="--once"):
        flags_from_template(["--once=maybe"], flags)


@pytest.mark.parametrize("mode", ["batch", "streaming"])
def test_flex_template_entry_builds_both_jobs_offline(mode, tmp_path, no_network, dataflow_jobs):
    from pipeline.dataflow import launch_template

    feeds = tmp_path / "feeds.txt"
    feeds.write_text("https://news.example.org/rss.xml\n")
    source = ["--input=gs://news-archive/raw/**"] if mode == "batch" else [f"--feeds={feeds}"]
    # As the launcher passes them: --name=value, flags as =true/false, no --runner needed.
    summary = launch_template(
        [
            *source,
            *("--output=gs://news-out/articles", "--overwrite=false", "--quiet=true"),
            *("--project=demo-project", "--region=europe-west1", "--dry_run=True"),
        ]
    )
    assert no_network == []
    (job,) = dataflow_jobs
    assert summary["dataflow_job"] == job and refused_steps(job) == []
    expected = {"batch": "JOB_TYPE_BATCH", "streaming": "JOB_TYPE_STREAMING"}[mode]
    assert job["type"] == expected
    last_step = "WritePartitionedParquet" if mode == "batch" else "FetchPages"
    assert last_step in job["top_level"]


def test_flex_template_entry_refuses_other_runners():
    from pipeline.dataflow import launch_template
    from pipeline.options import UsageError

    with pytest.raises(UsageError, match="Dataflow only"):
        launch_template(
            ["--input=gs://a-bucket/x", "--output=gs://a-bucket/o", "--runner=DirectRunner"]
        )


def our_options() -> dict[str, argparse.Action]:
    """Every option the command line has beyond Beam's (the option classes of our packages,
    not of Beam or of a test): dest -> argparse action."""
    from apache_beam.options.pipeline_options import PipelineOptions

    # Every module that defines options of ours.
    import pipeline.cli
    import pipeline.graph
    import pipeline.output_state  # noqa: F401

    parser = argparse.ArgumentParser(add_help=False)
    seen = set()
    pending = list(PipelineOptions.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if not cls.__module__.startswith(("pipeline.", "transforms.")) or cls in seen:
            continue
        seen.add(cls)
        if "_add_argparse_args" in vars(cls):
            cls._add_argparse_args(parser)
    return {action.dest: action for action in parser._actions}


def test_template_metadata_lists_exactly_the_options_of_the_command_line():
    metadata = json.loads((DEPLOY / "metadata.json").read_text())
    parameters = {parameter["name"]: parameter for parameter in metadata["parameters"]}
    options = our_options()
    assert sorted(set(options) - set(parameters)) == [], "options missing from metadata.json"
    assert sorted(set(parameters) - set(options)) == [], "metadata.json has unknown options"
    for name, parameter in parameters.items():
        assert parameter["label"] and parameter["helpText"], name
        required = name == "output"
        assert parameter.get("isOptional", False) is not required, name
        for pattern in parameter.get("regexes", []):
            re.compile(pattern)
        action = options[name]
        example = {
            "store_true": "true",
            int: str(action.default or 1),
            float: str(action.default or 1.5),
        }.get("store_true" if isinstance(action, argparse._StoreTrueAction) else action.type)
        if example is not None:
            assert all(re.fullmatch(p, example) for p in parameter.get("regexes", [])), name
        if action.choices:
            assert sorted(o["value"] for o in parameter["enumOptions"]) == sorted(action.choices)
        if "defaultValue" in parameter:  # stays in step with the command line's default
            flag = isinstance(action, argparse._StoreTrueAction)
            assert parameter["defaultValue"] == ("false" if flag else str(action.default)), name


def test_metadata_regexes_accept_what_they_should_and_refuse_the_rest():
    parameters = {
        p["name"]: p for p in json.loads((DEPLOY / "metadata.json").read_text())["parameters"]
    }

    def accepts(name, value):
        return all(re.fullmatch(p, value) for p in parameters[name]["regexes"])

    assert accepts("output", "gs://news-out/articles") and not accepts("output", "out/")
    assert accepts("input", "gs://archive/raw/**/*.warc.gz") and not accepts("input", "/data")
    assert accepts("min_words", "15") and not accepts("min_words", "fifteen")
    assert accepts("once", "true") and accepts("once", "false") and not accepts("once", "yes")


def pinned_beam_version() -> str:
    text = (REPO / "requirements.txt").read_text()
    return re.search(r"^apache-beam\[gcp\]==(\S+)$", text, re.M).group(1)


def test_dockerfile_base_image_is_the_pinned_beam_sdk():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    (base,) = re.findall(r"^FROM apache/beam_python(\d+\.\d+)_sdk:(\S+)", dockerfile, re.M)
    assert base == ("3.11", pinned_beam_version())
    assert re.search(r"^ENV FLEX_TEMPLATE_PYTHON_PY_FILE=\S+main\.py", dockerfile, re.M)
    assert "-c constraints.txt" in dockerfile  # the versions the tests ran with
    assert 'ENTRYPOINT ["/opt/apache/beam/boot"]' in dockerfile  # also the workers' image
    main = (DEPLOY / "main.py").read_text()
    assert "launch_template" in main


def test_launch_script_is_valid_bash_and_stops_on_errors():
    script = DEPLOY / "build_and_launch.sh"
    text = script.read_text()
    assert "set -euo pipefail" in text
    for command in (
        "gcloud builds submit",
        "gcloud dataflow flex-template build",
        "gcloud dataflow flex-template run",
    ):
        assert command in text
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    if shutil.which("shellcheck"):
        checked = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout
