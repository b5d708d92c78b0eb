"""Boilerplate lines: fixed rules from one data table, repeated titles, lines learned per source."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import re
from functools import lru_cache
from importlib import resources

RULES_FILE = "boilerplate_rules.tsv"
# Lines longer than this are prose, whatever they start with: rules never remove them.
MAX_BOILERPLATE_LINE_CHARS = 500
# A "tail" heading cuts the rest of the text only when at least this share of it comes before:
# related-links blocks follow the article; earlier, the heading may be an inline box mid-story.
TAIL_MIN_SHARE_BEFORE = 2 / 3
# trafilatura writes list items as "- item": rules match the item without its marker.
_LIST_MARKERS = "-*•·"
_LIST_MARKER = re.compile(rf"^[{_LIST_MARKERS}]\s+")


@dataclasses.dataclass(frozen=True)
class Rule:
    rule_id: str
    kind: str  # "line", "suffix" or "tail"
    pattern: re.Pattern
    # Lowercase words of which every line the pattern matches holds one (any case): a line
    # without any is not matched against the pattern. Empty: every line is.
    requires: tuple[str, ...] = ()
    # The same words as one case-insensitive regex (with the pattern's own case rules), for
    # lines that are not ASCII.
    requires_pattern: re.Pattern | None = None


def parse_rules(lines) -> tuple[Rule, ...]:
    rows = csv.reader((line for line in lines if not line.startswith("#")), delimiter="\t")
    header = next(rows)
    if header not in (["rule_id", "kind", "pattern"], ["rule_id", "kind", "pattern", "requires"]):
        raise ValueError(f"unexpected rules header {header}")
    rules = []
    for rule_id, kind, pattern, *rest in rows:
        requires = tuple(word for word in (rest[0] if rest else "").split("|") if word)
        if any(word != word.lower() for word in requires):
            raise ValueError(f"rule {rule_id}: required words must be lowercase")
        if kind in ("line", "tail"):
            compiled = re.compile(rf"(?:{pattern})", re.IGNORECASE)
        elif kind == "suffix":
            compiled = re.compile(rf"(?:{pattern})$", re.IGNORECASE)
        else:
            raise ValueError(f"rule {rule_id}: unknown kind {kind!r}")
        requires_pattern = (
            re.compile("|".join(map(re.escape, requires)), re.IGNORECASE) if requires else None
        )
        rules.append(Rule(rule_id, kind, compiled, requires, requires_pattern))
    return tuple(rules)


@lru_cache(maxsize=1)
def default_rules() -> tuple[Rule, ...]:
    text = resources.files("transforms.data").joinpath(RULES_FILE).read_text(encoding="utf-8")
    return parse_rules(text.splitlines())


def strip_boilerplate_line(line: str, rules: tuple[Rule, ...]) -> tuple[str, str | None]:
    """(what is left of the line, id of the rule that fired or None). '' means drop the line."""
    stripped = line.strip()
    if len(stripped) > MAX_BOILERPLATE_LINE_CHARS:
        return line, None
    fired = None
    lowered = _ascii_lowered(stripped)
    suffix_rules, whole_line_rules = _rules_by_kind(rules)
    for rule in suffix_rules:
        if rule.requires and not _may_match(rule, stripped, lowered):
            continue
        # search() first: most lines end with no suffix, and sub() costs more to find that out.
        if rule.pattern.search(stripped):
            stripped, fired = rule.pattern.sub("", stripped).strip(), rule.rule_id
            lowered = _ascii_lowered(stripped)
    # (Most lines start with no list marker: the regex only runs on those that may.)
    unmarked = _LIST_MARKER.sub("", stripped) if stripped[:1] in _LIST_MARKERS else stripped
    marked = unmarked != stripped  # most lines have no list marker: one form to match
    for rule in whole_line_rules:
        # (The unmarked line is part of the line: what the line lacks, it lacks too.)
        if rule.requires and not _may_match(rule, stripped, lowered):
            continue
        if rule.pattern.fullmatch(stripped) or (marked and rule.pattern.fullmatch(unmarked)):
            return "", rule.rule_id
    return (stripped, fired) if fired else (line, None)


# {id(rules): (rules, suffix rules, line and tail rules)}: keyed by identity, as hashing the
# rules (their patterns) on every line costs more than the split it saves.
_BY_KIND: dict[int, tuple] = {}


def _rules_by_kind(rules: tuple[Rule, ...]) -> tuple[tuple[Rule, ...], tuple[Rule, ...]]:
    """(suffix rules, line and tail rules), each in the table's order."""
    entry = _BY_KIND.get(id(rules))
    if entry is None or entry[0] is not rules:
        if len(_BY_KIND) > 16:
            _BY_KIND.clear()
        entry = _BY_KIND[id(rules)] = (
            rules,
            tuple(rule for rule in rules if rule.kind == "suffix"),
            tuple(rule for rule in rules if rule.kind != "suffix"),
        )
    return entry[1], entry[2]


