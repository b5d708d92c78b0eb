"""Replays and appends into one output: same files, no duplicates, no stale rows.

End-to-end runs are slow, so one small input serves every test: a first run into a fresh
output (the reference), then each test copies that output and runs again into the copy.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest

from pipeline import readers
from pipeline.graph import run
from pipeline.output_state import STAGING_DIR, SUCCESS_MARKER, read_marker
from tests.helpers import REPO
from transforms.write import STAGED_SUFFIX

INGESTED_AT = "2026-01-01T00:00:00Z"

ENGLISH = (
    "The city council voted on Tuesday to expand the night bus network after months of "
    "complaints from shift workers, who said the last buses left the centre long before "
    "their work ended. The new routes start in the spring and cost less than expected."
)
ENGLISH_2 = (
    "A small museum in the north of the country has reopened after a two year renovation "
    "that restored its wooden roof and added a room for the letters of a local poet, "
    "which were found in an attic by the grandchildren of her publisher last winter."
)
FRENCH = (
    "Le conseil municipal a voté mardi l'extension du réseau de bus de nuit après des mois "
    "de plaintes des travailleurs de nuit, qui disaient que les derniers bus quittaient le "
    "centre bien avant la fin de leur service. Les nouvelles lignes ouvrent au printemps."
)
ENGLISH_NEW = (
    "Fishermen on the east coast reported the largest herring catch in a decade this week, "
    "and the harbour authority said the cold water of the last months had brought the "
    "shoals closer to the shore than scientists had predicted in their autumn survey."
)


def write_inputs(folder) -> None:
    """Two folders (for a reversed --input order): dated, undated, French, a duplicate and
    an empty file (a dead letter)."""
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    (folder / "a" / "dated.txt").write_text(f"date 2017-11-09\nNight buses\n\n{ENGLISH}\n")
    (folder / "a" / "undated.txt").write_text(f"{ENGLISH_2}\n")
    (folder / "b" / "french.txt").write_text(f"{FRENCH}\n")
    (folder / "b" / "copy.txt").write_text(f"{ENGLISH_2}\n\n")
    (folder / "b" / "empty.txt").write_text("")


def run_args(inputs, output, *extra) -> list[str]:
    return [
        "--input",
        str(inputs / "a"),
        "--input",
        str(inputs / "b"),
        "--output",
        str(output),
        *extra,
    ]


def data_files(output) -> dict[str, bytes]:
    """{relative path: bytes} of every Parquet file; dead letters without their failure time."""
    files = {}
    for folder, _, names in os.walk(output):
        for name in names:
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, output)
            if name.endswith(".parquet"):
                files[relative] = pathlib.Path(path).read_bytes()
            elif name.endswith(".jsonl"):
                lines = pathlib.Path(path).read_text(encoding="utf-8").splitlines()
                rows = [{**json.loads(line), "failed_at": None} for line in lines]
                files[relative] = json.dumps(rows).encode()
    return files


def doc_ids_by_partition(output) -> list[tuple[str, str, str]]:
    table = readers.read_articles_pyarrow(str(output))
    rows = table.select(["doc_id", "lang", "content_sha256"]).to_pylist()
    return sorted((row["lang"], row["doc_id"], row["content_sha256"]) for row in rows)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The inputs, and the output of one uninterrupted run into a fresh folder."""
    root = tmp_path_factory.mktemp("replay")
    inputs = root / "inputs"
    write_inputs(inputs)
    output = root / "reference"
    summary = run(run_args(inputs, output, "--ingested_at", INGESTED_AT))
    return inputs, output, summary


def copy_of(reference_output, tmp_path):
    copy = tmp_path / "out"
    shutil.copytree(reference_output, copy)
    return copy


def test_a_finished_run_is_marked_complete_and_leaves_no_staging(reference):
    _, output, summary = reference
    assert summary["balanced"] and summary["inputs"] == 5
    assert (summary["rows"], summary["duplicates"], summary["dead_letters"]) == (3, 1, 1)
    assert read_marker(str(output))["rows"] == 3
    assert not (output / STAGING_DIR).exists()
    assert summary["output_mode"] == "append" and summary["files_committed"] == 4


