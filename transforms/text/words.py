"""Counting words in any script."""

from __future__ import annotations

import re

# Scripts written without spaces between words: each character counts as a word (CJK
# ideographs, Japanese kana, Thai). Hangul is written with spaces and is not listed.
_UNSPACED_CHARACTER = re.compile(
    "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f\U00020000-\U0002fa1f]"
)


def count_words(text: str) -> int:
    """Whitespace-separated words, where each character of an unspaced script counts as one
    word (so `--min_words` means about as much text in Chinese as in English)."""
    if text.isascii():  # no unspaced script: checked in C at memory speed
        return len(text.split())
    unspaced = len(_UNSPACED_CHARACTER.findall(text))
    if not unspaced:
        return len(text.split())
    spaced = len(_UNSPACED_CHARACTER.sub(" ", text).split())
    return spaced + unspaced
