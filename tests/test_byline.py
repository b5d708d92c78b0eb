"""The regex-free byline search selects and returns exactly what trafilatura's does."""

import html
import pathlib
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trafilatura.metadata import extract_author as trafilatura_extract_author
from trafilatura.utils import load_html
from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

from transforms.documents.byline import (
    AUTHOR_DISCARD_SELECTIONS,
    AUTHOR_SELECTIONS,
    NATIVE_AUTHOR_DISCARD_XPATHS,
    NATIVE_AUTHOR_XPATHS,
    extract_author,
    native_xpath_extract_author,
    select_all,
    selection,
)
from transforms.documents.html_extract import as_html_document
from transforms.documents.native_xpath import native_expression, pattern_literals

CORPORA = pathlib.Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "html"
CORPUS_PAGES = sorted(CORPORA.glob("readability/*/source.html")) + sorted(
    CORPORA.glob("trafilatura-cache/*.html")
)


# The expressions extract_author runs, beside trafilatura's.
TRANSLATED = list(
    zip(
        AUTHOR_XPATHS + AUTHOR_DISCARD_XPATHS,
        NATIVE_AUTHOR_XPATHS + NATIVE_AUTHOR_DISCARD_XPATHS,
        strict=True,
    )
)


def test_pattern_literals_expand_alternations_classes_and_optional_characters():
    assert pattern_literals("^[Cc]omments|comment-?list|article-(?:share|support)") == [
        (True, "Comments"),
        (True, "comments"),
        (False, "article-share"),
        (False, "article-support"),
        (False, "comment-list"),
        (False, "commentlist"),
    ]


@pytest.mark.parametrize(
    "pattern",
    ["^[Cc]omment(?!ary)", r"(^|\s)link(\s|$)", "(?i)author", "auth.r", "author$", "a+", "[a-z]x"],
)
def test_pattern_literals_refuse_what_is_not_a_set_of_literals(pattern):
    assert pattern_literals(pattern) is None


def test_only_one_attribute_regex_tests_are_rewritten():
    # @id|@class hands the regex whichever attribute the tag writes first, not both.
    path = "//*[re:test(@id|@class, 'cookie') or re:test(@class, 'a|b')]"
    assert native_expression(path) == (
        "//*[re:test(@id|@class, 'cookie') or "
        "(@class and (contains(@class, 'a') or contains(@class, 'b')))]"
    )


def test_the_byline_expressions_are_all_understood():
    # a trafilatura upgrade with other forms still answers right, only slower: say so
    for expression in NATIVE_AUTHOR_XPATHS + NATIVE_AUTHOR_DISCARD_XPATHS:
        assert "re:test" not in expression.path
    assert AUTHOR_SELECTIONS is not None
    assert AUTHOR_DISCARD_SELECTIONS is not None


@pytest.mark.parametrize(
    "path",
    [
        "//div[@class='a']",  # a named step
        "//*[@class='a' and @id='b']",
        "//*[contains(@class, '')]",  # true for elements without a class
        "//*[re:test(@class, 'a*')]",
        "//*[starts-with(@class, 'a')]",
        "//*[count(p) > 2]",
    ],
)
def test_selection_refuses_other_forms(path):
    assert selection(path) is None


def _assert_same_selections(tree) -> None:
    """The native XPaths and the one-walk selections select what trafilatura's XPaths do."""
    position = {element: index for index, element in enumerate(tree.iter())}
    walked = select_all(tree, AUTHOR_SELECTIONS + AUTHOR_DISCARD_SELECTIONS)
    for (original, native), selected in zip(TRANSLATED, walked, strict=True):
        expected = [position[element] for element in original(tree)]
        assert [position[element] for element in native(tree)] == expected, original.path
        assert [position[element] for element in selected] == expected, original.path


@pytest.mark.skipif(not CORPUS_PAGES, reason="../shared corpora not present")
def test_same_bylines_and_selections_as_trafilatura_on_the_shared_pages():
    assert len(CORPUS_PAGES) > 100
    authors_found = 0
    for page in CORPUS_PAGES:
        tree = load_html(as_html_document(page.read_bytes()))
        expected = trafilatura_extract_author(tree)
        assert extract_author(tree) == expected, page
        assert native_xpath_extract_author(tree) == expected, page
        authors_found += expected is not None
        _assert_same_selections(tree)
    assert authors_found > 50  # the comparison met real bylines, not only None == None


def _tokens() -> list[str]:
    """Words the XPaths test (their quoted strings, pattern literals) and near misses."""
    words: set[str] = set()
    for expression, _native in TRANSLATED:
        for quoted in re.findall(r"'([^']*)'", expression.path):
            literals = pattern_literals(quoted) or [(False, quoted)]
            words.update(literal for _, literal in literals)
    words = {word for word in words if word and len(word) < 40}
    near = set()
    for word in words:
        near.update({word.upper(), word.capitalize(), word[1:], word[:-1], word.replace("-", "")})
    return sorted(words | near | {"x", "me", "AuthorCard"})


TOKENS = _tokens()
TAGS = ["a", "div", "span", "p", "section", "address", "strong", "h3", "h4", "time"]
TAGS += ["figure", "author", "rel", "li", "article", "link", "aside", "header"]
ATTRIBUTES = ["class", "id", "itemprop", "rel", "data-testid", "data-component", "style"]
TEXTS = ["", "me", "x", "Jane Doe", "By John Smith and Ann Lee", "word " * 30]

attribute_values = st.builds(
    lambda parts, separator: separator.join(parts),
    st.lists(st.sampled_from(TOKENS), min_size=1, max_size=3),
    st.sampled_from([" ", "-", "", "_"]),
)


def _render(tag: str, attributes: dict[str, str], text: str, children: list[str]) -> str:
    written = "".join(f' {name}="{html.escape(value)}"' for name, value in attributes.items())
    return f"<{tag}{written}>{html.escape(text)}{''.join(children)}</{tag}>{text[:4]}"


def _elements(children):
    return st.builds(
        _render,
        st.sampled_from(TAGS),
        st.dictionaries(st.sampled_from(ATTRIBUTES), attribute_values, max_size=3),
        st.sampled_from(TEXTS),
        children,
    )


documents = st.recursive(
    _elements(st.just([])),
    lambda children: _elements(st.lists(children, max_size=4)),
    max_leaves=25,
).map(lambda body: f"<html><head><title>t</title></head><body>{body}</body></html>")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_same_selections_and_byline_as_trafilatura_on_generated_pages(document):
    tree = load_html(document.encode())
    expected = trafilatura_extract_author(tree)
    assert extract_author(tree) == expected
    assert native_xpath_extract_author(tree) == expected
    _assert_same_selections(tree)
