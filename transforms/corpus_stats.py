"""Statistics learned from the whole run before cleaning: per-source boilerplate, word casings."""

from __future__ import annotations

import hashlib
from collections import Counter

import apache_beam as beam

from transforms.boilerplate import line_fingerprint
from transforms.clean import CorpusStatistics
from transforms.truecase import count_casings, is_lowercased, merge_casings

# A learned boilerplate line must be short (templates are; repeated paragraphs are syndication)
# and recur in at least this many distinct documents and this share of its source's documents.
MAX_LEARNED_LINE_CHARS = 200
DEFAULT_MIN_DOCS = 3
DEFAULT_MIN_SHARE = 0.3


def _text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def short_line_fingerprints(text: str) -> set[str]:
    """Distinct fingerprints of the short lines of one document."""
    return {
        line_fingerprint(line)
        for line in text.split("\n")
        if line.strip() and len(line.strip()) <= MAX_LEARNED_LINE_CHARS
    }


def is_learned_boilerplate(
    docs_with_line: int, docs_in_source: int, min_docs: int, min_share: float
) -> bool:
    """A line is a source's template when enough of its distinct documents repeat it.

    Never true for a line seen in a single document, whatever the settings.
    """
    return docs_with_line >= max(2, min_docs) and docs_with_line >= min_share * docs_in_source


class _MergeCasings(beam.CombineFn):
    def create_accumulator(self):
        return {}

    def add_input(self, accumulator, casings):
        return merge_casings(accumulator, casings)

    def merge_accumulators(self, accumulators):
        merged: dict[str, Counter] = {}
        for accumulator in accumulators:
            merge_casings(merged, accumulator)
        return merged

    def extract_output(self, accumulator):
        # Words only ever seen lowercase teach nothing the default does not do.
        return {word: forms for word, forms in accumulator.items() if set(forms) != {word}}


def _boilerplate_by_source(pairs) -> dict[str, frozenset[str]]:
    by_source: dict[str, set[str]] = {}
    for source_key, fingerprint in pairs:
        by_source.setdefault(source_key, set()).add(fingerprint)
    return {source_key: frozenset(fingerprints) for source_key, fingerprints in by_source.items()}


class LearnCorpusStatistics(beam.PTransform):
    """Articles -> one CorpusStatistics (batch: use it as `beam.pvalue.AsSingleton`)."""

    def __init__(self, min_docs: int = DEFAULT_MIN_DOCS, min_share: float = DEFAULT_MIN_SHARE):
        super().__init__()
        self.min_docs = min_docs
        self.min_share = min_share

    def expand(self, articles):
        min_docs, min_share = self.min_docs, self.min_share
        distinct_docs = (
            articles
            | "SourceTextLines"
            >> beam.Map(
                lambda a: (
                    a.source_key,
                    _text_digest(a.text),
                    tuple(sorted(short_line_fingerprints(a.text))),
                )
            )
            | "OneTextPerSource" >> beam.Distinct()
        )
        docs_per_source = (
            distinct_docs
            | "SourceOfDoc" >> beam.Map(lambda doc: (doc[0], 1))
            | "CountDocsPerSource" >> beam.CombinePerKey(sum)
        )
        boilerplate = (
            distinct_docs
            | "LineFingerprints" >> beam.FlatMap(lambda doc: (((doc[0], fp), 1) for fp in doc[2]))
            | "CountDocsPerLine" >> beam.CombinePerKey(sum)
            | "KeepTemplateLines"
            >> beam.Filter(
                lambda item, per_source: is_learned_boilerplate(
                    item[1], per_source.get(item[0][0], 0), min_docs, min_share
                ),
                per_source=beam.pvalue.AsDict(docs_per_source),
            )
            | "DropCounts" >> beam.Map(lambda item: item[0])
            | "GroupBySource" >> beam.combiners.ToList()
            | "AsSourceTable" >> beam.Map(_boilerplate_by_source)
        )
        casings = (
            articles
            | "CasedArticles" >> beam.Filter(lambda a: not is_lowercased(a.text))
            | "CountCasings" >> beam.Map(lambda a: count_casings(a.text))
            | "MergeCasings" >> beam.CombineGlobally(_MergeCasings())
        )
        return boilerplate | "Combine" >> beam.Map(
            lambda lines, words: CorpusStatistics(boilerplate_lines=lines, casings=words),
            words=beam.pvalue.AsSingleton(casings),
        )
