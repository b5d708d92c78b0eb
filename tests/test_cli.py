"""`python -m pipeline` as an operator meets it: help, option errors, exit codes, progress."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import subprocess
import sys

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline import cli, progress
from pipeline.graph import build_batch_pipeline, local_runner
from pipeline.options import NewsPipelineOptions, UsageError
from tests.helpers import REPO, SAMPLE


def expected_default(value) -> str:
    """How the help must show a default, worked out from the parsed options, not the parser."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def option_blocks(help_text: str) -> dict[str, str]:
    """{--option: its lines in the help}."""
    blocks, current = {}, None
    for line in help_text.splitlines():
        match = re.match(r"^  (--\w+)", line)
        if match:
            current = match.group(1)
            blocks[current] = line
        elif current and line.startswith("    "):
            blocks[current] += " " + line.strip()
        else:
            current = None
    return blocks


def test_every_option_of_ours_is_in_a_help_group():
    groups = cli.option_groups()
    ungrouped = sorted(dest for dest, group in groups.items() if group == cli.GROUP_OTHER)
    assert ungrouped == [], f"add these options to pipeline/cli.py OPTION_GROUPS: {ungrouped}"
    assert {"input", "feeds", "min_words", "output", "quiet"} <= set(groups)


def test_help_lists_every_option_with_its_default(capsys):
    assert cli.main(["--help"]) == cli.EXIT_OK
    text = capsys.readouterr().out
    assert text.startswith("usage: python -m pipeline ")
    for title in ("inputs:", "live feeds:", "cleaning:", "output:", "progress and logging:"):
        assert f"\n{title}\n" in text
    assert "other options:" not in text
    assert "python -m pipeline --help_beam" in text
    assert "0 ok, 1" in text and "2 usage error" in text
    blocks = option_blocks(text)
    own_help = {
        cli._dest(args, kwargs): kwargs.get("help", "")
        for args, kwargs in cli._recorded(NewsPipelineOptions._add_argparse_args)
    }
    defaults = PipelineOptions([]).view_as(NewsPipelineOptions).get_all_options(current_only=True)
    assert set(defaults) - {"input", "output"} <= {name.lstrip("-") for name in blocks}
    for dest, value in defaults.items():
        block = blocks[f"--{dest}"]
        if dest in ("input", "output"):
            assert "(default: required" in block
        elif "default" in own_help[dest].lower():  # says it in words ("Default: OUTPUT/_state")
            assert "default" in block.lower(), block
        else:
            assert f"(default: {expected_default(value)})" in block, block


def test_help_groups_live_options_from_their_own_method():
    text = cli.format_help()
    live_part = text.split("\nlive feeds:\n")[1].split("\ncleaning:\n")[0]
    assert "--feeds" in live_part and "--poll_interval" in live_part
    assert "--min_words" not in live_part


def test_beam_help_lists_beams_options(capsys):
    assert cli.main(["--help_beam"]) == cli.EXIT_OK
    text = capsys.readouterr().out
    assert "--runner" in text and "--direct_num_workers" in text
    assert "--min_words" not in text


def test_help_and_a_misspelt_option_as_a_user_meets_them():
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline", "-h"], capture_output=True, text=True, cwd=REPO
    )
    assert completed.returncode == 0
    assert completed.stdout.startswith("usage: python -m pipeline ")
    assert "--min_words MIN_WORDS" in completed.stdout and "(default: 15)" in completed.stdout
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline", "--input", "x", "--output", "y", "--min_word", "3"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert completed.returncode == cli.EXIT_USAGE
    assert completed.stderr.strip().splitlines() == [
        "python -m pipeline: error: unknown option --min_word; did you mean --min_words?"
    ]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--boilerplate_min_doc", "3"], "did you mean --boilerplate_min_docs?"),
        (["--direct_num_worker", "2"], "did you mean --direct_num_workers?"),
        (["--min_words", "many"], "--min_words: invalid int value: 'many'"),
        (["--log_level", "loud"], "--log_level: invalid choice"),
        (["stray"], "unexpected argument 'stray'"),
        (["--frobnicate"], "unknown option --frobnicate; see python -m pipeline --help"),
        (["--quiet=yes"], "--quiet: ignored explicit argument"),
    ],
)
def test_option_errors_exit_2_in_one_line(argv, message, capsys):
    def must_not_run(_argv):
        raise AssertionError("ran despite a bad option")

    assert cli.main(["--input", "x", "--output", "y", *argv], run=must_not_run) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m pipeline: error: ")
    assert message in lines[0]


