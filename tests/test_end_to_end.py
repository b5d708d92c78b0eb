"""`python -m pipeline` as a user runs it, read back with DuckDB, Polars and pyarrow."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import duckdb
import polars as pl
import pyarrow.dataset as ds
import pytest

from schemas import ARTICLE_SCHEMA
from tests.helpers import (
    READABILITY,
    REPO,
    SEED_PROSE,
    SEED_SCRAPED,
    SEED_WIRE,
    SEEDS,
    needs_shared,
)


def run_pipeline(output, *inputs, extra=()):
    args = [sys.executable, "-m", "pipeline", "--output", str(output)]
    for pattern in inputs:
        args += ["--input", str(pattern)]
    completed = subprocess.run([*args, *extra], capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "inputs = rows + duplicates + dead letters: ok" in completed.stderr
    return json.loads((output / "_run_summary.json").read_text())


def query(output, sql):
    connection = duckdb.connect()
    source = f"read_parquet('{output}/**/*.parquet', hive_partitioning=true)"
    return connection.sql(sql.replace("ARTICLES", source)).fetchall()


@pytest.fixture(scope="module")
def seeds_and_pages(tmp_path_factory):
    output = tmp_path_factory.mktemp("run") / "out"
    summary = run_pipeline(output, SEEDS, READABILITY / "*" / "source.html")
    return output, summary


@needs_shared
def test_counts_add_up(seeds_and_pages):
    output, summary = seeds_and_pages
    inputs = 3 + len(list(READABILITY.glob("*/source.html")))
    assert summary["inputs"] == inputs
    assert summary["rows"] + summary["duplicates"] + summary["dead_letters"] == inputs
    assert summary["balanced"] is True
    (rows,) = query(output, "select count(*) from ARTICLES")[0]
    assert rows == summary["rows"] >= inputs - 3  # a few pages may be too short, never many
    dead_files = list((output / "_dead_letter").glob("*.jsonl"))
    dead = [json.loads(line) for path in dead_files for line in path.read_text().splitlines()]
    assert len(dead) == summary["dead_letters"]
    assert all(record["stage"] and record["error"] and record["source_uri"] for record in dead)


@needs_shared
def test_schema_and_partitions_as_duckdb_sees_them(seeds_and_pages):
    output, _ = seeds_and_pages
    columns = dict(
        query(output, "select column_name, column_type from (describe select * from ARTICLES)")
    )
    assert list(columns) == [field.name for field in ARTICLE_SCHEMA] + ["date", "lang"]
    assert columns["published_at"] == "TIMESTAMP WITH TIME ZONE"
    assert columns["date"] == "DATE" and columns["fixes"] == "VARCHAR[]"
    bad_partitions = query(
        output,
        "select count(*) from ARTICLES where lang <> language "
        "or coalesce(date <> cast(published_at at time zone 'UTC' as date), "
        "published_at is not null)",
    )
    assert bad_partitions == [(0,)]
    (unknown_dates,) = query(output, "select count(*) from ARTICLES where date is null")[0]
    assert unknown_dates >= 2  # seeds 001 and 002 carry no date
    (ids, unique_ids) = query(output, "select count(doc_id), count(distinct doc_id) from ARTICLES")[
        0
    ]
    assert ids == unique_ids


@needs_shared
def test_seed_rows(seeds_and_pages):
    output, _ = seeds_and_pages
    rows = query(
        output,
        "select regexp_extract(source_uri, '[^/]+$'), language, cast(date as varchar), title, "
        "text, fixes, date_source from ARTICLES where source_uri like '%seeds%' order by 1",
    )
    by_name = {row[0]: row[1:] for row in rows}
    assert set(by_name) == {SEED_PROSE, SEED_WIRE, SEED_SCRAPED}
    assert {row[0] for row in by_name.values()} == {"en"}
    assert by_name[SEED_PROSE][1] == "2017-11-09" and by_name[SEED_PROSE][5] == "text_header"
    assert not by_name[SEED_PROSE][3].startswith("date")
    wire_text, wire_fixes = by_name[SEED_WIRE][3], by_name[SEED_WIRE][4]
    assert wire_text.startswith("Moscow (Reuters) - Russian President Vladimir Putin")
    assert {"detokenized", "truecased"} <= set(wire_fixes)
    scraped_text = by_name[SEED_SCRAPED][3]
    for boilerplate in (
        "Skip to main content",
        "Promo Image",
        "Image placeholder",
        "Popular Video",
    ):
        assert boilerplate not in scraped_text
    assert not scraped_text.startswith("Russia: Putin Will Meet")
    # All three tell the same story.
    assert all("Putin" in row[3] and "Trump" in row[3] for row in by_name.values())


@needs_shared
def test_polars_and_pyarrow_read_it_as_is(seeds_and_pages):
    output, summary = seeds_and_pages
    frame = pl.scan_parquet(f"{output}/**/*.parquet", hive_partitioning=True).collect()
    assert frame.height == summary["rows"]
    assert frame.schema["published_at"] == pl.Datetime("us", "UTC")
    table = ds.dataset(output, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == summary["rows"]


@needs_shared
def test_language_agrees_with_the_pages_metadata(seeds_and_pages):
    output, _ = seeds_and_pages
    detected = dict(
        query(
            output,
            "select regexp_extract(source_uri, '([^/]+)/source.html$', 1), language from ARTICLES",
        )
    )
    expected = {}
    for metadata in READABILITY.glob("*/expected-metadata.json"):
        lang = (json.loads(metadata.read_text()).get("lang") or "").lower()[:2]
        if lang and metadata.parent.name in detected:
            expected[metadata.parent.name] = lang
    agree = sum(detected[name][:2] == lang for name, lang in expected.items())
    assert len(expected) >= 20 and agree / len(expected) >= 0.9


def test_bad_inputs_become_dead_letters_and_the_run_goes_on(tmp_path):
    inputs = tmp_path / "archive"
    inputs.mkdir()
    good = "A real article sentence about the harbour and the ships that came back. " * 5
    (inputs / "good.txt").write_text(good)
    (inputs / "cp1252.txt").write_bytes(
        ("Les élèves de l'école française sont revenus à Paris après les vacances. " * 5).encode(
            "cp1252"
        )
    )
    (inputs / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (inputs / "empty.txt").write_text("")
    (inputs / "huge.txt").write_text("word " * 5000)
    (inputs / "broken.html").write_text("<html><body><div><p>Unclosed <b>tags")
    (inputs / "nav.html").write_text("<html><body><nav><a href='/'>Home</a></nav></body></html>")
    (inputs / "feed.jsonl").write_text(
        json.dumps({"url": "https://example.com/a", "title": "A", "text": good.upper()})
        + "\n{not json\n"
    )
    (inputs / "bad.html.gz").write_bytes(gzip.compress(b"<html>")[:15])  # truncated gzip
    output = tmp_path / "out"
    summary = run_pipeline(output, inputs, extra=["--max_document_bytes", "10000"])
    dead = {
        record["source_uri"].rsplit("/", 1)[1]: (record["stage"], record["error_type"])
        for path in (output / "_dead_letter").glob("*.jsonl")
        for record in map(json.loads, path.read_text().splitlines())
    }
    assert dead["image.png"] == ("read", "unsupported_format:png")
    assert dead["empty.txt"] == ("read", "empty_file")
    assert dead["huge.txt"] == ("read", "too_large")
    assert dead["feed.jsonl#line=2"] == ("extract", "invalid_json")
    assert dead["nav.html"][0] in ("extract", "clean")
    assert dead["broken.html"][0] in ("extract", "clean")
    assert dead["bad.html.gz"] == ("read", "corrupt_compressed_file")
    # Each reason's counter moved with it.
    reasons = summary["dead_letters_by_reason"]
    for reason in ("unsupported_format:png", "empty_file", "too_large", "corrupt_compressed_file"):
        assert reasons[f"read.{reason}"] == 1, reasons
    assert summary["rows"] == 3 and summary["inputs"] == 10 and summary["balanced"]
    texts = [row[0] for row in query(output, "select text from ARTICLES")]
    assert any("Les élèves de l'école française" in text for text in texts)


@needs_shared
def test_rerun_and_multiprocessing_give_the_same_files(tmp_path):
    output = tmp_path / "out"
    run_pipeline(output, SEEDS)
    first = sorted(p.relative_to(output) for p in output.rglob("*.parquet"))
    run_pipeline(
        output,
        SEEDS,
        extra=["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"],
    )
    second = sorted(p.relative_to(output) for p in output.rglob("*.parquet"))
    assert first == second and len(first) >= 1
    assert query(output, "select count(*), count(distinct content_sha256) from ARTICLES") == [
        (3, 3)
    ]


def test_dataflow_job_builds_offline_with_dry_run():
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "--input",
            "gs://bucket/archive/**",
            "--output",
            "gs://bucket/out",
            "--runner",
            "DataflowRunner",
            "--project",
            "demo-project",
            "--region",
            "europe-west1",
            "--temp_location",
            "gs://bucket/tmp",
            "--setup_file",
            "./setup.py",
            "--dry_run=True",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "pipeline built, no job ran" in completed.stderr


def test_missing_options_and_inputs_fail_fast(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline", "--input", "x"], capture_output=True, text=True
    )
    assert completed.returncode != 0
    assert "--output is required" in completed.stderr
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "--input",
            str(tmp_path / "nope" / "*.txt"),
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
    )
    assert completed.returncode != 0
    assert "matches no file" in completed.stderr
    assert not (tmp_path / "out").exists()


def test_learned_boilerplate_is_reported_per_source(tmp_path):
    wire = tmp_path / "archive" / "wire"
    blog = tmp_path / "archive" / "blog"
    wire.mkdir(parents=True)
    blog.mkdir()
    template = "Get the Harbour Daily app for breaking alerts"
    for n in range(4):
        body = "\n".join(
            f"Story {n} paragraph {i}: the council met on Monday to discuss the harbour works."
            for i in range(3)
        )
        (wire / f"{n}.txt").write_text(f"{body}\n{template}\n")
    (blog / "only.txt").write_text(
        "A single post by itself with a closing line that only it has.\n" * 3 + template + "\n"
    )
    output = tmp_path / "out"
    summary = run_pipeline(output, tmp_path / "archive")
    assert summary["learned_boilerplate_lines_by_source"] == {str(wire): 4}
    texts = dict(query(output, "select source_uri, text from ARTICLES"))
    assert all(template not in text for uri, text in texts.items() if "/wire/" in uri)
    assert template in texts[str(blog / "only.txt")]


@pytest.mark.parametrize(
    ("argv", "spread"),
    [
        ([], False),
        (["--direct_num_workers", "2"], True),
        (["--direct_num_workers", "0"], True),  # one per core
        (["--runner", "DataflowRunner", "--direct_num_workers", "2"], False),
    ],
)
def test_articles_are_spread_only_over_several_local_workers(argv, spread):
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipeline.graph import several_local_workers

    assert several_local_workers(PipelineOptions(argv)) is spread
