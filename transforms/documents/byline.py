"""trafilatura's byline search (metadata.extract_author), the same answer for a fraction of
its cost.

extract_author copies the page, deletes from the copy what AUTHOR_DISCARD_XPATHS select
(comments, sidebars, dates, figures, ...), then returns the first element of AUTHOR_XPATHS,
in order, whose text has the length of a name. Each of those five expressions is a full walk
of the page by libxml2 (their regex tests a Python callback per node): ~10 ms a page.

Here the five expressions, read from trafilatura's own constants, become tests on attribute
values that one walk of the page evaluates together (a regex that is an alternation of
literals, as all of them are, becomes substring tests; any other stays a regex, re.search as
lxml's re:test runs it), on the page itself: a candidate inside a discarded element is one
the copy no longer holds, and a candidate that holds no discarded element has the same
text in the copy. When the candidate that counts holds one (its text in the copy would
differ), or an expression has a form this reader does not know (a trafilatura upgrade),
trafilatura's function runs, with its regexes in native XPath (native_xpath).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from copy import deepcopy

from lxml import etree
from trafilatura.htmlprocessing import prune_unwanted_nodes
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import extract_metainfo
from trafilatura.utils import trim
from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

from transforms.documents.native_xpath import native_xpath, pattern_literals

NATIVE_AUTHOR_XPATHS = [native_xpath(expression) for expression in AUTHOR_XPATHS]
NATIVE_AUTHOR_DISCARD_XPATHS = [native_xpath(expression) for expression in AUTHOR_DISCARD_XPATHS]
# trafilatura.metadata.extract_author's length limit for a byline (extract_metainfo keeps
# 2 < length < limit).
AUTHOR_LENGTH_LIMIT = 120


class ValueTest:
    """The tests an expression makes on one attribute's value, as string operations: equal
    to, starts with, contains one of some literals, or a regex that is not literals."""

    def __init__(self) -> None:
        self.equals: set[str] = set()
        self.starts: tuple[str, ...] = ()
        self.contains: tuple[str, ...] = ()
        self.regexes: tuple[re.Pattern, ...] = ()

    def add(self, other: ValueTest) -> None:
        self.equals |= other.equals
        self.starts = tuple(dict.fromkeys(self.starts + other.starts))
        self.contains = tuple(dict.fromkeys(self.contains + other.contains))
        self.regexes += other.regexes

    def holds(self, value: str) -> bool:
        return (
            value in self.equals
            or value.startswith(self.starts)
            or any(map(value.__contains__, self.contains))
            or any(regex.search(value) for regex in self.regexes)
        )

    def holds_for_empty(self) -> bool:
        return self.holds("")


@dataclasses.dataclass(frozen=True)
class Selection:
    """`[.]//*[self::a or ...][test or test ...]|//name...` as tests on attribute values."""

    value_tests: dict[str, ValueTest]
    tags: frozenset[str] | None = None  # the self:: filter, None when there is none
    descendants_only: bool = False  # './/*' leaves out the element the search starts from
    any_of_tags: frozenset[str] = frozenset()  # '|//author', '//time|//figure'
    child_texts: frozenset[tuple[str, str]] = frozenset()  # `rel='me'`: a child's text


def _add_equals(test: ValueTest, value: str) -> bool:
    test.equals.add(value)
    return True


def _add_contains(test: ValueTest, value: str) -> bool:
    test.contains += (value,)
    return True


def _add_regex(test: ValueTest, pattern: str) -> bool:
    """lxml's re:test is re.search on the attribute's value ('' when there is none)."""
    literals = pattern_literals(pattern)
    if literals is None:
        try:
            test.regexes += (re.compile(pattern),)
        except re.error:
            return False
        return True
    test.starts += tuple(literal for anchored, literal in literals if anchored)
    test.contains += tuple(literal for anchored, literal in literals if not anchored)
    return True


_TESTS: list[tuple[re.Pattern, Callable[[ValueTest, str], bool]]] = [
    (re.compile(r"@([\w-]+)='([^']*)'"), _add_equals),
    (re.compile(r"contains\(@([\w-]+), ?'([^']*)'\)"), _add_contains),
    (re.compile(r"re:test\(@([\w-]+), ?'([^']*)'\)"), _add_regex),
]
_CHILD_TEXT_TEST = re.compile(r"([a-z][\w-]*)='([^']*)'")
_ELEMENT_STEP = re.compile(r"(\.?)//\*(?:\[ ?((?:self::\w+)(?: or self::\w+)*) ?\])?\[ ?(.*?) ?\]")
_TAG_STEP = re.compile(r"//(\w+)")
_UNION_TAIL = re.compile(r"\|//(\w+)$")


def selection(path: str) -> Selection | None:
    """The Selection `path` amounts to, None when it has another form than trafilatura's
    byline expressions or a test that holds for a missing attribute."""
    text = " ".join(path.split())
    also: set[str] = set()
    while tail := _UNION_TAIL.search(text):
        also.add(tail[1])
        text = text[: tail.start()]
    if step := _TAG_STEP.fullmatch(text):
        return Selection({}, any_of_tags=frozenset(also | {step[1]}))
    step = _ELEMENT_STEP.fullmatch(text)
    if not step:
        return None
    value_tests: dict[str, ValueTest] = {}
    child_texts = set()
    for term in step[3].split(" or "):
        for form, add in _TESTS:
            if found := form.fullmatch(term):
                if not add(value_tests.setdefault(found[1], ValueTest()), found[2]):
                    return None
                break
        else:
            if not (found := _CHILD_TEXT_TEST.fullmatch(term)):
                return None
            child_texts.add((found[1], found[2]))
    if any(test.holds_for_empty() for test in value_tests.values()):
        return None  # it would select elements that lack the attribute too
    tags = frozenset(name[len("self::") :] for name in step[2].split(" or ")) if step[2] else None
    return Selection(
        value_tests,
        tags=tags,
        descendants_only=step[1] == ".",
        any_of_tags=frozenset(also),
        child_texts=frozenset(child_texts),
    )


def _selections(expressions: list[etree.XPath]) -> list[Selection] | None:
    found = [selection(expression.path) for expression in expressions]
    return None if None in found else found


AUTHOR_SELECTIONS = _selections(AUTHOR_XPATHS)
AUTHOR_DISCARD_SELECTIONS = _selections(AUTHOR_DISCARD_XPATHS)


def _has_child_text(element: etree._Element, child_texts) -> bool:
    # XPath `rel='me'`: some <rel> child whose string value is 'me'
    return any(
        child.text_content() == text
        for tag, text in child_texts
        for child in element.iterchildren(tag)
    )


def select_all(root: etree._Element, selections: list[Selection]) -> list[list[etree._Element]]:
    """What each selection selects from `root`'s document, in document order, in one walk."""
    found: list[list[etree._Element]] = [[] for _ in selections]
    by_attribute: dict[str, tuple[ValueTest, list[tuple[int, frozenset[str] | None, ValueTest]]]]
    by_attribute = {}
    by_tag: dict[str, list[int]] = {}
    for index, chosen in enumerate(selections):
        for name, test in chosen.value_tests.items():
            # Most values pass no test: all of an attribute's tests at once rule them out.
            any_test, named = by_attribute.setdefault(name, (ValueTest(), []))
            any_test.add(test)
            named.append((index, chosen.tags, test))
        for tag in chosen.any_of_tags:
            by_tag.setdefault(tag, []).append(index)
    child_tests = [(index, chosen) for index, chosen in enumerate(selections) if chosen.child_texts]
    text_parents = {
        child.getparent()
        for _, chosen in child_tests
        for tag, _ in chosen.child_texts
        for child in root.iter(tag)
    }
    for element in root.iter(etree.Element):
        tag = element.tag
        matched = set(by_tag[tag]) if tag in by_tag else None
        for name, value in element.items():
            if name not in by_attribute:
                continue
            any_test, named = by_attribute[name]
            if not any_test.holds(value):
                continue
            for index, tags, test in named:
                if (tags is None or tag in tags) and test.holds(value):
                    matched = matched or set()
                    matched.add(index)
        if text_parents and element in text_parents:
            for index, chosen in child_tests:
                if (chosen.tags is None or tag in chosen.tags) and _has_child_text(
                    element, chosen.child_texts
                ):
                    matched = matched or set()
                    matched.add(index)
        if not matched:
            continue
        if element is root:
            matched = {
                index
                for index in matched
                if not selections[index].descendants_only or index in by_tag.get(tag, ())
            }
        for index in sorted(matched):
            found[index].append(element)
    return found