def test_beam_options_pass_through():
    parsed = cli.check_arguments(
        [
            "--input=x",
            "--output",
            "y",
            "--direct_num_workers",
            "2",
            "--direct_running_mode=multi_processing",
            "--runner",
            "DirectRunner",
            "--log_level",
            "info",
        ]
    )
    assert (parsed.direct_num_workers, parsed.runner, parsed.log_level) == (
        2,
        "DirectRunner",
        "INFO",
    )


@pytest.mark.parametrize(
    "outcome, status",
    [
        ({"balanced": True}, 0),
        ({"balanced": False}, 1),
        ({"balanced": True, "ran": False}, 0),
        (UsageError("--output is required (a directory)"), 2),
        (PermissionError(13, "Permission denied", "/out"), 1),
        (KeyboardInterrupt(), 130),
        (RuntimeError("OSError: disk full [while running 'WriteParquet']\nmore detail"), 1),
    ],
)
def test_exit_codes(outcome, status, tmp_path, capsys):
    def fake_run(argv):
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    output = tmp_path / "out"
    output.mkdir()
    assert cli.main(["--input", "x", "--output", str(output)], run=fake_run) == status
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if status == 2:
        assert err.strip() == "python -m pipeline: error: --output is required (a directory)"
    if isinstance(outcome, RuntimeError):
        assert err.strip() == (
            "python -m pipeline: error: the run failed: OSError: disk full [while running "
            "'WriteParquet'] (--log_level DEBUG shows the traceback)"
        )
    # a run that ended writes its report; one that did not run, or failed, does not
    ended = isinstance(outcome, dict) and outcome.get("ran", True)
    assert (output / "_run_report.html").exists() == ended


def test_an_output_under_a_file_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    argv = ["--input", "x", "--output", str(tmp_path / "file" / "out")]
    assert cli.main(argv, run=lambda argv: {"balanced": True}) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_validation_errors_of_the_real_run_exit_2(tmp_path, capsys):
    status = cli.main(["--input", str(tmp_path / "none" / "*.txt"), "--output", str(tmp_path)])
    assert status == 2
    assert "matches no file" in capsys.readouterr().err


def test_an_unusable_feed_list_is_a_usage_error(tmp_path, capsys):
    output = str(tmp_path / "out")
    assert cli.main(["--feeds", str(tmp_path / "missing.txt"), "--output", output]) == 2
    assert "--feeds" in capsys.readouterr().err
    bad = tmp_path / "feeds.txt"
    bad.write_text("ftp://example.org/feed\n")
    assert cli.main(["--feeds", str(bad), "--output", output]) == 2
    assert "line 1" in capsys.readouterr().err


# --- progress ------------------------------------------------------------------------------


def test_seconds_left_and_phases():
    assert progress.seconds_left(0, 10, 5.0) is None
    assert progress.seconds_left(25, 100, 10.0) == pytest.approx(30.0)
    totals = progress.InputTotals(files=4, bytes=400)
    reading = progress.current_phase({"files": 1, "files_bytes": 300}, totals, 3.0)
    assert (reading.name, reading.done, reading.total) == ("reading", 1, 4)
    assert reading.seconds_left == pytest.approx(1.0)  # by bytes: 3/4 read in 3 s
    cleaning = progress.current_phase({"files": 4, "extracted": 9, "enriched": 3}, totals, 9.0)
    assert (cleaning.name, cleaning.done, cleaning.total) == ("cleaning", 3, 9)
    assert progress.current_phase({"files": 4, "rows": 2}, totals, 9.0).name == "writing"
    assert progress.current_phase({}, totals, 9.0, final=True).name == "done"
    assert progress.format_duration(3725) == "1:02:05"
    assert progress.format_duration(None) == "?"


def test_progress_line_names_every_count():
    line = progress.progress_line(
        {
            "files": 2,
            "files_bytes": 50,
            "documents": 40,
            "extracted": 38,
            "rows": 0,
            "dead_letters": 2,
        },
        progress.InputTotals(files=8, bytes=200),
        20.0,
    )
    assert line.startswith("reading | files 2/8 (25%) | documents 40 | articles 38 |")
    assert "rows written 0 | dead letters 2 | 2.0 docs/s" in line
    assert "reading done in ~1:00" in line  # a quarter of the bytes in 20 s


