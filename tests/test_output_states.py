"""Output states (complete marker, staging, recovery, overwrite) and the readers' types."""

from __future__ import annotations

import datetime as dt
import json
import os
import re

import apache_beam as beam
import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.util import assert_that, equal_to

from pipeline import readers
from pipeline.options import NewsPipelineOptions
from pipeline.output_state import (
    COMMIT_PLAN,
    STAGING_DIR,
    CommitPlan,
    DropAlreadyWritten,
    OutputRun,
    apply_plan,
    commit,
    ingested_at_of,
    is_complete,
    mark_complete,
    read_marker,
)
from schemas import ARTICLE_SCHEMA_V1, UNKNOWN_DATE_PARTITION
from tests.beam_helpers import local_test_pipeline
from tests.helpers import REPO
from transforms.records import Article
from transforms.write import STAGED_SUFFIX, articles_to_parquet, partition_path

UTC = dt.timezone.utc
UNDATED = f"date={UNKNOWN_DATE_PARTITION}"
NEW_COLUMNS = ["fetched_at", "feed_url", "feed_title", "entry_id", "tags", "summary"]


def article(doc_id: str, published_at=None, language="en", **fields) -> Article:
    return Article(
        doc_id=doc_id,
        source_uri=f"file:///{doc_id}.txt",
        input_format="text",
        text=f"Text of {doc_id}.",
        language=language,
        published_at=published_at,
        content_sha256=doc_id * 4,
        ingested_at=dt.datetime(2026, 1, 1, tzinfo=UTC),
        **fields,
    )


def write_articles(output, articles, name="part-a.parquet", suffix=""):
    """Articles -> Parquet files of the output as the writer lays them out."""
    by_partition: dict[str, list[dict]] = {}
    for item in articles:
        by_partition.setdefault(partition_path(item), []).append(item.to_row())
    paths = []
    for folder, rows in by_partition.items():
        directory = output / folder
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / (name + suffix)
        path.write_bytes(articles_to_parquet(rows))
        paths.append(path)
    return paths


def write_v1_file(output, doc_id: str, folder: str) -> None:
    """A file of schema version 1, as an output written before version 2 holds."""
    row = article(doc_id).to_row()
    v1_row = {field.name: row[field.name] for field in ARTICLE_SCHEMA_V1}
    directory = output / folder
    directory.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([v1_row], schema=ARTICLE_SCHEMA_V1)
    pq.write_table(table, directory / f"part-{doc_id}.parquet")


def relative_files(output) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(folder, name), output)
        for folder, _, names in os.walk(output)
        for name in names
    )


# ---------------------------------------------------------------- marker, recovery, commit


def test_begin_unmarks_the_output_and_removes_what_a_killed_run_left(tmp_path):
    output = tmp_path / "out"
    kept = write_articles(output, [article("a" * 8)])[0]
    mark_complete(str(output), {"rows": 1, "balanced": True})
    assert is_complete(str(output)) and read_marker(str(output))["rows"] == 1
    # A kill -9 during an atomic write, and a run killed before its commit.
    temporary = kept.parent / f".{kept.name}.0123abcd.inprogress"
    temporary.write_bytes(b"half a file")
    write_articles(output / STAGING_DIR / "run-1", [article("b" * 8)], suffix=STAGED_SUFFIX)

    run = OutputRun.begin(str(output))

    assert not is_complete(str(output))
    assert relative_files(output) == [os.path.relpath(kept, output)]
    assert run.recovered == {
        "commits_finished": 0,
        "unfinished_runs_discarded": 1,
        "temporary_files_removed": 1,
    }
    assert run.existing_articles == [str(kept)]
    assert run.dedup_files == [str(kept)]
    assert OutputRun.begin(str(output), overwrite=True).dedup_files == []


def test_a_commit_killed_halfway_is_finished_by_the_next_run(tmp_path):
    output = tmp_path / "out"
    old = write_articles(output, [article("old", language="de")])[0]
    staging = output / STAGING_DIR / "run-2"
    write_articles(staging, [article("a" * 8), article("b" * 8, language="fr")], suffix=".staged")
    plan = commit.__globals__["plan_commit"](str(output), str(staging), overwrite=True)
    (staging / COMMIT_PLAN).write_text(json.dumps(plan.to_json()))
    # Killed after the first rename.
    apply_plan(CommitPlan(plan.moves[:1], []))

    run = OutputRun.begin(str(output))

    assert run.recovered["commits_finished"] == 1
    assert not old.exists() and not (output / "date=__HIVE_DEFAULT_PARTITION__/lang=de").exists()
    assert relative_files(output) == [
        f"{UNDATED}/lang=en/part-a.parquet",
        f"{UNDATED}/lang=fr/part-a.parquet",
    ]


