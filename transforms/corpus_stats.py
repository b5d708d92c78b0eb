"""Statistics learned from the whole run before cleaning: per-source boilerplate, word casings."""

from __future__ import annotations

import collections
import dataclasses
import hashlib
from collections import Counter
from collections.abc import Iterable

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from transforms.clean import CorpusStatistics
from transforms.text.boilerplate import line_fingerprint
from transforms.text.truecase import (
    count_casings,
    is_lowercased,
    lowercased_vocabulary,
    merge_casings,
)

# A learned boilerplate line must be short (templates are; repeated paragraphs are syndication)
# and recur in at least this many distinct documents and this share of its source's documents.
MAX_LEARNED_LINE_CHARS = 200
DEFAULT_MIN_DOCS = 3
DEFAULT_MIN_SHARE = 0.3
# Bounds of the streaming state kept per source.
MAX_TRACKED_LINES_PER_SOURCE = 200_000
RECENT_TEXTS_REMEMBERED = 10_000


def _text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def short_line_fingerprints(text: str) -> set[str]:
    """Distinct fingerprints of the short lines of one document."""
    return {
        line_fingerprint(line)
        for line in text.split("\n")
        # Length first: most lines are prose, longer than a template line even stripped.
        if len(line) <= MAX_LEARNED_LINE_CHARS or len(line.strip()) <= MAX_LEARNED_LINE_CHARS
        if line.strip()
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


class _UnionOfSets(beam.CombineFn):
    def create_accumulator(self):
        return set()

    def add_input(self, accumulator, words):
        accumulator |= words
        return accumulator

    def merge_accumulators(self, accumulators):
        return set().union(*accumulators)

    def extract_output(self, accumulator):
        return frozenset(accumulator)


def _casings_to_learn(article, vocabulary: frozenset[str]):
    """The casings of a cased article's words that the run's lowercased articles use."""
    if vocabulary and not is_lowercased(article.text):
        Metrics.counter("news", "stats.casings_learned_from").inc()
        yield count_casings(article.text, vocabulary)


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
        # Counting casings costs about as much as cleaning an article: pay for it only when
        # the run has lowercased articles to truecase, and keep only the words they use.
        vocabulary = (
            articles
            | "LowercasedVocabulary" >> beam.Map(lambda a: lowercased_vocabulary(a.text))
            | "UnionOfVocabularies" >> beam.CombineGlobally(_UnionOfSets())
        )
        casings = (
            articles
            | "CountCasings"
            >> beam.FlatMap(_casings_to_learn, vocabulary=beam.pvalue.AsSingleton(vocabulary))
            | "MergeCasings" >> beam.CombineGlobally(_MergeCasings())
        )
        return boilerplate | "Combine" >> beam.Map(
            lambda lines, words: CorpusStatistics(boilerplate_lines=lines, casings=words),
            words=beam.pvalue.AsSingleton(casings),
        )


@dataclasses.dataclass
class SourceLineCounts:
    """Streaming state of one source: distinct documents seen and, per short line, how many of
    them had it. Bounded: when it tracks too many lines, lines seen once are forgotten."""

    documents: int = 0
    lines: Counter = dataclasses.field(default_factory=Counter)
    recent_texts: collections.deque = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=RECENT_TEXTS_REMEMBERED)
    )

    def add(self, text_digest: str, fingerprints: Iterable[str]) -> None:
        if text_digest in self.recent_texts:
            return  # a re-delivered or duplicate text is not new evidence
        self.recent_texts.append(text_digest)
        self.documents += 1
        self.lines.update(fingerprints)
        if len(self.lines) > MAX_TRACKED_LINES_PER_SOURCE:
            self.lines = Counter({fp: n for fp, n in self.lines.items() if n > 1})

    def learned(self, fingerprints: Iterable[str], min_docs: int, min_share: float) -> frozenset:
        return frozenset(
            fp
            for fp in fingerprints
            if is_learned_boilerplate(self.lines[fp], self.documents, min_docs, min_share)
        )


class _AttachRunningStatistics(beam.DoFn):
    """(source_key, article) -> (article, CorpusStatistics of its source so far), in state."""

    LINE_COUNTS = ReadModifyWriteStateSpec("line_counts", PickleCoder())

    def __init__(self, min_docs: int, min_share: float):
        self.min_docs = min_docs
        self.min_share = min_share

    def process(self, element, line_counts=beam.DoFn.StateParam(LINE_COUNTS)):  # noqa: B008
        source_key, article = element
        counts = line_counts.read() or SourceLineCounts()
        fingerprints = short_line_fingerprints(article.text)
        counts.add(_text_digest(article.text), fingerprints)
        line_counts.write(counts)
        learned = counts.learned(fingerprints, self.min_docs, self.min_share)
        yield article, CorpusStatistics(boilerplate_lines={source_key: learned})


class AttachRunningStatistics(beam.PTransform):
    """Streaming counterpart of LearnCorpusStatistics: Article -> (Article, CorpusStatistics).

    Each article is cleaned with what its source's earlier articles (and itself) taught, so
    a template line is removed once it has recurred in enough documents, never before.
    """

    def __init__(self, min_docs: int = DEFAULT_MIN_DOCS, min_share: float = DEFAULT_MIN_SHARE):
        super().__init__()
        self.min_docs = min_docs
        self.min_share = min_share

    def expand(self, articles):
        return (
            articles
            | "KeyBySource" >> beam.Map(lambda article: (article.source_key, article))
            | "CountLinesInState"
            >> beam.ParDo(_AttachRunningStatistics(self.min_docs, self.min_share))
        )


class _AttachStoredStatistics(beam.DoFn):
    """Article -> (article, CorpusStatistics of its source so far), counted in the local
    store: no Beam state, so the step stays fused with the live poll and survives restarts."""

    def __init__(self, state_path: str, min_docs: int, min_share: float):
        self.state_path = state_path
        self.min_docs = min_docs
        self.min_share = min_share

    def setup(self):
        from transforms.state.store import StateStore

        self.store = StateStore(self.state_path)

    def teardown(self):
        store = getattr(self, "store", None)
        if store is not None:
            store.close()

    def process(self, article):
        fingerprints = short_line_fingerprints(article.text)
        key = article.source_key
        self.store.add_source_document(key, _text_digest(article.text), fingerprints)
        documents, counts = self.store.source_line_counts(key, fingerprints)
        learned = frozenset(
            fingerprint
            for fingerprint in fingerprints
            if is_learned_boilerplate(
                counts.get(fingerprint, 0), documents, self.min_docs, self.min_share
            )
        )
        yield article, CorpusStatistics(boilerplate_lines={key: learned})


class AttachStoredStatistics(beam.PTransform):
    """Local live form of AttachRunningStatistics: per-source line counts in the state store."""

    def __init__(
        self,
        state_path: str,
        min_docs: int = DEFAULT_MIN_DOCS,
        min_share: float = DEFAULT_MIN_SHARE,
    ):
        super().__init__()
        self.state_path = state_path
        self.min_docs = min_docs
        self.min_share = min_share

    def expand(self, articles):
        return articles | "CountLinesInStore" >> beam.ParDo(
            _AttachStoredStatistics(self.state_path, self.min_docs, self.min_share)
        )
