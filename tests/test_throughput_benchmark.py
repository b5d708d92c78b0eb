"""The throughput benchmark on a tiny corpus, so it cannot rot. No timing is asserted."""

import json
import subprocess
import sys

import pytest

from benchmarks.throughput import COLUMNS
from benchmarks.throughput_corpus import build_corpus, mark_html, mark_text
from tests.helpers import REPO, needs_shared

N, SOURCES, MEMORY_N = 6, 2, 3  # 3 copies of each of 2 documents: copies must stay distinct
COMMON_RUNS = [
    "pipeline 1w",
    "pipeline 2w",
    f"pipeline 1w n={MEMORY_N}",
    f"pipeline 1w n={N}",
    "beam only 1w",
    f"beam only 1w n={MEMORY_N}",
]
RUNS = {
    "html": ["floor", "bare extract", "bare extract 2p", *COMMON_RUNS],
    "text": ["floor", *COMMON_RUNS],
}


@pytest.fixture(scope="module")
def benchmark(tmp_path_factory):
    work = tmp_path_factory.mktemp("throughput")
    figures = work / "figures.json"
    completed = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "throughput.py"),
            *("--n", str(N), "--sources", str(SOURCES), "--memory-n", str(MEMORY_N)),
            # One corpus: the text corpus runs the same code (HTML also has the bare row).
            *("--corpus", "html", "--work-dir", str(work), "--json", str(figures)),
            *("--wave-size", "3", "--skip-peers"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout, json.loads(figures.read_text())


@needs_shared
@pytest.mark.parametrize("corpus", ["html"])
def test_table_has_every_run_and_column(benchmark, corpus):
    stdout, _ = benchmark
    section = stdout.split(f"== corpus {corpus}: {N} documents ==\n")[1].split("== corpus")[0]
    lines = section.splitlines()
    assert lines[0].split() == list(COLUMNS)
    runs = RUNS[corpus]
    for run, line in zip(runs, lines[1 : 1 + len(runs)], strict=True):
        assert line.startswith(run + "  ")
        assert len(line[len(run) :].split()) == len(COLUMNS) - 1
    assert "pipeline runs: --wave_size=3" in section
    assert "1w / floor (docs/s)" in section and "(goal >= 0.9)" in section
    assert "2w / 1w (docs/s)" in section and "(goal >= 1.8)" in section
    assert ("1w / bare trafilatura.extract (docs/s)" in section) == (corpus == "html")
    assert ("bare trafilatura.extract 2p / 1p" in section) == (corpus == "html")
    assert "memory: peak RSS" in section and f"at n={MEMORY_N}" in section and "1.15x" in section
    assert "beam only 1w memory:" in section and "KB per document" in section
    assert ("goal text >= 500 docs/s per core" in section) == (corpus == "text")


@needs_shared
def test_every_document_becomes_one_row(benchmark):
    _, figures = benchmark
    assert [(f["corpus"], f["run"]) for f in figures] == [
        (corpus, run) for corpus in ("html",) for run in RUNS[corpus]
    ]
    for figure in figures:
        docs = MEMORY_N if figure["run"].endswith(f"n={MEMORY_N}") else N
        assert figure["docs"] == docs
        # Copies of one document are distinct: no duplicate, no dead letter, a row each
        # (trafilatura's defaults may find no text in a page: the bare loop counts it empty).
        rows = (figure["rows"], figure["duplicates"], figure["dead_letters"])
        if figure["run"].startswith("bare extract"):
            assert rows[0] + rows[2] == docs and rows[1] == 0
        else:
            assert rows == (docs, 0, 0)
        assert figure["docs_per_second"] > 0 and figure["peak_rss_mb"] > 0
    multi = [f for f in figures if f["run"] == "pipeline 2w"]
    assert all(len(f["hwm_mb"]) >= 3 for f in multi)  # the main process and its workers


def test_copies_differ_in_text_and_source():
    page = b'<html><head><link rel="canonical" href="https://www.example.com/a"></head>'
    page += b"<body><p>" + b"word " * 60 + b"</p><p>Skip to main content</p></body></html>"
    first, second = mark_html(page, 1), mark_html(page, 2)
    assert first != second
    assert b"https://c0001.www.example.com/a" in first
    assert b"<p>Skip to main content</p>" in first  # short lines stay as the rules see them
    text = ("Title\n" + "word " * 60 + "\nSources: AP").encode()
    assert mark_text(text, 1) != mark_text(text, 2)
    assert mark_text(text, 1).endswith(b"\nSources: AP")


def test_build_corpus_writes_n_documents_in_rounds(tmp_path):
    sources = [("a.txt", ("a " * 150).encode()), ("b.txt", ("b " * 150).encode())]
    paths = build_corpus(sources, 5, tmp_path / "corpus")
    assert len(paths) == len({p.read_bytes() for p in paths}) == 5
    assert sorted(p.parent.name for p in paths) == ["copy_0000"] * 2 + ["copy_0001"] * 2 + [
        "copy_0002"
    ]
    assert build_corpus(sources, 5, tmp_path / "corpus") == paths  # reused as it is


def test_the_floor_calls_the_pipelines_own_functions_without_beam():
    # The floor measures the libraries alone: the modules it imports must not pull in Beam.
    check = (
        "import sys; import transforms.documents.html_extract, transforms.text.language; "
        "assert 'apache_beam' not in sys.modules, 'Beam imported'"
    )
    completed = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
