"""trafilatura's XPaths without EXSLT regular expressions, where that changes no answer.

lxml evaluates `re:test(@class, 'a|b')` with a Python callback on every node it tests; most of
trafilatura's patterns are alternations of literals, which native XPath string functions test
in C: `re:test(@class, '^[Cc]omments|comment-?list')` is `starts-with(@class, 'Comments') or
starts-with(@class, 'comments') or contains(@class, 'commentlist') or contains(@class,
'comment-list')`. A call whose pattern is anything else (lookahead, `\\s`, `$`, flags), or whose
first argument is not one attribute (`@id|@class` tests whichever of the two comes first in the
tag), stays a regular expression.
"""

from __future__ import annotations

import re
import re._parser as regex_parser
from re._constants import AT, AT_BEGINNING, BRANCH, IN, LITERAL, MAX_REPEAT, MIN_REPEAT, SUBPATTERN

from lxml import etree

REGEXP_NAMESPACE = "http://exslt.org/regular-expressions"
# re:test(@attribute, 'pattern') with no flags: the only form translated.
_REGEX_TEST = re.compile(r"re:test\(\s*(@[\w:.-]+)\s*,\s*'([^']*)'\s*\)")
# Anchors the literal at the start of the value; the attribute values lxml hands XPath never
# hold NUL, so it cannot clash with a literal character.
_START = "\x00"
# More alternatives than this and the disjunction is not worth it.
_MAX_LITERALS = 64


class _NotLiteralsError(Exception):
    """The pattern matches more than a finite set of literal strings."""


def _expand(items) -> set[str]:
    """Every string a parsed regex sequence matches; _START marks a `^`."""
    strings = {""}
    for op, argument in items:
        if op is LITERAL:
            options = {chr(argument)}
        elif op is AT and argument is AT_BEGINNING:
            options = {_START}
        elif op is IN and all(kind is LITERAL for kind, _ in argument):
            options = {chr(code) for _, code in argument}
        elif op is BRANCH:
            options = set().union(*(_expand(branch) for branch in argument[1]))
        elif op is SUBPATTERN and not argument[1] and not argument[2]:
            options = _expand(argument[3])
        elif op in (MAX_REPEAT, MIN_REPEAT) and argument[:2] == (0, 1):
            options = {""} | _expand(argument[2])
        else:
            raise _NotLiteralsError(op)
        strings = {prefix + option for prefix in strings for option in options}
        if len(strings) > _MAX_LITERALS:
            raise _NotLiteralsError("too many alternatives")
    return strings


def pattern_literals(pattern: str) -> list[tuple[bool, str]] | None:
    """[(anchored at the start, literal)] that a regex search for `pattern` amounts to, or
    None when it is not such an alternation."""
    try:
        parsed = regex_parser.parse(pattern)
        if parsed.state.flags & ~re.UNICODE:  # (?i), (?m), ... for the whole pattern
            return None
        strings = _expand(parsed)
    except (_NotLiteralsError, re.error):
        return None
    literals = []
    for string in sorted(strings):
        anchored = string.startswith(_START)
        literal = string[1:] if anchored else string
        if _START in literal:  # a `^` after the start of an alternative
            return None
        literals.append((anchored, literal))
    return literals


def _xpath_string(literal: str) -> str | None:
    if "'" not in literal:
        return f"'{literal}'"
    if '"' not in literal:
        return f'"{literal}"'
    return None


def _native_test(match: re.Match) -> str:
    attribute, pattern = match[1], match[2]
    literals = pattern_literals(pattern)
    if literals is None:
        return match[0]
    terms = []
    for anchored, literal in literals:
        quoted = _xpath_string(literal)
        if quoted is None:
            return match[0]
        terms.append(f"{'starts-with' if anchored else 'contains'}({attribute}, {quoted})")
    if any(not literal for _, literal in literals):
        return "(" + " or ".join(terms) + ")"
    # No literal matches a missing attribute: nodes without it skip the tests.
    return f"({attribute} and (" + " or ".join(terms) + "))"


def native_expression(path: str) -> str:
    """The XPath source with every translatable re:test call in native XPath."""
    return _REGEX_TEST.sub(_native_test, path)


def native_xpath(expression: etree.XPath) -> etree.XPath:
    """The same selection as `expression`, without the regex callbacks it can do without."""
    path = native_expression(expression.path)
    if path == expression.path:
        return expression
    return etree.XPath(path, namespaces={"re": REGEXP_NAMESPACE})