def test_taps_count_across_instances_and_flushes(tmp_path):
    first, second = (
        progress.CountInto(str(tmp_path), "rows"),
        progress.CountInto(str(tmp_path), "rows"),
    )
    for tap in (first, second):
        tap.setup()
    for _ in range(5):
        first.process("row")
    second.process("row")
    first.finish_bundle()
    second.teardown()
    assert progress.read_counts(str(tmp_path)) == {"rows": 6}


def test_progress_of_a_real_run_matches_its_summary(tmp_path, monkeypatch):
    """Plain lines (not a terminal), and the taps' final counts equal Beam's counters."""
    monkeypatch.setattr(progress, "LOG_EVERY_SECONDS", 0.0)
    output = tmp_path / "out"
    options = PipelineOptions(["--input", str(SAMPLE), "--output", str(output)])
    pipeline = beam.Pipeline(runner=local_runner(options), options=options)
    build_batch_pipeline(
        pipeline, options.view_as(NewsPipelineOptions), dt.datetime.now(dt.timezone.utc)
    )
    stream = io.StringIO()
    with progress.track_progress(pipeline, options, stream=stream) as state:
        pipeline.run().wait_until_finish()
    assert state["taps"] == [tap.name for tap in progress.BATCH_TAPS]  # every label found
    counts = state["counts"]
    files = len(list(SAMPLE.iterdir()))
    assert (counts["files"], counts["documents"], counts["rows"]) == (files, files, files)
    assert counts.get("dead_letters", 0) == 0
    lines = stream.getvalue().splitlines()
    assert lines and all(" progress " in line for line in lines)
    assert lines[-1].split(" progress ")[1].startswith(f"done | files {files}/{files} (100%)")
    assert f"rows written {files}" in lines[-1]


def test_quiet_attaches_nothing(tmp_path):
    options = PipelineOptions(["--input", str(SAMPLE), "--output", str(tmp_path), "--quiet"])
    pipeline = beam.Pipeline(options=options)
    with progress.track_progress(pipeline, options, stream=io.StringIO()) as state:
        pass
    assert state["taps"] == []


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_terminal_gets_a_bar_through_the_phases():
    display = progress._Display(progress.InputTotals(files=10, bytes=1000), _Terminal())
    display.update({"files": 4, "documents": 4})
    display.update({"files": 10, "documents": 12, "extracted": 12, "enriched": 5})
    display.update(
        {
            "files": 10,
            "documents": 12,
            "extracted": 12,
            "enriched": 12,
            "rows": 11,
            "dead_letters": 1,
        },
        final=True,
    )
    display.close()
    text = display.stream.getvalue()
    assert "reading:" in text and "4/10 files" in text
    assert "cleaning:" in text and "5/12 articles" in text
    assert "done:" in text and "rows 11" in text and "dead 1" in text


def test_poll_round_status_line():
    stream = io.StringIO()
    reporter = progress.ProgressReporter(stream=stream)
    line = reporter.poll_round(
        3, 12, 7, 25, 1, rows_written=20, dead_letters=2, feeds_total=40, next_poll_in_seconds=65
    )
    assert line == (
        "round 3 | feeds polled 12/40 | not modified 7 | new entries 25 | failures 1 | "
        "rows written 20 | dead letters 2 | next poll in 1:05"
    )
    assert stream.getvalue().strip().endswith(line)
    quiet = io.StringIO()
    progress.print_poll_round_status(1, 1, 0, 0, 0, 0, 0, quiet=True, stream=quiet)
    assert quiet.getvalue() == ""


def test_logging_is_quiet_by_default_and_log_level_opens_it(capsys):
    def log_everything() -> str:
        logging.getLogger("trafilatura.core").error("library error")
        logging.getLogger("trafilatura.core").warning("library warning")
        logging.getLogger("apache_beam.runners.common").error("worker traceback")
        logging.getLogger("pipeline.graph").info("our info")
        logging.getLogger("transforms.read").warning("our warning")
        return capsys.readouterr().err

    try:
        cli.configure_logging("WARNING")
        assert re.findall(r": (\w+ \w+)$", log_everything(), re.MULTILINE) == ["our warning"]
        cli.configure_logging("INFO")
        assert re.findall(r": (\w+ \w+)$", log_everything(), re.MULTILINE) == [
            "library error",
            "library warning",
            "our info",
            "our warning",
        ]
        cli.configure_logging("DEBUG")
        assert "worker traceback" in log_everything()
    finally:
        cli.configure_logging("WARNING")
