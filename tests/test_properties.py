"""Property-based tests (hypothesis) of the pure text functions: on any string they never
raise, finish within a generous per-example deadline (long tokens and long lines included),
and cleaning is idempotent: cleaning clean text changes nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.clean import clean_article
from transforms.documents.text_extract import parse_text_document
from transforms.records import FORMAT_TEXT, Article, PipelineError
from transforms.text.boilerplate import remove_boilerplate_lines, remove_repeated_title
from transforms.text.dates import parse_published
from transforms.text.detokenize import detokenize, looks_tokenized
from transforms.text.language import detect_language
from transforms.text.truecase import restore_case
from transforms.text.unicode_fix import fix_unicode, normalize_whitespace

# Modest counts keep the suite fast; the deadline is per example and generous (a machine
# shared by several jobs), far below what a quadratic step takes on the long inputs below.
PROPERTIES = settings(
    max_examples=40,
    deadline=dt.timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

WORDS = st.sampled_from(
    "the a mayor said Tuesday new york ( reuters ) - , . 's n't \" '' `` -- "
    "café naïve Straße 北京 москва ﬁ â€™ Ã© \u00a0 \u200b \t 2019-05-12 u.s. 12gb".split(" ")
)
# Text like news (words, punctuation, newlines) and anything else hypothesis finds.
NEWSISH = st.lists(st.one_of(WORDS, st.just("\n"), st.just(" ")), max_size=200).map(" ".join)
ANY_TEXT = st.one_of(st.text(max_size=300), NEWSISH)
# One token or one line far longer than any real one: steps must stay linear in them.
LONG = st.builds(
    lambda piece, times: piece * times,
    st.text(min_size=1, max_size=4),
    st.integers(min_value=2_000, max_value=20_000),
)
TEXTS = st.one_of(ANY_TEXT, LONG)


@PROPERTIES
@given(TEXTS)
def test_fix_unicode_never_raises_and_is_idempotent(text):
    fixed, fixes = fix_unicode(text)
    assert isinstance(fixes, list)
    assert fix_unicode(fixed)[0] == fixed


@PROPERTIES
@given(TEXTS)
def test_normalize_whitespace_is_idempotent(text):
    once = normalize_whitespace(text)
    assert normalize_whitespace(once) == once


@PROPERTIES
@given(st.lists(TEXTS, max_size=8), st.one_of(st.none(), ANY_TEXT))
def test_boilerplate_removal_never_raises_and_is_idempotent(lines, title):
    kept, removed = remove_boilerplate_lines(lines)
    assert removed >= 0 and len(kept) <= len(lines)
    assert remove_boilerplate_lines(kept) == (kept, 0)
    remove_repeated_title(kept, title)


@PROPERTIES
@given(TEXTS)
def test_detokenize_never_raises(text):
    looks_tokenized(text)
    assert isinstance(detokenize(text), str)


@PROPERTIES
@given(TEXTS)
def test_restore_case_changes_only_the_casing(text):
    lowered = text.lower()
    assert restore_case(lowered).casefold() == lowered.casefold()


@PROPERTIES
@given(TEXTS)
def test_detect_language_never_raises(text):
    language, score = detect_language(text)
    assert isinstance(language, str) and (score is None or 0 <= score <= 1)


@PROPERTIES
@given(st.one_of(TEXTS, st.integers(), st.floats(), st.none()))
def test_parse_published_never_raises(value):
    parsed = parse_published(value)
    assert parsed is None or parsed.tzinfo is not None


@PROPERTIES
@given(TEXTS)
def test_parse_text_document_never_raises(text):
    assert isinstance(parse_text_document(text).text, str)


@PROPERTIES
@given(TEXTS)
def test_cleaning_clean_text_changes_nothing(text):
    article = Article(doc_id="x", source_uri="mem://x.txt", input_format=FORMAT_TEXT, text=text)
    try:
        cleaned = clean_article(article, min_words=1)
    except PipelineError:
        return  # nothing left to clean again
    again = clean_article(dataclasses.replace(cleaned, fixes=[]), min_words=1)
    assert again.text == cleaned.text
    assert again.title == cleaned.title
