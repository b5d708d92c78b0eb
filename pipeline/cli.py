"""Command line of `python -m pipeline`: grouped help, strict options, exit codes, logging.

Our options are checked strictly (an unknown or misspelt one is an error with a suggestion);
Beam's standard options pass through to Beam. Which flags are Beam's is asked of Beam's own
PipelineOptions classes, so a new Beam version's options are known without a list of ours.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import sys
from collections.abc import Callable, Iterable

from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

from pipeline.options import DEFAULT_LOG_LEVEL, NewsPipelineOptions, UsageError

PROG = "python -m pipeline"
BEAM_HELP_FLAG = "--help_beam"

EXIT_OK = 0
EXIT_UNBALANCED = 1  # the run ended but inputs != rows + duplicates + dead letters (or failed)
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# What Beam logs of its workers: a failing step's traceback (before the driver re-raises the
# error, which the command reports in one line) and, with several local workers, their
# relayed warnings about our options. --log_level DEBUG shows them.
BEAM_WORKER_LOGGERS = (
    "apache_beam.runners.common",
    "apache_beam.runners.worker",
    "apache_beam.runners.portability.local_job_service",
)

GROUP_INPUTS = "inputs"
GROUP_LIVE = "live feeds"
GROUP_CLEANING = "cleaning"
GROUP_OUTPUT = "output"
GROUP_RUN = "progress and logging"
GROUP_OTHER = "other options"
GROUP_ORDER = (GROUP_INPUTS, GROUP_LIVE, GROUP_CLEANING, GROUP_OUTPUT, GROUP_RUN, GROUP_OTHER)

# Option (dest) -> help group. The live-feed options are found from `_add_live_feed_args`;
# tests/test_cli.py fails when an option of NewsPipelineOptions is in no group (help still
# lists it, under "other options").
OPTION_GROUPS = {
    "input": GROUP_INPUTS,
    "max_document_bytes": GROUP_INPUTS,
    "max_records_per_file": GROUP_INPUTS,
    "max_expanded_bytes_per_file": GROUP_INPUTS,
    "wave_size": GROUP_INPUTS,
    "wave_bytes": GROUP_INPUTS,
    "split_bytes": GROUP_INPUTS,
    "max_seconds_per_document": GROUP_CLEANING,
    "min_words": GROUP_CLEANING,
    "boilerplate_min_docs": GROUP_CLEANING,
    "boilerplate_min_share": GROUP_CLEANING,
    "output": GROUP_OUTPUT,
    "rows_per_file": GROUP_OUTPUT,
    "overwrite": GROUP_OUTPUT,
    "ingested_at": GROUP_OUTPUT,
    "quiet": GROUP_RUN,
    "log_level": GROUP_RUN,
}

GROUP_DESCRIPTIONS = {
    GROUP_INPUTS: "archived text, HTML, JSON lines and WARC files",
    GROUP_LIVE: "poll RSS/Atom feeds and fetch their pages (instead of --input)",
}


class _Recorder:
    """Stands in for an argparse parser: records every add_argument call."""

    def __init__(self):
        self.calls: list[tuple[tuple, dict]] = []

    def add_argument(self, *args, **kwargs):
        self.calls.append((args, kwargs))

    add_value_provider_argument = add_argument


def _dest(args: tuple, kwargs: dict) -> str:
    if "dest" in kwargs:
        return kwargs["dest"]
    longest = max(args, key=len)
    return longest.lstrip("-").replace("-", "_")


def _recorded(add_args: Callable) -> list[tuple[tuple, dict]]:
    recorder = _Recorder()
    add_args(recorder)
    return recorder.calls


def option_groups() -> dict[str, str]:
    """Every option of NewsPipelineOptions (dest) -> its help group (GROUP_OTHER if none)."""
    live = {_dest(*call) for call in _recorded(NewsPipelineOptions._add_live_feed_args)}
    return {
        _dest(*call): GROUP_LIVE
        if _dest(*call) in live
        else OPTION_GROUPS.get(_dest(*call)) or GROUP_OTHER
        for call in _recorded(NewsPipelineOptions._add_argparse_args)
    }


class _HelpFormatter(argparse.HelpFormatter):
    """Every option with its default; wide enough for our option names."""

    def __init__(self, prog):
        super().__init__(prog, max_help_position=34, width=100)

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default is argparse.SUPPRESS or "default" in text.lower():
            return text  # the help says it in words
        return f"{text} (default: {describe_default(action)})"

    def _fill_text(self, text, width, indent):
        # Description and epilog: one filled paragraph per line.
        return "\n".join(
            super(_HelpFormatter, self)._fill_text(part, width, indent) for part in text.split("\n")
        )


# Options without a default value to show.
REQUIRED = {"input": "required unless --feeds", "output": "required"}


def describe_default(action: argparse.Action) -> str:
    """The default as the help shows it."""
    if action.dest in REQUIRED:
        return REQUIRED[action.dest]
    if action.nargs == 0:  # store_true / store_false
        return "on" if action.default else "off"
    if action.default is None:
        return "none"
    if isinstance(action.default, float) and action.default.is_integer():
        return str(int(action.default))
    return str(action.default)


class _StrictParser(_BeamArgumentParser):
    """Beam's parser that raises UsageError instead of printing usage and exiting."""

    def error(self, message):
        raise UsageError(message)