def test_a_replay_with_new_files_adds_only_their_new_text(reference, tmp_path):
    """The same archive again, with two new files: one repeats a text the output holds."""
    inputs, reference_output, first = reference
    output = copy_of(reference_output, tmp_path)
    before = data_files(output)
    new_inputs = tmp_path / "new"
    new_inputs.mkdir()
    (new_inputs / "again.txt").write_text(f"{FRENCH}\n")
    (new_inputs / "fresh.txt").write_text(f"{ENGLISH_NEW}\n")

    replay = run([*run_args(inputs, output), "--input", str(new_inputs)])

    # Every file of the first run is there, byte for byte; one new file holds the new text.
    after = data_files(output)
    assert {path: after[path] for path in before} == before
    (added,) = set(after) - set(before)
    assert added.endswith(".parquet")
    assert replay["already_written"] == first["rows"]  # the archive's texts, not again
    assert (replay["inputs"], replay["rows"], replay["dead_letters"]) == (7, 1, 1)
    assert replay["duplicates"] == 5 and replay["balanced"]  # 3 written, 2 repeated in the run
    rows = doc_ids_by_partition(output)
    assert len(rows) == first["rows"] + 1
    assert len({sha for _, _, sha in rows}) == len(rows)  # no text twice
    assert (output / SUCCESS_MARKER).exists()


def test_overwrite_after_a_rule_change_leaves_only_the_new_rows(reference, tmp_path, monkeypatch):
    inputs, reference_output, first = reference
    output = copy_of(reference_output, tmp_path)
    # The rule change: every text is now detected as German, so every row changes partition.
    monkeypatch.setattr("transforms.enrich.detect_language", lambda text: ("de", 0.99))

    summary = run(run_args(inputs, output, "--overwrite"))

    assert summary["output_mode"] == "overwrite" and summary["balanced"]
    rows = doc_ids_by_partition(output)
    assert [lang for lang, _, _ in rows] == ["de"] * first["rows"]
    assert sorted(doc_id for _, doc_id, _ in rows) == sorted(
        doc_id for _, doc_id, _ in doc_ids_by_partition(reference_output)
    )
    partitions = {os.path.relpath(p, output) for p in output.glob("date=*/lang=*")}
    assert partitions == {"date=2017-11-09/lang=de", "date=__HIVE_DEFAULT_PARTITION__/lang=de"}
    assert summary["files_removed"] == 3  # the old en and fr files


def run_command(inputs, output, *extra) -> list[str]:
    return [sys.executable, "-m", "pipeline", *run_args(inputs, output, *extra)]


def test_killed_then_restarted_on_two_workers_ends_with_the_same_bytes(reference, tmp_path):
    """kill -9 mid-run, then a restart on 2 workers with the inputs in the other order: the
    same files, byte for byte, as the uninterrupted 1-worker run."""
    inputs, reference_output, _ = reference
    output = tmp_path / "out"
    process = subprocess.Popen(
        run_command(inputs, output, "--ingested_at", INGESTED_AT),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    try:
        # Kill once the run has staged a file: it is writing, and has committed nothing.
        while time.monotonic() < deadline and process.poll() is None:
            if any(output.glob(f"{STAGING_DIR}/*/**/*{STAGED_SUFFIX}")):
                break
            time.sleep(0.01)
        assert process.poll() is None, "the run ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert not (output / SUCCESS_MARKER).exists()
    assert not list(output.glob("**/*.parquet"))  # nothing a reader could take for rows

    restart = [
        "--input",
        str(inputs / "b"),
        "--input",
        str(inputs / "a"),
        "--output",
        str(output),
        "--ingested_at",
        INGESTED_AT,
        "--direct_num_workers",
        "2",
        "--direct_running_mode",
        "multi_processing",
    ]
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline", *restart],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert completed.returncode == 0, completed.stderr[-2000:]
    summary = json.loads((output / "_run_summary.json").read_text())
    assert summary["recovered"]["unfinished_runs_discarded"] == 1
    assert data_files(output) == data_files(reference_output)
    assert (output / SUCCESS_MARKER).exists() and not (output / STAGING_DIR).exists()
