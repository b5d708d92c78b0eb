"""Tokenized wire text (`moscow ( reuters ) - u.s. president ... mueller s office .`) -> prose."""

from __future__ import annotations

import re

# Punctuation alone between spaces (or at the start), and punctuation right after a word: both
# counted by findall. Each pattern starts with the punctuation and looks behind from there, so
# the search skips to punctuation in C (same counts as "(?:^|\s)[...]" and "\w[...]").
_SPACED_PUNCT = re.compile(r"[,.;:!?%)\]}](?:(?<=\s[,.;:!?%)\]}])|(?<=\A[,.;:!?%)\]}]))(?=\s|$)")
_ATTACHED_PUNCT = re.compile(r"[,.;:!?)\]](?<=\w[,.;:!?)\]])")
_OPEN_SPACE = re.compile(r"([(\[{$#]) ")
_SPACE_CLOSE = re.compile(r" ([,.;:!?%)\]}])")
_SPLIT_CONTRACTION = re.compile(r"(\w) (n't|'s|'re|'ve|'ll|'d|'m)\b", re.IGNORECASE)
# Contractions whose apostrophe was dropped: "it s", "don t", "i m", "we re", "they ve".
_BARE_S = re.compile(r"\b(\w+) s\b(?!-)")
_BARE_NT = re.compile(
    r"\b(do|does|did|is|are|was|were|has|have|had|ca|can|could|would|should|wo|must|need|ai"
    r"|might)n? t\b",
    re.IGNORECASE,
)
_BARE_PRONOUN = re.compile(
    r"\b(i|you|we|they|he|she|it|that|there|who|what) (m|re|ve|ll|d)\b", re.IGNORECASE
)
_PTB_QUOTES = re.compile(r"``|''")
_QUOTED = re.compile(r'" ([^"]*?) "')
_NUMBER_COMMA = re.compile(r"(\d) , (\d{3})\b")

_MIN_PUNCTUATION = 3


def looks_tokenized(text: str) -> bool:
    """True when most punctuation stands alone between spaces, as tokenizers leave it."""
    spaced = len(_SPACED_PUNCT.findall(text))
    attached = len(_ATTACHED_PUNCT.findall(text))
    return spaced >= _MIN_PUNCTUATION and spaced > 2 * attached


def _nt(match: re.Match) -> str:
    stem = match.group(1)
    if stem.lower() == "ca":
        stem = stem + "n"  # "ca n't" -> "can't"
    return f"{stem}n't"


def detokenize_line(line: str) -> str:
    """Undo tokenization of one line: punctuation, brackets, quotes and contractions."""
    text = _PTB_QUOTES.sub('"', line)
    text = _NUMBER_COMMA.sub(r"\1,\2", text)
    text = _SPLIT_CONTRACTION.sub(r"\1\2", text)
    text = re.sub(r"\bn't\b", "n't", text)
    text = _BARE_NT.sub(_nt, text)
    text = _BARE_PRONOUN.sub(r"\1'\2", text)
    text = _BARE_S.sub(r"\1's", text)
    text = _QUOTED.sub(r'"\1"', text)
    text = _OPEN_SPACE.sub(r"\1", text)
    text = _SPACE_CLOSE.sub(r"\1", text)
    return " ".join(text.split())


def detokenize(text: str) -> str:
    return "\n".join(detokenize_line(line) for line in text.split("\n"))
