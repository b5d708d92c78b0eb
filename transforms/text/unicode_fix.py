"""Unicode repair and normalization of article text (ftfy, NFC, quotes, dashes, spaces).

ftfy's default fixes cost about 2.5 ms on a 5,000-character article, mostly scanning for
characters that are not there: its mojibake regex runs over the whole text and three fixes are
`str.translate` calls with Python dict tables. Here each of those steps runs only when the text
holds a character it acts on, which gives the same output at a fraction of the cost
(`tests/test_unicode_fix.py` checks both on a corpus).
"""

from __future__ import annotations

import re
import unicodedata

import ftfy
from ftfy import badness, chardata
from ftfy import fixes as ftfy_fixes

_QUOTES = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4\u0060", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
}
# Dashes and minus signs -> "-"; ellipsis -> "..."; invisible characters removed.
_DASHES = {
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-"),
    "\u2026": "...",
}
_INVISIBLE = dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", "")
_PUNCTUATION = {**_QUOTES, **_DASHES, **_INVISIBLE}
_PUNCTUATION_CHARS = re.compile("[" + re.escape("".join(_PUNCTUATION)) + "]")
_SPACES = re.compile(r"[^\S\n]+")
# ftfy steps that undo a wrong decoding, as opposed to cosmetic ones (entities, ligatures).
_MOJIBAKE_STEPS = {
    "encode",
    "decode",
    "transcode",
    "decode_inconsistent_utf8",
    "restore_byte_a0",
    "replace_lossy_sequences",
    "fix_c1_controls",
}


def _any_of(codepoints) -> re.Pattern:
    return re.compile("[" + re.escape("".join(map(chr, codepoints))) + "]")


# The characters each table-driven ftfy fix acts on, from ftfy's own tables.
_LIGATURE_CHARS = _any_of(chardata.LIGATURES)
_WIDE_CHARS = _any_of(chardata.WIDTH_MAP)
_CONTROL_CHARS = _any_of(chardata.CONTROL_CHARS)
# Every match of ftfy's mojibake regex is a run of non-ASCII characters with at most two ASCII
# characters around it; non-ASCII runs closer than five characters stay in one window.
# The regex finds a window's non-ASCII core (it starts with a non-ASCII character, so the
# search skips ASCII text in C); the two characters each side are added by slicing.
_NON_ASCII_CORE = re.compile(r"[^\x00-\x7f]+(?:[\x00-\x7f]{1,4}[^\x00-\x7f]+)*")
_WINDOW_MARGIN = 2


def non_ascii_windows(text: str) -> list[str]:
    """The runs of non-ASCII characters (those closer than five characters joined) with up to
    two characters either side. Cores are at least five ASCII characters apart, so no two
    windows overlap."""
    return [
        text[max(0, start - _WINDOW_MARGIN) : end + _WINDOW_MARGIN]
        for start, end in (match.span() for match in _NON_ASCII_CORE.finditer(text))
    ]


def could_be_mojibake(text: str) -> bool:
    """ftfy's `is_bad(text)`, computed on the windows around non-ASCII characters only."""
    if text.isascii():
        return False
    return badness.is_bad("\x00".join(non_ascii_windows(text)))


# Characters one of ftfy's other steps acts on: "&" (HTML entities), C1 controls, "\r" and
# Unicode line separators, surrogates, ESC (terminal escapes), ligatures, wide characters and
# control characters. Text with none of them, no mojibake and in NFC, ftfy returns unchanged.
_FTFY_STEP_CHARS = re.compile(
    "[&\r\x1b\u2028\u2029\x80-\x9f\ud800-\udfff"
    + re.escape(
        "".join(map(chr, (*chardata.LIGATURES, *chardata.WIDTH_MAP, *chardata.CONTROL_CHARS)))
    )
    + "]"
)


def _ftfy_config(text: str, mojibake: bool) -> ftfy.TextFixerConfig:
    """ftfy's defaults (quotes left curly: we straighten them ourselves), minus the steps that
    would find nothing to do in this text."""
    if mojibake:
        # A decoding fix may produce characters that other steps act on: run them all.
        return ftfy.TextFixerConfig(uncurl_quotes=False)
    return ftfy.TextFixerConfig(
        uncurl_quotes=False,
        fix_encoding=False,
        fix_latin_ligatures=_LIGATURE_CHARS.search(text) is not None,
        fix_character_width=_WIDE_CHARS.search(text) is not None,
        remove_control_chars=_CONTROL_CHARS.search(text) is not None,
    )


_SURROGATE = re.compile("[\ud800-\udfff]")


def _as_ftfy_decodes_it(text: str) -> str:
    """The text as ftfy's mojibake step sees it: after the steps ftfy runs before it, which
    can bring non-ASCII characters together ("é\x1b[31m\ud800": surrogates replaced, the
    escape removed, "é" then U+FFFD is mojibake)."""
    if _SURROGATE.search(text):
        text = ftfy_fixes.fix_surrogates(text)
    if "&" in text:
        text = ftfy_fixes.unescape_html(text)
    if "\x1b" in text:
        text = ftfy_fixes.remove_terminal_escapes(text)
    return text


def fix_unicode(text: str) -> tuple[str, list[str]]:
    """Mojibake repaired (ftfy), quotes straightened, dashes unified, NFC; and what changed."""
    fixes: list[str] = []
    mojibake = could_be_mojibake(_as_ftfy_decodes_it(text))
    if (
        not mojibake
        and not _FTFY_STEP_CHARS.search(text)
        and unicodedata.is_normalized("NFC", text)
    ):
        repaired, explanation = text, []  # what ftfy would return, at the cost of one search
    else:
        repaired, explanation = ftfy.fix_and_explain(text, config=_ftfy_config(text, mojibake))
    if repaired != text:
        steps = {part for step in explanation or () for part in step}
        fixes.append("mojibake" if steps & _MOJIBAKE_STEPS else "unicode_repaired")
    found = set(_PUNCTUATION_CHARS.findall(repaired))
    if found:
        if found & _QUOTES.keys():
            fixes.append("quotes_unified")
        if found & _DASHES.keys():
            fixes.append("dashes_unified")
        repaired = _PUNCTUATION_CHARS.sub(lambda match: _PUNCTUATION[match.group()], repaired)
    if not unicodedata.is_normalized("NFC", repaired):
        repaired = unicodedata.normalize("NFC", repaired)
    return repaired, fixes


def normalize_whitespace(line: str) -> str:
    """Runs of spaces, tabs and non-breaking spaces -> one space; no leading/trailing space."""
    return _SPACES.sub(" ", line).strip()
