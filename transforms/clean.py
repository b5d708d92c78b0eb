"""Clean: article text -> the article alone, in proper form, with the list of fixes applied."""

from __future__ import annotations

import dataclasses
from collections import Counter

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.deadline import DEFAULT_MAX_SECONDS_PER_DOCUMENT, run_with_deadline
from transforms.documents.text_extract import take_title_line
from transforms.failsafe import FailSafeMap
from transforms.records import FORMAT_TEXT, Article, PipelineError
from transforms.text.boilerplate import (
    line_fingerprint,
    remove_boilerplate_lines,
    remove_repeated_title,
)
from transforms.text.detokenize import detokenize, detokenize_line, looks_tokenized
from transforms.text.truecase import best_casings, is_lowercased, restore_case
from transforms.text.unicode_fix import fix_unicode, normalize_whitespace
from transforms.text.words import count_words

STAGE = "clean"
DEFAULT_MIN_WORDS = 15
# Characters of a text judged for its shape (tokenized or not).
SHAPE_SAMPLE_CHARS = 3000


@dataclasses.dataclass
class CorpusStatistics:
    """What cleaning learns from the whole run (a side input in batch, state in streaming)."""

    # {source_key: set of line fingerprints that recur across that source's documents}
    boilerplate_lines: dict[str, frozenset[str]] = dataclasses.field(default_factory=dict)
    # {lowercase word: Counter(casing -> count)} from the run's cased articles
    casings: dict[str, Counter] = dataclasses.field(default_factory=dict)
    _casing_table: dict[str, str] | None = dataclasses.field(
        default=None, repr=False, compare=False
    )

    def casing_table(self) -> dict[str, str]:
        """{lowercase word: preferred casing} learned from the run, computed once."""
        if self._casing_table is None:
            self._casing_table = best_casings(self.casings)
        return self._casing_table


def _clean_line_list(text: str) -> list[str]:
    """The non-empty lines, each with its runs of whitespace made one space and stripped
    (normalize_whitespace on each line: str.split() and the regex's \\s are the same set)."""
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return [line for line in lines if line]


def clean_title(title: str | None, body_lowercased: bool, learned: dict[str, str]) -> str | None:
    if not title:
        return None
    fixed, _ = fix_unicode(title)
    fixed = normalize_whitespace(fixed.replace("\n", " "))
    if looks_tokenized(fixed + " ."):
        fixed = detokenize_line(fixed)
    if body_lowercased and fixed == fixed.lower():
        fixed = restore_case(fixed, learned)
    return fixed or None


def clean_article(
    article: Article,
    statistics: CorpusStatistics | None = None,
    min_words: int = DEFAULT_MIN_WORDS,
) -> Article:
    """Boilerplate removed, Unicode and punctuation normalized, tokenized text restored.

    Raises PipelineError when no article is left (empty, or shorter than `min_words`).
    """
    statistics = statistics or CorpusStatistics()
    text, fixes = fix_unicode(article.text)
    lines = _clean_line_list(text)

    lines, removed = remove_boilerplate_lines(lines)
    if removed:
        fixes.append(f"boilerplate_lines_removed:{removed}")
    learned_lines = statistics.boilerplate_lines.get(article.source_key)
    if learned_lines:
        kept = [line for line in lines if line_fingerprint(line) not in learned_lines]
        if len(kept) < len(lines):
            fixes.append(f"learned_boilerplate_lines_removed:{len(lines) - len(kept)}")
            Metrics.counter("news", f"clean.learned_boilerplate_lines.{article.source_key}").inc(
                len(lines) - len(kept)
            )
            lines = kept

    title = article.title
    if title is None and article.input_format == FORMAT_TEXT:
        title, lines = take_title_line(lines)
        if title:
            fixes.append("title_from_first_line")
    lines, repeated = remove_repeated_title(lines, title)
    if repeated:
        fixes.append("repeated_title_removed")

    body = "\n".join(lines)
    # Tokenization is a property of the whole text: its start tells, at a fraction of the cost.
    if looks_tokenized(body[:SHAPE_SAMPLE_CHARS]):
        body = detokenize(body)
        fixes.append("detokenized")
    lowercased = is_lowercased(body)
    learned_casings: dict[str, str] = {}
    if lowercased:
        # Only then: the table loads the packaged casings (300k words) on first use.
        learned_casings = statistics.casing_table()
        body = restore_case(body, learned_casings)
        fixes.append("truecased")

    word_count = count_words(body)
    if word_count == 0:
        raise PipelineError("empty_after_cleaning", "no text is left after cleaning")
    if word_count < min_words:
        raise PipelineError(
            "too_short", f"{word_count} words after cleaning, fewer than {min_words}"
        )
    return dataclasses.replace(
        article,
        text=body,
        title=clean_title(title, lowercased, learned_casings),
        fixes=article.fixes + fixes,
        word_count=word_count,  # of the returned text: enrich need not count again
    )


def _count_fixes(article: Article) -> Article:
    """Counter `fix.NAME` counts documents; `lines.NAME` adds up the N of `NAME:N` fixes."""
    for fix in article.fixes:
        name, _, count = fix.partition(":")
        Metrics.counter("news", f"fix.{name}").inc()
        if count.isdigit():
            Metrics.counter("news", f"lines.{name}").inc(int(count))
    return article


class CleanArticles(beam.PTransform):
    """Article -> cleaned Article. Outputs: `main`, `dead_letter`.

    `statistics`: optional side input (a singleton CorpusStatistics) learned from the run.
    An article over `max_seconds` is a `timeout` dead letter (transforms/deadline.py).
    """

    def __init__(
        self,
        statistics=None,
        min_words: int = DEFAULT_MIN_WORDS,
        max_seconds: float | None = DEFAULT_MAX_SECONDS_PER_DOCUMENT,
    ):
        super().__init__()
        self.statistics = statistics
        self.min_words = min_words
        self.max_seconds = max_seconds

    def expand(self, articles):
        min_words, max_seconds = self.min_words, self.max_seconds

        def clean(article, statistics=None):
            cleaned = run_with_deadline(max_seconds, clean_article, article, statistics, min_words)
            return _count_fixes(cleaned)

        side_inputs = (self.statistics,) if self.statistics is not None else ()
        return articles | "Clean" >> FailSafeMap(STAGE, clean, *side_inputs)


class CleanArticlesWithTheirStatistics(beam.PTransform):
    """(Article, CorpusStatistics) -> cleaned Article: the streaming form of CleanArticles,
    fed by corpus_stats.AttachRunningStatistics. Outputs: `main`, `dead_letter`."""

    def __init__(
        self,
        min_words: int = DEFAULT_MIN_WORDS,
        max_seconds: float | None = DEFAULT_MAX_SECONDS_PER_DOCUMENT,
    ):
        super().__init__()
        self.min_words = min_words
        self.max_seconds = max_seconds

    def expand(self, articles_with_statistics):
        min_words, max_seconds = self.min_words, self.max_seconds

        def clean(pair):
            article, statistics = pair
            cleaned = run_with_deadline(max_seconds, clean_article, article, statistics, min_words)
            return _count_fixes(cleaned)

        return articles_with_statistics | "Clean" >> FailSafeMap(STAGE, clean)