def test_append_keeps_and_overwrite_replaces_the_files_a_run_did_not_write(tmp_path):
    def staged_run(output):
        staging = output / STAGING_DIR / "run"
        write_articles(staging, [article("new")], name="part-new.parquet", suffix=".staged")
        (staging / "_dead_letter").mkdir()
        (staging / "_dead_letter" / f"dead_letters-x.jsonl{STAGED_SUFFIX}").write_text("{}\n")
        return staging

    for overwrite in (False, True):
        output = tmp_path / f"out-{overwrite}"
        write_articles(output, [article("old", published_at=dt.datetime(2017, 1, 2, tzinfo=UTC))])
        (output / "_dead_letter").mkdir()
        (output / "_dead_letter" / "dead_letters-y.jsonl").write_text("{}\n")
        plan = commit(str(output), str(staged_run(output)), overwrite)
        new_files = [
            "_dead_letter/dead_letters-x.jsonl",
            f"{UNDATED}/lang=en/part-new.parquet",
        ]
        old_files = ["_dead_letter/dead_letters-y.jsonl", "date=2017-01-02/lang=en/part-a.parquet"]
        expected = sorted(new_files + ([] if overwrite else old_files))
        assert relative_files(output) == expected, overwrite
        assert len(plan.deletes) == (2 if overwrite else 0)
        # Nothing left of the staging folder, nor of the emptied partition.
        assert sorted(os.listdir(output)) == sorted({path.split("/")[0] for path in expected})


def test_readers_never_see_staged_or_temporary_files(tmp_path):
    output = tmp_path / "out"
    write_articles(output, [article("a" * 8)])
    write_articles(output / STAGING_DIR / "run", [article("b" * 8)], suffix=STAGED_SUFFIX)
    (output / UNDATED / "lang=en" / ".part-c.parquet.1234.inprogress").write_bytes(b"PAR1")
    glob = f"{output}/**/*.parquet"
    assert duckdb.sql(f"select count(*) from read_parquet('{glob}')").fetchall() == [(1,)]
    assert readers.read_articles_duckdb(str(output)).count("*").fetchall() == [(1,)]
    assert readers.read_articles_polars(str(output)).collect().height == 1
    assert readers.read_articles_pyarrow(str(output)).num_rows == 1


def test_ingested_at_is_pinned_by_the_option_or_the_run_start():
    for pinned in ("2026-01-01T01:00:00+01:00", "2026-01-01T00:00:00Z", "2026-01-01 00:00"):
        options = NewsPipelineOptions(["--ingested_at", pinned])
        assert ingested_at_of(options) == dt.datetime(2026, 1, 1, tzinfo=UTC)
    now = ingested_at_of(NewsPipelineOptions([]))
    assert now.tzinfo is not None and now.microsecond == 0
    with pytest.raises(SystemExit):  # argparse: not an ISO time
        NewsPipelineOptions(["--ingested_at", "yesterday"]).get_all_options()


def test_texts_the_output_holds_count_as_duplicates(tmp_path):
    existing = write_articles(tmp_path / "out", [article("a" * 8), article("b" * 8)])
    pipeline = local_test_pipeline()
    kept = (
        pipeline
        | beam.Create([article("a" * 8), article("c" * 8), article("d" * 8)])
        | DropAlreadyWritten([str(path) for path in existing])
        | beam.Map(lambda item: item.doc_id)
    )
    assert_that(kept, equal_to(["c" * 8, "d" * 8]))
    result = pipeline.run()
    result.wait_until_finish()
    counters = {
        counter.key.metric.name: counter.committed
        for counter in result.metrics().query(MetricsFilter().with_namespace("news"))["counters"]
    }
    assert counters == {"duplicates": 1, "already_written": 1}


# ---------------------------------------------------------------- readers


@pytest.fixture
def undated_output(tmp_path):
    output = tmp_path / "undated"
    write_articles(output, [article("a" * 8), article("b" * 8, language="fr")])
    return output


@pytest.fixture
def mixed_output(tmp_path):
    """Dated and undated rows, in files of schema version 1 and 2."""
    output = tmp_path / "mixed"
    write_v1_file(output, "v1old", f"{UNDATED}/lang=en")
    write_articles(
        output,
        [
            article("v2dated", published_at=dt.datetime(2017, 11, 9, 12, tzinfo=UTC)),
            article("v2feed", feed_url="http://x/feed", tags=["a"]),
        ],
    )
    return output


def rows_of(reader: str, output) -> tuple[dict[str, str], list[dict]]:
    """({column: type name}, rows sorted by doc_id) as one reader returns them."""
    if reader == "duckdb":
        relation = readers.read_articles_duckdb(str(output))
        types = dict(zip(relation.columns, map(str, relation.types), strict=True))
        rows = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    elif reader == "polars":
        frame = readers.read_articles_polars(str(output)).collect()
        types = {name: str(dtype) for name, dtype in frame.schema.items()}
        rows = frame.to_dicts()
    else:
        table = readers.read_articles_pyarrow(str(output))
        types = {field.name: str(field.type) for field in table.schema}
        rows = table.to_pylist()
    return types, sorted(rows, key=lambda row: row["doc_id"])


