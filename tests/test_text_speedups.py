"""The faster forms of the text steps give what the plain forms they replaced give.

Each plain form is written out here as the reference (the code it replaced), and hypothesis
feeds both texts built from the characters that make the difference.
"""

import dataclasses
import re

import ftfy
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.clean import _clean_line_list
from transforms.text import detokenize, truecase
from transforms.text.boilerplate import default_rules, strip_boilerplate_line, title_key
from transforms.text.unicode_fix import fix_unicode, non_ascii_windows, normalize_whitespace
from transforms.text.words import _UNSPACED_CHARACTER, count_words


def texts_of(*pieces: str, max_size: int = 40):
    return st.lists(st.sampled_from(pieces), max_size=max_size).map("".join)


# ------------------------------------------------------------------ unicode_fix

OLD_NON_ASCII_WINDOW = re.compile(
    r"[\x00-\x7f]{0,2}[^\x00-\x7f]+(?:[\x00-\x7f]{1,4}[^\x00-\x7f]+)*[\x00-\x7f]{0,2}"
)


@settings(max_examples=400, deadline=None)
@given(texts_of("a", "b", " ", "\n", "é", "€", "Ã", "©", "ab", "abcde"))
def test_mojibake_windows_are_those_of_the_single_regex(text):
    assert non_ascii_windows(text) == OLD_NON_ASCII_WINDOW.findall(text)


# ------------------------------------------------------------------ truecase

OLD_SENTENCE_INITIAL_TOKEN = re.compile(
    r"(?:^|(?<!\b(?:Mr|Dr|Ms|St|Jr|Sr))(?<!\b(?:Mrs|Gen|Sen|Rep|Gov))[.!?])[^\w.!?]*("
    + truecase._TOKEN.pattern
    + ")",
    re.MULTILINE,
)
OLD_CAPITALIZED_RUN = re.compile(r"(?<=[a-z0-9,;:] )[A-Z][\w\-]*(?:(?: of)? [A-Z][\w\-]*)+")


@settings(max_examples=400, deadline=None)
@given(texts_of("Mr", "Mrs", "Dr", "Gen", "xMr", ".", "!", "?", " ", "\n", "a", "B", "u.s.", "1"))
def test_sentence_initial_tokens_are_those_of_the_old_look_behinds(text):
    assert truecase._SENTENCE_INITIAL_TOKEN.findall(text) == OLD_SENTENCE_INITIAL_TOKEN.findall(
        text
    )


@settings(max_examples=400, deadline=None)
@given(texts_of("A", "Bc", " of", " ", "a ", "1 ", ", ", ";", "-", "\n", "É", "x"))
def test_capitalized_runs_are_those_of_the_old_look_behind(text):
    assert truecase._CAPITALIZED_RUN.findall(text) == OLD_CAPITALIZED_RUN.findall(text)


def old_is_lowercased(text, max_upper_ratio=0.005, min_letters=40, sample_chars=2000):
    sample = text[:sample_chars]
    letters = sum(map(str.isalpha, sample))
    return letters >= min_letters and sum(map(str.isupper, sample)) <= max_upper_ratio * letters


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["abcde fgh ", "ij. ", "A", "É", "é", "ß", "’", "€", "Ж", "\x81", "ǅ", "1"]
        ),
        max_size=60,
    ).map("".join),
    st.sampled_from([0.0, 0.005, 0.1]),
    st.sampled_from([1, 40]),
)
def test_is_lowercased_counts_as_str_isalpha_and_isupper_do(text, ratio, min_letters):
    assert truecase.is_lowercased(text, ratio, min_letters) == old_is_lowercased(
        text, ratio, min_letters
    )


# ------------------------------------------------------------------ clean lines, words


def old_clean_line_list(text):
    lines = (line.strip() for line in normalize_whitespace(text).split("\n"))
    return [line for line in lines if line]


@settings(max_examples=400, deadline=None)
@given(texts_of("a", "b c", " ", "  ", "\t", "\n", "\r", "\xa0", "\u2028", "\x0b", "\u3000", "é"))
def test_lines_split_by_str_split_are_those_of_the_whitespace_regex(text):
    assert _clean_line_list(text) == old_clean_line_list(text)


def old_count_words(text):
    unspaced = len(_UNSPACED_CHARACTER.findall(text))
    if not unspaced:
        return len(text.split())
    return len(_UNSPACED_CHARACTER.sub(" ", text).split()) + unspaced


@settings(max_examples=200, deadline=None)
@given(texts_of("word", " ", "\n", "\t", "中", "国", "é", "\x1f", "a-b"))
def test_word_counts_of_ascii_text_are_those_of_the_general_count(text):
    assert count_words(text) == old_count_words(text)


# ------------------------------------------------------------------ boilerplate `requires`

