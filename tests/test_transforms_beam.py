"""Each PTransform on the local runner, checked with assert_that."""

import collections
import datetime as dt
import gzip
import json
import math

import apache_beam as beam
import pyarrow.dataset as ds
from apache_beam.testing.util import assert_that, equal_to

from tests.beam_helpers import local_test_pipeline
from tests.helpers import text_document
from transforms.clean import CleanArticles
from transforms.corpus_stats import LearnCorpusStatistics
from transforms.dedup import DropExactDuplicates
from transforms.enrich import EnrichMetadata
from transforms.extract import ExtractArticles, extract_article
from transforms.read import ReadDocuments
from transforms.records import DEAD_LETTER, FORMAT_JSONL, RawDocument
from transforms.text.boilerplate import line_fingerprint
from transforms.write import WriteDeadLetters, WritePartitionedParquet, partition_path, shard_of

UTC = dt.timezone.utc
TEMPLATE = "Listen to the Port Daily podcast every Friday"
PROSE = "Paragraph {i} of story {n} tells what happened in the harbour town on that day."


def source_articles(count, template=TEMPLATE, uri="file:///port/{n}.txt"):
    articles = []
    for n in range(count):
        lines = [PROSE.format(i=i, n=n) for i in range(3)] + [template]
        article = extract_article(text_document("\n".join(lines), uri.format(n=n)))
        articles.append(article)
    return articles


def test_read_documents_routes_bad_files_to_dead_letters(tmp_path):
    (tmp_path / "a.txt").write_text("An article.")
    (tmp_path / "b.html.gz").write_bytes(gzip.compress(b"<html><body><p>x</p></body></html>"))
    (tmp_path / "c.jsonl").write_text('{"text": "one"}\n{"text": "two"}\n')
    (tmp_path / "d.bin").write_bytes(b"\x00\x01\x02" * 100)
    with local_test_pipeline() as pipeline:
        read = pipeline | ReadDocuments([str(tmp_path)])
        assert_that(
            read.documents | beam.Map(lambda d: d.input_format),
            equal_to(["text", "html", "jsonl", "jsonl"]),
            label="documents",
        )
        assert_that(
            read[DEAD_LETTER] | beam.Map(lambda r: (r["stage"], r["error_type"])),
            equal_to([("read", "binary_content")]),
            label="dead letters",
        )


def test_extract_articles_splits_main_and_dead_letters():
    good = text_document("date 2017-11-09 Words of a story.", "file:///good.txt")
    bad = RawDocument("file:///x.jsonl#line=2", b"{broken", FORMAT_JSONL)
    with local_test_pipeline() as pipeline:
        extracted = pipeline | beam.Create([good, bad]) | ExtractArticles()
        assert_that(
            extracted.main | beam.Map(lambda a: (a.source_uri, a.published_at.date().isoformat())),
            equal_to([("file:///good.txt", "2017-11-09")]),
            label="main",
        )
        assert_that(
            extracted[DEAD_LETTER] | beam.Map(lambda r: (r["source_uri"], r["error_type"])),
            equal_to([("file:///x.jsonl#line=2", "invalid_json")]),
            label="dead",
        )


def test_learned_statistics_and_cleaning_remove_a_source_template():
    articles = source_articles(4) + source_articles(
        1, "A line only one document has", "file:///o/{n}"
    )
    with local_test_pipeline() as pipeline:
        extracted = pipeline | beam.Create(articles)
        statistics = extracted | LearnCorpusStatistics(min_docs=3, min_share=0.3)
        assert_that(
            statistics | beam.Map(lambda s: {k: sorted(v) for k, v in s.boilerplate_lines.items()}),
            equal_to([{"file:///port": [line_fingerprint(TEMPLATE)]}]),
            label="statistics",
        )
        cleaned = extracted | CleanArticles(beam.pvalue.AsSingleton(statistics), min_words=5)
        assert_that(
            cleaned.main | beam.Map(lambda a: TEMPLATE in a.text),
            equal_to([False, False, False, False, False]),
            label="cleaned",
        )