def _ascii_lowered(text: str) -> str | None:
    """The text lowercased when it is ASCII, else None. Only then does `in` on it agree with a
    case-insensitive regex: re.IGNORECASE also matches "ı", "İ" to "i", "ſ" to "s", "K" to "k"."""
    return text.lower() if text.isascii() else None


def _may_match(rule: Rule, line: str, lowered: str | None) -> bool:
    """False when the line holds none of the words the rule requires, so cannot match it."""
    if lowered is not None:  # ASCII: plain substring tests on the lowercased line
        for word in rule.requires:  # noqa: SIM110 - any() and its generator cost more
            if word in lowered:
                return True
        return False
    if rule.requires_pattern is None:
        return True
    return rule.requires_pattern.search(line) is not None


def tail_start(lines: list[str], rules: tuple[Rule, ...]) -> int | None:
    """Index of the first "tail" heading past TAIL_MIN_SHARE_BEFORE of the text, or None."""
    tails = [rule for rule in rules if rule.kind == "tail"]
    if not tails:
        return None
    total = sum(len(line) for line in lines)
    before = 0
    for index, line in enumerate(lines):
        if before >= TAIL_MIN_SHARE_BEFORE * total:
            stripped = _LIST_MARKER.sub("", line.strip())
            if len(stripped) <= MAX_BOILERPLATE_LINE_CHARS and any(
                rule.pattern.fullmatch(stripped) for rule in tails
            ):
                return index
        before += len(line)
    return None


def remove_boilerplate_lines(
    lines: list[str], rules: tuple[Rule, ...] | None = None
) -> tuple[list[str], int]:
    """Lines without boilerplate, and how many lines were removed or cut."""
    rules = default_rules() if rules is None else rules
    kept: list[str] = []
    changed = 0
    cut = tail_start(lines, rules)
    if cut is not None:
        changed += len(lines) - cut
        lines = lines[:cut]
    for line in lines:
        result, fired = strip_boilerplate_line(line, rules)
        if fired:
            changed += 1
        if result.strip():
            kept.append(result)
    return kept, changed


_NON_WORD = re.compile(r"\W+")
# ASCII characters that are not word characters (\W): deleted from ASCII text by bytes.translate.
_ASCII_NON_WORD = bytes(byte for byte in range(128) if _NON_WORD.match(chr(byte)))


def title_key(text: str) -> str:
    """Case-, space- and punctuation-insensitive form of a title, for comparing lines to it."""
    folded = text.casefold()
    if folded.isascii():  # most lines: the same deletion, in C without the regex engine
        return folded.encode("ascii").translate(None, _ASCII_NON_WORD).decode("ascii")
    return _NON_WORD.sub("", folded)


def remove_repeated_title(
    lines: list[str], title: str | None, max_leading: int = 3
) -> tuple[list[str], int]:
    """Drop copies of the title among the first `max_leading` lines of the body."""
    if not title or not title_key(title):
        return lines, 0
    key = title_key(title)
    head = [line for line in lines[:max_leading] if title_key(line) != key]
    removed = min(max_leading, len(lines)) - len(head)
    return head + lines[max_leading:], removed


def line_fingerprint(line: str) -> str:
    """Hash of a line's letters and digits, casefolded: what per-source learning counts.

    Quotes, dashes and spaces do not count, so the raw and the cleaned line match.
    """
    return hashlib.blake2b(title_key(line).encode("utf-8"), digest_size=8).hexdigest()
