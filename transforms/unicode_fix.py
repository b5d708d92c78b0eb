"""Unicode repair and normalization of article text (ftfy, NFC, quotes, dashes, spaces)."""

from __future__ import annotations

import re
import unicodedata

import ftfy

_QUOTES = {
    **dict.fromkeys(map(ord, "\u2018\u2019\u201a\u201b\u2032\u00b4\u0060"), "'"),
    **dict.fromkeys(map(ord, "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"), '"'),
}
# Dashes and minus signs -> "-"; ellipsis -> "..."; invisible characters removed.
_DASHES = dict.fromkeys(
    map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), "-"
)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
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


def fix_unicode(text: str) -> tuple[str, list[str]]:
    """Mojibake repaired (ftfy), quotes straightened, dashes unified, NFC; and what changed."""
    fixes: list[str] = []
    repaired, explanation = ftfy.fix_and_explain(text, uncurl_quotes=False)
    if repaired != text:
        steps = {part for step in explanation or () for part in step}
        fixes.append("mojibake" if steps & _MOJIBAKE_STEPS else "unicode_repaired")
    quoted = repaired.translate(_QUOTES)
    if quoted != repaired:
        fixes.append("quotes_unified")
    dashed = quoted.translate(_DASHES).replace("\u2026", "...")
    if dashed != quoted:
        fixes.append("dashes_unified")
    cleaned = unicodedata.normalize("NFC", dashed.translate(_INVISIBLE))
    return cleaned, fixes


def normalize_whitespace(line: str) -> str:
    """Runs of spaces, tabs and non-breaking spaces -> one space; no leading/trailing space."""
    return _SPACES.sub(" ", line).strip()
