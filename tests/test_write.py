import datetime as dt
import io
import json

import pyarrow.parquet as pq

from schemas import ARTICLE_SCHEMA, SCHEMA_METADATA_KEY, UNKNOWN_DATE_PARTITION
from transforms.records import Article
from transforms.write import (
    articles_to_parquet,
    dead_letters_to_jsonl,
    partition_path,
    shard_of,
    write_file_atomically,
)

UTC = dt.timezone.utc


def make_article(doc_id="a" * 32, **fields):
    defaults = dict(
        source_uri="file:///x.txt",
        input_format="text",
        text="Body.",
        language="en",
        content_sha256="0" * 64,
        ingested_at=dt.datetime(2026, 1, 1, tzinfo=UTC),
    )
    return Article(doc_id=doc_id, **{**defaults, **fields})


def test_partition_path_uses_the_utc_date_and_a_null_marker():
    late_evening_new_york = dt.datetime(
        2017, 11, 9, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5))
    )
    assert partition_path(make_article(published_at=late_evening_new_york)) == (
        "date=2017-11-10/lang=en"
    )
    assert partition_path(make_article()) == f"date={UNKNOWN_DATE_PARTITION}/lang=en"


def test_parquet_bytes_follow_the_versioned_schema():
    rows = [
        make_article().to_row(),
        make_article("b" * 32, fixes=["x"], also_seen_at=["y"]).to_row(),
    ]
    table = pq.read_table(io.BytesIO(articles_to_parquet(rows)))
    assert table.schema.equals(ARTICLE_SCHEMA, check_metadata=False)
    assert table.schema.metadata[SCHEMA_METADATA_KEY] == b"news_article/2"
    assert b"news_pipeline.version" in table.schema.metadata
    assert table.column("doc_id").to_pylist() == ["a" * 32, "b" * 32]
    assert (
        pq.ParquetFile(io.BytesIO(articles_to_parquet(rows)))
        .metadata.row_group(0)
        .column(0)
        .compression
        == "ZSTD"
    )


def test_dead_letters_are_sorted_json_lines():
    payload = dead_letters_to_jsonl([{"b": 1, "a": "é"}, {"a": 2}])
    lines = payload.decode().splitlines()
    assert [json.loads(line) for line in lines] == [{"a": "é", "b": 1}, {"a": 2}]


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    folder = tmp_path / "date=2017-11-09" / "lang=en"
    first = write_file_atomically(str(folder), "part-1.parquet", b"one")
    second = write_file_atomically(str(folder), "part-1.parquet", b"two")
    assert first == second
    assert [p.name for p in folder.iterdir()] == ["part-1.parquet"]
    assert (folder / "part-1.parquet").read_bytes() == b"two"


def test_shard_of_is_stable_and_in_range():
    assert shard_of("abc", 7) == shard_of("abc", 7)
    assert {shard_of(str(i), 4) for i in range(200)} == {0, 1, 2, 3}
    assert shard_of("abc", 1) == 0
