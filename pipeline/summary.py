"""Run summary from Beam metrics: inputs = rows + duplicates + dead letters."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import MetricsFilter

SUMMARY_FILE = "_run_summary.json"
NAMESPACE = "news"


def counter_totals(result) -> dict[str, int]:
    """{counter name: total} of the pipeline's `news` counters (committed when available)."""
    totals: dict[str, int] = defaultdict(int)
    query = result.metrics().query(MetricsFilter().with_namespace(NAMESPACE))
    for counter in query["counters"]:
        value = counter.committed if counter.committed is not None else counter.attempted
        totals[counter.key.metric.name] += value or 0
    return dict(totals)


def build_summary(counters: dict[str, int], run_info: dict[str, Any]) -> dict[str, Any]:
    inputs = counters.get("inputs", 0)
    rows = counters.get("write.articles.rows", 0)
    duplicates = counters.get("duplicates", 0)
    dead_letters = counters.get("write.dead_letters.rows", 0)

    def with_prefix(prefix: str) -> dict[str, int]:
        return {
            name[len(prefix) :]: value
            for name, value in sorted(counters.items())
            if name.startswith(prefix) and value
        }

    return {
        **run_info,
        "inputs": inputs,
        "rows": rows,
        "duplicates": duplicates,
        "dead_letters": dead_letters,
        "balanced": inputs == rows + duplicates + dead_letters,
        "parquet_files": counters.get("write.articles.files", 0),
        "dead_letters_by_stage": {
            stage: value for stage, value in with_prefix("dead_letter.").items() if "." not in stage
        },
        "dead_letters_by_reason": {
            name: value for name, value in with_prefix("dead_letter.").items() if "." in name
        },
        "formats": with_prefix("read.format."),
        "languages": with_prefix("language."),
        "fixes": with_prefix("fix."),  # documents each fix changed
        "lines_removed": with_prefix("lines."),
        "learned_boilerplate_lines_by_source": with_prefix("clean.learned_boilerplate_lines."),
        "counters": dict(sorted(counters.items())),
    }


def write_summary(output_dir: str, summary: dict[str, Any]) -> str:
    path = FileSystems.join(output_dir, SUMMARY_FILE)
    with FileSystems.create(path) as handle:
        handle.write(json.dumps(summary, indent=2, sort_keys=False, default=str).encode() + b"\n")
    return path


def format_summary(summary: dict[str, Any], summary_path: str) -> str:
    identity = "ok" if summary["balanced"] else "MISMATCH"
    lines = [
        "Run summary",
        f"  inputs        {summary['inputs']}",
        f"  rows          {summary['rows']}  (in {summary['parquet_files']} Parquet files)",
        f"  duplicates    {summary['duplicates']}",
        f"  dead letters  {summary['dead_letters']}  {summary['dead_letters_by_reason'] or ''}",
        f"  inputs = rows + duplicates + dead letters: {identity}",
        f"  languages     {summary['languages']}",
        f"  fixes (docs)  {summary['fixes']}",
        f"  lines removed {summary['lines_removed']}",
        f"  output        {summary['output']}",
        f"  summary       {summary_path}",
    ]
    return "\n".join(lines)
