"""Dedup: exact duplicates (same normalized text) become one row that lists the others."""

from __future__ import annotations

import dataclasses

import apache_beam as beam
from apache_beam.metrics import Metrics

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
