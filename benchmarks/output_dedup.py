"""What it costs an appending run to skip texts the output already holds, two ways.

    python benchmarks/output_dedup.py [--rows 50000] [--files 10] [--articles 5000]

1. Parquet: read the `content_sha256` column of every article file of the output (what
   pipeline/output_state.py does, as a Beam side input joined on the hash);
2. the state store's dedup index (transforms/state/store.py): `known_contents` for the
   same hashes, and `claim_content` to fill it (one transaction per text, as live ingestion
   claims them);
3. on the local runner, `--articles` articles (half already written) through
   DropAlreadyWritten (each worker loads the hashes into a set once) and through a join on
   the hash (the existing hashes through the shuffle), against a run with neither.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import tempfile
import time
import tracemalloc

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.graph import local_runner
from pipeline.output_state import (
    DropAlreadyWritten,
    content_hashes,
    data_files,
    load_texts_written,
)
from transforms.records import Article
from transforms.state.store import StateStore
from transforms.write import articles_to_parquet

UTC = dt.timezone.utc
WORDS = "the of and to in a is that for on with as was by at it from his an be are".split()


def make_article(index: int, rng: random.Random) -> Article:
    text = " ".join(rng.choice(WORDS) for _ in range(150)) + f" {index}."
    return Article(
        doc_id=hashlib.sha256(f"doc{index}".encode()).hexdigest()[:32],
        source_uri=f"file:///archive/{index}.txt",
        input_format="text",
        text=text,
        language="en",
        content_sha256=hashlib.sha256(text.encode()).hexdigest(),
        ingested_at=dt.datetime(2026, 1, 1, tzinfo=UTC),
    )


def write_output(output: str, rows: int, files: int) -> list[Article]:
    rng = random.Random(7)
    articles = [make_article(index, rng) for index in range(rows)]
    folder = os.path.join(output, "date=2017-11-09", "lang=en")
    os.makedirs(folder)
    per_file = -(-rows // files)
    for start in range(0, rows, per_file):
        chunk = [article.to_row() for article in articles[start : start + per_file]]
        with open(os.path.join(folder, f"part-{start}.parquet"), "wb") as handle:
            handle.write(articles_to_parquet(chunk))
    return articles


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


class JoinOnContent(beam.PTransform):
    """The alternative: the output's hashes joined with the articles through the shuffle."""

    def __init__(self, existing_files: list[str]):
        super().__init__()
        self.existing_files = existing_files

    def expand(self, articles):
        written = (
            articles.pipeline
            | "Files" >> beam.Create(self.existing_files)
            | "Hashes" >> beam.FlatMap(content_hashes)
            | "KeyWritten" >> beam.Map(lambda sha: (sha, None))
        )
        new = articles | "Key" >> beam.Map(lambda article: (article.content_sha256, article))
        return (
            {"new": new, "written": written}
            | beam.CoGroupByKey()
            | beam.FlatMap(lambda item: [] if list(item[1]["written"]) else item[1]["new"])
        )


def run_dedup(articles: list[Article], dedup: beam.PTransform | None) -> float:
    options = PipelineOptions([])
    pipeline = beam.Pipeline(runner=local_runner(options), options=options)
    created = pipeline | beam.Create(articles)
    if dedup is not None:
        created = created | dedup
    _ = created | beam.Map(lambda article: article.doc_id)
    started = time.perf_counter()
    pipeline.run().wait_until_finish()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--articles", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        output = os.path.join(root, "out")
        articles = write_output(output, args.rows, args.files)
        hashes = [article.content_sha256 for article in articles]
        size = sum(os.path.getsize(path) for path in data_files(output)[0])
        print(f"output: {args.rows} rows in {args.files} files, {size / 1e6:.1f} MB")

        files, list_seconds = timed(lambda: data_files(output)[0])
        read, read_seconds = timed(lambda: [h for path in files for h in content_hashes(path)])
        assert sorted(read) == sorted(hashes)
        print(
            f"parquet: list {list_seconds * 1e3:.0f} ms, read the hash column "
            f"{read_seconds:.2f} s ({read_seconds / args.rows * 1e6:.1f} us per row)"
        )

        tracemalloc.start()
        texts_written = load_texts_written(files)
        set_mb = tracemalloc.get_traced_memory()[0] / 1e6
        tracemalloc.stop()
        assert len(texts_written.keys) == args.rows
        print(f"set of the texts written: {set_mb:.1f} MB ({set_mb * 1e6 / args.rows:.0f} B each)")

        store = StateStore(os.path.join(root, "state.sqlite"))
        now = dt.datetime(2026, 1, 1, tzinfo=UTC)
        _, claim_seconds = timed(
            lambda: [store.claim_content(a.content_sha256, a.doc_id, None, now) for a in articles]
        )
        known, known_seconds = timed(store.known_contents, hashes)
        assert known == set(hashes)
        store.close()
        store_mb = os.path.getsize(os.path.join(root, "state.sqlite")) / 1e6
        print(
            f"state store: claim_content {claim_seconds:.2f} s "
            f"({claim_seconds / args.rows * 1e6:.0f} us per text), known_contents "
            f"{known_seconds:.2f} s ({known_seconds / args.rows * 1e6:.1f} us per text), "
            f"{store_mb:.1f} MB (+ WAL)"
        )

        sample = articles[: args.articles // 2] + [
            make_article(args.rows + index, random.Random(index))
            for index in range(args.articles // 2)
        ]
        plain = run_dedup(sample, None)
        with_set = run_dedup(sample, DropAlreadyWritten(files))
        joined = run_dedup(sample, JoinOnContent(files))
        print(
            f"local runner, {len(sample)} articles (half already written) against {args.rows} "
            f"rows: {plain:.2f} s with no dedup, {with_set:.2f} s with DropAlreadyWritten "
            f"(+{with_set - plain:.2f} s), {joined:.2f} s with the join (+{joined - plain:.2f} s)"
        )


if __name__ == "__main__":
    main()