def _add_beam_options(parser: argparse.ArgumentParser) -> None:
    # As PipelineOptions.get_all_options does: each direct subclass once (ours excluded).
    classes = {}
    for cls in PipelineOptions.__subclasses__():
        if cls is not NewsPipelineOptions:
            classes.setdefault(str(cls), cls)
    for cls in classes.values():
        cls._add_argparse_args(parser)


def help_parser() -> argparse.ArgumentParser:
    """Our options only, grouped, for --help."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        usage=f"{PROG} (--input PATTERN ... | --feeds LIST) --output DIR [options] [Beam options]",
        description="Raw news (text, HTML, JSON lines, WARC, live feeds) to clean, "
        "Hive-partitioned Parquet. Every input ends up as a row, a duplicate or a dead letter.",
        epilog=f"Beam's standard options (--runner, --direct_num_workers, --project, "
        f"--temp_location, ...) are accepted too; list them with: {PROG} {BEAM_HELP_FLAG}\n"
        "Exit status: 0 ok, 1 the run did not balance (or failed), 2 usage error.",
        formatter_class=_HelpFormatter,
        add_help=False,
    )
    groups = {
        name: parser.add_argument_group(name, GROUP_DESCRIPTIONS.get(name)) for name in GROUP_ORDER
    }
    grouped = option_groups()
    for args, kwargs in _recorded(NewsPipelineOptions._add_argparse_args):
        groups[grouped[_dest(args, kwargs)]].add_argument(*args, **kwargs)
    help_group = parser.add_argument_group("help")
    help_group.add_argument("-h", "--help", action="help", help="Show this help and exit.")
    help_group.add_argument(
        BEAM_HELP_FLAG,
        action="store_true",
        default=argparse.SUPPRESS,
        help="List Beam's standard options and exit.",
    )
    return parser


def format_help() -> str:
    # argparse prints no header for an empty group (usually "other options").
    return help_parser().format_help()


def format_beam_help() -> str:
    parser = argparse.ArgumentParser(
        prog=PROG,
        usage=f"{PROG} --input ... --output ... [Beam options]",
        description="Apache Beam's standard pipeline options, all accepted by this pipeline.",
        add_help=False,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    _add_beam_options(parser)
    return parser.format_help()


def full_parser() -> _StrictParser:
    """Ours and Beam's options together; mistakes raise UsageError."""
    parser = _StrictParser(prog=PROG, allow_abbrev=False, add_help=False)
    _add_beam_options(parser)
    NewsPipelineOptions._add_argparse_args(parser)
    return parser


def our_option_strings() -> list[str]:
    return [
        option
        for args, _ in _recorded(NewsPipelineOptions._add_argparse_args)
        for option in args
        if option.startswith("-")
    ]


def suggest(name: str, ours: Iterable[str], theirs: Iterable[str]) -> str | None:
    """The closest option name, ours first (a typo of ours is the likelier mistake)."""
    for candidates in (list(ours), list(theirs)):
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
        if close:
            return close[0]
    return None