LOWERCASED_WIRE = (
    "quellport ( reuters ) - vorbanek and u.s. president donald trump may meet on the "
    "sidelines of the summit , the kremlin said on thursday ."
)


def test_learned_casings_come_from_cased_articles():
    # Names the packaged table lacks: the learned table holds only what it adds.
    cased = extract_article(
        # "Zembrano": in no lowercased article, so not worth keeping.
        text_document("Yesterday the Kremlin said Vorbanek met Trump and Zembrano in Quellport.")
    )
    lowercased = extract_article(text_document(LOWERCASED_WIRE, "file:///wire/1.txt"))
    with local_test_pipeline() as pipeline:
        statistics = pipeline | beam.Create([cased, lowercased]) | LearnCorpusStatistics()
        assert_that(
            statistics | beam.Map(lambda s: s.casing_table()),
            # "kremlin" and "trump" are also common words: one sighting is not enough for them.
            equal_to([{"vorbanek": "Vorbanek", "quellport": "Quellport"}]),
        )


def test_no_casings_are_learned_when_no_article_is_lowercased():
    cased = extract_article(text_document("Yesterday the Kremlin said Putin met Trump in Danang."))
    with local_test_pipeline() as pipeline:
        statistics = pipeline | beam.Create([cased]) | LearnCorpusStatistics()
        assert_that(statistics | beam.Map(lambda s: s.casings), equal_to([{}]))


def test_enrich_and_dedup():
    ingested_at = dt.datetime(2026, 1, 1, tzinfo=UTC)
    articles = source_articles(1) * 3 + source_articles(2)[1:]
    with local_test_pipeline() as pipeline:
        enriched = pipeline | beam.Create(articles) | EnrichMetadata(ingested_at)
        unique = enriched.main | DropExactDuplicates()
        assert_that(
            unique | beam.Map(lambda a: (a.language, a.duplicate_count, a.ingested_at)),
            equal_to([("en", 2, ingested_at), ("en", 0, ingested_at)]),
        )


def test_every_written_row_is_read_back(tmp_path):
    published = dt.datetime(2017, 11, 9, tzinfo=UTC)
    articles = []
    for n, article in enumerate(source_articles(7)):
        article.language = "en" if n % 2 else "fr"
        article.published_at = published if n < 5 else None
        article.content_sha256 = str(n) * 64
        article.ingested_at = published
        articles.append(article)
    output = str(tmp_path / "out")
    per_partition = collections.defaultdict(list)
    for article in articles:
        per_partition[partition_path(article)].append(article.doc_id)
    expected_files = sum(
        len({shard_of(doc_id, math.ceil(len(ids) / 2)) for doc_id in ids})
        for ids in per_partition.values()
    )
    with local_test_pipeline() as pipeline:
        paths = pipeline | beam.Create(articles) | WritePartitionedParquet(output, rows_per_file=2)
        assert_that(paths | beam.combiners.Count.Globally(), equal_to([expected_files]))
    table = ds.dataset(output, format="parquet", partitioning="hive").to_table()
    assert sorted(table.column("doc_id").to_pylist()) == sorted(a.doc_id for a in articles)
    partitions = {(str(r["date"]), r["lang"]) for r in table.select(["date", "lang"]).to_pylist()}
    assert partitions == {
        ("2017-11-09", "fr"),
        ("2017-11-09", "en"),
        ("None", "fr"),
        ("None", "en"),
    }