READERS = ["duckdb", "polars", "pyarrow"]
DATE_TYPES = {"duckdb": "DATE", "polars": "Date", "pyarrow": "date32[day]"}


@pytest.mark.parametrize("reader", READERS)
def test_date_is_a_date_when_every_row_is_undated(reader, undated_output):
    types, rows = rows_of(reader, undated_output)
    assert types["date"] == DATE_TYPES[reader]
    assert [(row["doc_id"], row["date"], row["lang"]) for row in rows] == [
        ("a" * 8, None, "en"),
        ("b" * 8, None, "fr"),
    ]
    assert list(types) == [field.name for field in readers.TABLE_SCHEMA]


@pytest.mark.parametrize("reader", READERS)
def test_files_of_both_schema_versions_read_as_one_table(reader, mixed_output):
    types, rows = rows_of(reader, mixed_output)
    assert types["date"] == DATE_TYPES[reader]
    assert list(types) == [field.name for field in readers.TABLE_SCHEMA]
    assert [(row["doc_id"], row["date"]) for row in rows] == [
        ("v1old", None),
        ("v2dated", dt.date(2017, 11, 9)),
        ("v2feed", None),
    ]
    old, _, feed = rows
    assert all(old[column] is None for column in NEW_COLUMNS)
    assert (feed["feed_url"], list(feed["tags"])) == ("http://x/feed", ["a"])


@pytest.mark.parametrize("reader", READERS)
def test_an_output_of_version_1_files_only_has_the_new_columns_null(reader, tmp_path):
    output = tmp_path / "v1"
    write_v1_file(output, "v1a", f"{UNDATED}/lang=en")
    write_v1_file(output, "v1b", "date=2017-11-09/lang=en")
    types, rows = rows_of(reader, output)
    assert list(types) == [field.name for field in readers.TABLE_SCHEMA]
    assert [(row["doc_id"], row["date"]) for row in rows] == [
        ("v1a", None),
        ("v1b", dt.date(2017, 11, 9)),
    ]
    assert all(row[column] is None for row in rows for column in NEW_COLUMNS)


def test_pyarrow_guessing_the_types_fails_on_an_undated_output(undated_output):
    """Why the readers say the types (the README's snippet before)."""
    with pytest.raises(pa.ArrowInvalid):
        ds.dataset(undated_output, format="parquet", partitioning="hive").to_table()


def readme_snippets() -> dict[str, str]:
    """The Python blocks of the README's Querying section, by the engine they import."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### Querying") : readme.index("## Replay")]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return {
        next(e for e in ("duckdb", "polars", "pyarrow", "spark") if e in block): block
        for block in blocks
    }


@pytest.mark.parametrize("engine", ["duckdb", "polars", "pyarrow"])
def test_the_readme_snippets_read_undated_and_mixed_outputs(
    engine, undated_output, mixed_output, monkeypatch, capsys
):
    snippet = readme_snippets()[engine]
    for output, rows in ((undated_output, 2), (mixed_output, 3)):
        monkeypatch.chdir(output.parent)
        os.replace(output, output.parent / "out")
        scope: dict = {}
        exec(compile(snippet, f"README {engine} snippet", "exec"), scope)
        if engine == "duckdb":
            shown = capsys.readouterr().out
            assert "date" in shown and ("2017-11-09" in shown) == (output == mixed_output)
        elif engine == "polars":
            assert scope["frame"].height == rows and str(scope["frame"].schema["date"]) == "Date"
        else:
            assert scope["table"].num_rows == rows
            assert scope["table"].schema.field("date").type == pa.date32()
        os.replace(output.parent / "out", output)


def test_spark_reads_both_outputs_with_the_readme_schema(undated_output, mixed_output):
    pyspark_sql = pytest.importorskip("pyspark.sql")
    spark = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    try:
        assert "spark.read.schema(spark_schema_ddl())" in readme_snippets()["spark"]
        undated = readers.read_articles_spark(spark, str(undated_output))
        assert dict(undated.dtypes)["date"] == "date"
        assert sorted(row["lang"] for row in undated.collect()) == ["en", "fr"]
        mixed = readers.read_articles_spark(spark, str(mixed_output))
        rows = {row["doc_id"]: row for row in mixed.collect()}
        assert rows["v2dated"]["date"] == dt.date(2017, 11, 9)
        assert rows["v1old"]["feed_url"] is None and rows["v2feed"]["tags"] == ["a"]
    finally:
        spark.stop()