def check_arguments(argv: list[str]) -> argparse.Namespace:
    """Parse argv strictly: unknown flags, stray words and bad values raise UsageError."""
    parser = full_parser()
    parsed, unknown = parser.parse_known_args(argv)
    if unknown:
        first = unknown[0]
        if not first.startswith("-"):
            raise UsageError(f"unexpected argument {first!r} (options start with --)")
        name = first.split("=", 1)[0]
        known = [option for action in parser._actions for option in action.option_strings]
        close = suggest(name, our_option_strings(), known)
        hint = f"; did you mean {close}?" if close else f"; see {PROG} --help"
        raise UsageError(f"unknown option {name}{hint}")
    return parsed


# Loggers of this project: they log at --log_level. Libraries log one level up (INFO: their
# warnings; WARNING, the default: nothing but critical), because what they complain about
# (trafilatura's "empty HTML tree" on a page that is no HTML) ends up as a dead letter with a
# reason anyway. DEBUG shows everything, Beam's own logs included.
OUR_LOGGERS = ("pipeline", "transforms", "schemas", "__main__")
LIBRARY_LEVEL = {"DEBUG": "DEBUG", "INFO": "WARNING", "WARNING": "CRITICAL", "ERROR": "CRITICAL"}


def configure_logging(level: str = DEFAULT_LOG_LEVEL) -> None:
    logging.basicConfig(
        level=LIBRARY_LEVEL.get(level, "CRITICAL"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(level)
    for name in ("apache_beam", *BEAM_WORKER_LOGGERS):
        logging.getLogger(name).setLevel(logging.NOTSET if level == "DEBUG" else logging.CRITICAL)


def check_output_folder(output: str | None) -> None:
    """A local --output must be a folder we can create or write in (checked before the run,
    so that a typo does not cost a whole run)."""
    if not output or "://" in output:
        return
    path = os.path.abspath(os.path.expanduser(output))
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UsageError(f"--output {output}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"--output {output}: no permission to write in {existing}")


def one_line(error: BaseException, limit: int = 300) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def write_run_report(output: str, summary: dict, state_dir: str | None) -> None:
    """_run_report.html beside _run_summary.json; a failure to draw it never fails the run."""
    from pipeline.report import write_report

    try:
        path = write_report(output, summary, state_dir)
    except Exception as error:  # the rows are written; the page is extra
        logging.getLogger(__name__).debug("run report failed", exc_info=True)
        print(f"{PROG}: warning: no run report ({type(error).__name__}: {error})", file=sys.stderr)
        return
    if path:
        print(f"  report        {path}", file=sys.stderr)


def main(argv: list[str] | None = None, run: Callable[[list[str]], dict] | None = None) -> int:
    """`python -m pipeline`: returns the exit status (0 ok, 1 unbalanced or failed, 2 usage)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    options_part = argv[: argv.index("--")] if "--" in argv else argv
    if "-h" in options_part or "--help" in options_part:
        sys.stdout.write(format_help())
        return EXIT_OK
    if BEAM_HELP_FLAG in options_part:
        sys.stdout.write(format_beam_help())
        return EXIT_OK
    try:
        parsed = check_arguments(argv)
        configure_logging(parsed.log_level)
        check_output_folder(parsed.output)
        if run is None:
            from pipeline.graph import run  # Beam's pipeline graph: imported once argv is good
        summary = run(argv)
        if summary.get("ran", True):
            write_run_report(parsed.output, summary, parsed.state_dir)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as error:  # unreadable input, unwritable output, full disk: no traceback
        logging.getLogger(__name__).debug("run failed", exc_info=True)
        print(f"{PROG}: error: {one_line(error)}", file=sys.stderr)
        return EXIT_UNBALANCED
    except Exception as error:  # a step failed in a worker (Beam re-raises it wrapped)
        logging.getLogger(__name__).debug("run failed", exc_info=True)
        print(
            f"{PROG}: error: the run failed: {one_line(error)} "
            "(--log_level DEBUG shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_UNBALANCED
    return EXIT_OK if summary.get("balanced") else EXIT_UNBALANCED