def test_counts_from_upstream_set_the_shards_and_every_row_is_written(tmp_path):
    # 3 rows written, 10 counted upstream (before dedup, say): ceil(10 / 2) = 5 shards, where
    # counting the 3 rows themselves would give 2.
    articles = source_articles(3)
    for n, article in enumerate(articles):
        article.language = "en"
        article.published_at = article.ingested_at = dt.datetime(2017, 11, 9, tzinfo=UTC)
        article.content_sha256 = str(n) * 64
    files_with = {shards: len({shard_of(a.doc_id, shards) for a in articles}) for shards in (2, 5)}
    assert files_with[5] != files_with[2]  # the example tells the two counts apart
    folder = partition_path(articles[0])
    output = str(tmp_path / "out")
    with local_test_pipeline() as pipeline:
        counts = pipeline | "Counts" >> beam.Create([(folder, 10)])
        paths = (
            pipeline
            | beam.Create(articles)
            | WritePartitionedParquet(output, rows_per_file=2, expected_rows=counts)
        )
        assert_that(paths | beam.combiners.Count.Globally(), equal_to([files_with[5]]))
    table = ds.dataset(output, format="parquet", partitioning="hive").to_table()
    assert sorted(table.column("doc_id").to_pylist()) == sorted(a.doc_id for a in articles)


def test_dead_letters_are_written_as_json_lines(tmp_path):
    records = [{"source_uri": f"file:///{n}", "stage": "read", "error": "x"} for n in range(3)]
    with local_test_pipeline() as pipeline:
        _ = pipeline | beam.Create(records) | WriteDeadLetters(str(tmp_path))
    (written,) = list((tmp_path / "_dead_letter").glob("*.jsonl"))
    assert [json.loads(line) for line in written.read_text().splitlines()] == records


def test_streaming_learns_a_source_template_in_state_and_never_from_one_document():
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.testing.test_stream import TestStream

    from transforms.clean import CleanArticlesWithTheirStatistics
    from transforms.corpus_stats import AttachRunningStatistics

    articles = source_articles(5)
    stream = TestStream()
    for n, article in enumerate(articles):
        stream = stream.advance_watermark_to(n * 10).add_elements([article])
    stream = stream.advance_watermark_to_infinity()
    pipeline = local_test_pipeline("--streaming")
    assert pipeline.options.view_as(StandardOptions).streaming
    with pipeline:
        cleaned = (
            pipeline
            | stream
            | AttachRunningStatistics(min_docs=3, min_share=0.3)
            | CleanArticlesWithTheirStatistics(min_words=5)
        )
        assert_that(
            cleaned.main | beam.Map(lambda a: (a.source_uri[-5:], TEMPLATE in a.text)),
            equal_to(
                [
                    ("0.txt", True),  # seen in one document: kept
                    ("1.txt", True),  # two: below min_docs
                    ("2.txt", False),
                    ("3.txt", False),
                    ("4.txt", False),
                ]
            ),
        )


def test_process_documents_streaming_and_batch_give_the_same_articles():
    from apache_beam.testing.test_stream import TestStream

    from pipeline.graph import ProcessDocuments
    from pipeline.options import NewsPipelineOptions

    options = NewsPipelineOptions(["--min_words", "5"])
    ingested_at = dt.datetime(2026, 1, 1, tzinfo=UTC)
    documents = [
        text_document(f"date 2020-01-0{n + 1} " + PROSE.format(i=n, n=n), f"file:///d/{n}.txt")
        for n in range(3)
    ] + [RawDocument("file:///d/x.jsonl#line=1", b"{", FORMAT_JSONL)]

    def summarize(articles):
        return articles | beam.Map(lambda a: (a.source_uri, a.published_at.day, a.language))

    expected = [(f"file:///d/{n}.txt", n + 1, "en") for n in range(3)]
    with local_test_pipeline() as pipeline:
        batch = pipeline | beam.Create(documents) | ProcessDocuments(options, ingested_at)
        assert_that(summarize(batch["articles"]), equal_to(expected), label="batch")
        assert_that(batch[DEAD_LETTER] | beam.combiners.Count.Globally(), equal_to([1]), label="b")

    stream = TestStream().add_elements(documents).advance_watermark_to_infinity()
    with local_test_pipeline("--streaming") as pipeline:
        streamed = pipeline | stream | ProcessDocuments(options, ingested_at, streaming=True)
        assert_that(summarize(streamed["articles"]), equal_to(expected), label="streaming")
