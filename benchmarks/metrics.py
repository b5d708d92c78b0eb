"""Text-quality metrics shared by the benchmarks: 4-gram shingle F1 and case accuracy."""

from __future__ import annotations

import difflib
import re
from collections import Counter

_WORD = re.compile(r"\w+")


def shingles(text: str, size: int = 4) -> Counter:
    """Case-sensitive shingles of `size` consecutive \\w+ tokens (fewer tokens: one shingle)."""
    tokens = _WORD.findall(text or "")
    if not tokens:
        return Counter()
    if len(tokens) < size:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


def shingle_prf(predicted: str, expected: str, size: int = 4) -> tuple[float, float, float]:
    """(precision, recall, F1) of predicted against expected shingles, as the scrapinghub
    article-extraction-benchmark computes them per page; both empty counts as perfect."""
    got, want = shingles(predicted, size), shingles(expected, size)
    if not got and not want:
        return 1.0, 1.0, 1.0
    if not got or not want:
        return 0.0, 0.0, 0.0
    overlap = sum((got & want).values())
    precision = overlap / sum(got.values())
    recall = overlap / sum(want.values())
    f1 = 2 * precision * recall / (precision + recall) if overlap else 0.0
    return precision, recall, f1


def case_accuracy(restored: str, original: str) -> float:
    """Share of the original's word tokens whose exact casing the restored text has.

    Tokens are aligned on their lowercase form, so a changed word counts as wrong, not as a
    shift of every later token.
    """
    want = _WORD.findall(original)
    got = _WORD.findall(restored)
    if not want:
        return 1.0
    matcher = difflib.SequenceMatcher(
        a=[token.lower() for token in want], b=[token.lower() for token in got], autojunk=False
    )
    correct = 0
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            correct += want[block.a + offset] == got[block.b + offset]
    return correct / len(want)
