"""Dedup: exact duplicates (same normalized text) become one row that lists the others."""

from __future__ import annotations

import dataclasses

import apache_beam as beam
from apache_beam.coders import BooleanCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from transforms.records import Article


def _preference(article: Article) -> tuple:
    # Keep the copy with the most metadata; ties go to the first source_uri, so the choice is
    # the same on every run and runner.
    return (
        article.published_at is None,
        article.title is None,
        article.url is None,
        article.source_uri,
        article.doc_id,
    )


def merge_duplicates(copies: list[Article]) -> Article:
    """One article for copies of one text: the preferred copy, with the others' sources."""
    ordered = sorted(copies, key=_preference)
    kept = ordered[0]
    others = sorted({copy.source_uri for copy in ordered[1:]} - {kept.source_uri})
    return dataclasses.replace(kept, duplicate_count=len(ordered) - 1, also_seen_at=others)


class DropExactDuplicates(beam.PTransform):
    """Articles -> one article per content_sha256; `duplicate_count` and `also_seen_at` say
    how many other inputs had the same text and where they came from."""

    def expand(self, articles):
        duplicates = Metrics.counter("news", "duplicates")

        def merge(item):
            _sha, copies = item
            merged = merge_duplicates(list(copies))
            duplicates.inc(merged.duplicate_count)
            return merged

        return (
            articles
            | "KeyByContent" >> beam.Map(lambda article: (article.content_sha256, article))
            | "GroupCopies" >> beam.GroupByKey()
            | "KeepOnePerText" >> beam.Map(merge)
        )


class _DropKnownContentFn(beam.DoFn):
    """Article -> itself the first time its text is seen by any run into this output; later
    copies are counted duplicates. The dedup index is the local state store."""

    def __init__(self, state_path: str, run_scope: str):
        self.state_path = state_path
        self.run_scope = run_scope

    def setup(self):
        from transforms.state.store import StateStore

        self.store = StateStore(self.state_path)
        self.duplicates = Metrics.counter("news", "duplicates")

    def teardown(self):
        store = getattr(self, "store", None)
        if store is not None:
            store.close()

    def process(self, article: Article):
        seen_at = article.fetched_at or article.ingested_at
        claimed = self.store.claim_content(
            article.content_sha256, article.doc_id, article.url, seen_at, pending=True
        )
        if claimed:
            yield article
        else:
            self.duplicates.inc()
            self.store.add_counters(self.run_scope, {"duplicates": 1})
            if article.feed_url:
                self.store.add_counters(article.feed_url, {"duplicates": 1})


class DropKnownContent(beam.PTransform):
    """Live, local: exact duplicates dropped against every text written before, across polls
    and restarts (a changed page is a new text, so it becomes a revision row)."""

    def __init__(self, state_path: str, run_scope: str = "run"):
        super().__init__()
        self.state_path = state_path
        self.run_scope = run_scope

    def expand(self, articles):
        return articles | "DropKnownContent" >> beam.ParDo(
            _DropKnownContentFn(self.state_path, self.run_scope)
        )


class _DropRepeatedContentInStateFn(beam.DoFn):
    SEEN = ReadModifyWriteStateSpec("seen", BooleanCoder())

    def process(self, element, seen=beam.DoFn.StateParam(SEEN)):  # noqa: B008
        _sha, article = element
        if seen.read():
            Metrics.counter("news", "duplicates").inc()
            return
        seen.write(True)
        yield article


class DropRepeatedContentInState(beam.PTransform):
    """Dataflow streaming form of DropKnownContent: one flag in Beam state per text."""

    def expand(self, articles):
        return (
            articles
            | "KeyByContent" >> beam.Map(lambda article: (article.content_sha256, article))
            | "DropSeenContent" >> beam.ParDo(_DropRepeatedContentInStateFn())
        )
