"""The throughput benchmark on a tiny corpus, so it cannot rot. No timing is asserted."""

import json
import subprocess
import sys

from tests.helpers import REPO, needs_shared


@needs_shared
def test_throughput_benchmark_runs_on_a_tiny_corpus(tmp_path):
    figures = tmp_path / "figures.json"
    completed = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "throughput.py"),
            "--n",
            "6",
            "--corpus",
            "text",
            "--skip-memory",
            "--json",
            str(figures),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "== corpus text: 6 documents ==" in completed.stdout
    assert "goal text >= 500 docs/s per core" in completed.stdout
    rows = json.loads(figures.read_text())
    assert [row["run"] for row in rows] == ["floor", "pipeline 1w", "pipeline 2w"]
    for row in rows:
        assert row["docs"] == 6 and row["docs_per_second"] > 0
    pipeline_rows = [row for row in rows if row["run"].startswith("pipeline")]
    # Every document ends up as a row, a duplicate or a dead letter.
    assert all(row["rows"] + row["duplicates"] + row["dead_letters"] == 6 for row in pipeline_rows)