def native_xpath_extract_author(tree: etree._Element) -> str | None:
    """trafilatura.metadata.extract_author (2.3.1), its regexes in native XPath."""
    subtree = prune_unwanted_nodes(deepcopy(tree), NATIVE_AUTHOR_DISCARD_XPATHS)
    author = extract_metainfo(subtree, NATIVE_AUTHOR_XPATHS, len_limit=AUTHOR_LENGTH_LIMIT)
    return normalize_authors(None, author) if author else None


def extract_author(tree: etree._Element) -> str | None:
    """What trafilatura.metadata.extract_author(tree) returns; `tree` is left as it was."""
    if AUTHOR_SELECTIONS is None or AUTHOR_DISCARD_SELECTIONS is None:
        return native_xpath_extract_author(tree)
    if tree.getparent() is not None:  # `//` searches the whole document, not `tree`
        return native_xpath_extract_author(tree)
    found = select_all(tree, AUTHOR_SELECTIONS + AUTHOR_DISCARD_SELECTIONS)
    candidates_by_expression = found[: len(AUTHOR_SELECTIONS)]
    discarded = {element for selected in found[len(AUTHOR_SELECTIONS) :] for element in selected}
    holding_discarded: set[etree._Element] = set()  # ancestors of a discarded element
    for element in discarded:
        for ancestor in element.iterancestors():
            if ancestor in holding_discarded:
                break
            holding_discarded.add(ancestor)
    # A child-text test (`rel='me'`) over a child that loses a discarded element in the copy
    text_tested = {tag for chosen in AUTHOR_SELECTIONS for tag, _ in chosen.child_texts}
    if any(element.tag in text_tested for element in holding_discarded):
        return native_xpath_extract_author(tree)
    for candidates in candidates_by_expression:
        for candidate in candidates:
            if candidate in discarded or any(
                ancestor in discarded for ancestor in candidate.iterancestors()
            ):
                continue  # not in trafilatura's pruned copy
            if candidate in holding_discarded:
                return native_xpath_extract_author(tree)  # its text differs in the copy
            content = trim(" ".join(candidate.itertext()))
            if content and 2 < len(content) < AUTHOR_LENGTH_LIMIT:
                return normalize_authors(None, content)
    return None