RULES = default_rules()
RULES_WITHOUT_REQUIRES = tuple(dataclasses.replace(rule, requires=()) for rule in RULES)
# Fragments of lines the rules with required words remove, and of prose, in mixed case.
BOILERPLATE_FRAGMENTS = [
    "Sign up",
    "SUBSCRIBE",
    " to our ",
    "newsletter",
    "Newsletters:",
    "We use cookies",
    "cookie policy",
    "(C) 2017 ",
    "Copyright 2017 ",
    "All rights reserved.",
    " Featured Image",
    " pic.twitter.com/abc",
    "The minister said",
    " ",
    ".",
    "- ",
    "ſubscribe",
    "İmage",
    "ı",
]


@settings(max_examples=500, deadline=None)
@given(texts_of(*BOILERPLATE_FRAGMENTS, max_size=8))
def test_required_words_only_skip_rules_that_would_not_fire(line):
    assert strip_boilerplate_line(line, RULES) == strip_boilerplate_line(
        line, RULES_WITHOUT_REQUIRES
    )


def test_the_rules_that_require_words_still_fire_on_their_lines():
    required = {rule.rule_id: rule.requires for rule in RULES if rule.requires}
    assert set(required) >= {"cookie_notice", "copyright", "newsletter_prompt"}
    for line, rule_id in [
        ("We use cookies to improve your experience.", "cookie_notice"),
        ("Copyright 2017 Example News. All rights reserved.", "copyright"),
        ("Sign up for our daily newsletter", "newsletter_prompt"),
        ("Newsletter:", "newsletter_label"),
    ]:
        assert strip_boilerplate_line(line, RULES) == ("", rule_id)
    assert strip_boilerplate_line("Putin and Trump met. Featured Image", RULES) == (
        "Putin and Trump met.",
        "promo_image_suffix",
    )


@settings(max_examples=300, deadline=None)
@given(texts_of("Ab", " ", "-", "_", "'", "\t", "9", "ß", "\u212a", "é", "!", "\x7f", "\x00"))
def test_title_keys_of_ascii_lines_are_those_of_the_regex(line):
    assert title_key(line) == re.sub(r"\W+", "", line.casefold())


OLD_SPACED_PUNCT = re.compile(r"(?:^|\s)[,.;:!?%)\]}](?=\s|$)")
OLD_ATTACHED_PUNCT = re.compile(r"\w[,.;:!?)\]]")


@settings(max_examples=400, deadline=None)
@given(texts_of("a", "1", " ", "\n", "\t", ".", ",", ")", "%", "]", "é", "_", "?!", max_size=30))
def test_punctuation_counts_of_looks_tokenized_are_those_of_the_old_patterns(text):
    assert len(detokenize._SPACED_PUNCT.findall(text)) == len(OLD_SPACED_PUNCT.findall(text))
    assert len(detokenize._ATTACHED_PUNCT.findall(text)) == len(OLD_ATTACHED_PUNCT.findall(text))


def old_is_title_case(line):
    words = truecase._CONTENT_WORD.findall(line)
    if len(words) < 3:
        return False
    content = [word for word in words if word.lower() not in truecase._FUNCTION_WORDS]
    capitalized = sum(1 for word in content if word[0].isupper())
    return len(content) >= 3 and capitalized >= 0.9 * len(content)


@settings(max_examples=500, deadline=None)
@given(texts_of("The", "the", " ", "House", "said", "of", "Élan", "élan", "x", "-", "'s", "12"))
def test_title_case_lines_are_those_of_the_whole_line_count(line):
    assert truecase._is_title_case(line) == old_is_title_case(line)


CASED_PIECES = [
    "The White House said ",
    "President Bill Clinton met ",
    "the Department of Conservation. ",
    "Mr. Putin ",
    "us ",
    "US ",
    "bill ",
    "New York ",
    "\n",
    "A Battle Against Winter\n",
]


@settings(max_examples=300, deadline=None)
@given(
    texts_of(*CASED_PIECES, max_size=12),
    st.sets(st.sampled_from(["the", "white", "house", "bill", "us", "of", "new", "york", "putin"])),
)
def test_casings_counted_for_a_vocabulary_are_those_restricted_to_it(text, words):
    vocabulary = frozenset(words)
    assert truecase.count_casings(text, vocabulary) == truecase.restrict_casings(
        truecase.count_casings(text), vocabulary
    )


@settings(max_examples=400, deadline=None)
@given(
    texts_of(
        "plain ",
        "&amp;",
        "&",
        "<b>",
        "\r\n",
        "\u2028",
        "\x85",
        "\x1b[31m",
        "\ufb01",
        "\uff21",
        "\x07",
        "e\u0301",
        "\u2019",
        "Ã©",
        "é",
        "\ud800",
        max_size=10,
    )
)
def test_fix_unicode_gives_what_every_ftfy_step_gives(text):
    from tests.test_unicode_fix import _reference_fix

    repaired, fixes = fix_unicode(text)
    assert repaired == _reference_fix(text)
    assert ("unicode_repaired" in fixes or "mojibake" in fixes) == (
        ftfy.fix_and_explain(text, uncurl_quotes=False)[0] != text
    )
