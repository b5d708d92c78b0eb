"""Input format detection and byte decoding: pure functions, no Beam.

The format is decided from the extension and confirmed by the content. When they disagree the
content wins and the record says so (`detected_by`), so nothing is guessed silently.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from transforms.records import FORMAT_HTML, FORMAT_JSONL, FORMAT_TEXT, FORMAT_WARC, PipelineError

COMPRESSION_SUFFIXES = (".gz", ".gzip", ".bz2", ".zst", ".deflate")
GZIP_MAGIC = b"\x1f\x8b"

_EXTENSION_FORMATS = {
    ".txt": FORMAT_TEXT,
    ".text": FORMAT_TEXT,
    ".md": FORMAT_TEXT,
    ".html": FORMAT_HTML,
    ".htm": FORMAT_HTML,
    ".xhtml": FORMAT_HTML,
    ".jsonl": FORMAT_JSONL,
    ".ndjson": FORMAT_JSONL,
    ".json": FORMAT_JSONL,
    ".warc": FORMAT_WARC,
}

_PREFERRED_ON_TIE = ("cp1252", "latin_1", "iso8859_15", "cp1251", "shift_jis", "gb18030")

_HTML_START = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S
)
_HTML_TAGS = re.compile(rb"<(html|head|body|div|p|article|meta|title)\b[^>]*>", re.I)
_JSON_START = re.compile(rb"\s*(\{|\[\s*[{\]])")
_SNIFF_BYTES = 4096
# Control bytes that text never holds (tab, newlines, form feed and escape are text).
_CONTROL_BYTES = bytes(byte for byte in range(32) if byte not in (9, 10, 12, 13, 27))


def strip_compression_suffix(name: str) -> str:
    lower = name.lower()
    for suffix in COMPRESSION_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def format_from_extension(name: str) -> str | None:
    base = strip_compression_suffix(name).lower().rsplit("/", 1)[-1]
    if "." not in base:
        return None
    return _EXTENSION_FORMATS.get("." + base.rsplit(".", 1)[-1])


def format_from_content(head: bytes) -> str | None:
    """The format the first bytes show, or None when they show nothing particular (plain text)."""
    head = head[:_SNIFF_BYTES].lstrip(codecs.BOM_UTF8)
    if head.startswith(b"WARC/"):
        return FORMAT_WARC
    if _HTML_START.match(head) or len(_HTML_TAGS.findall(head)) >= 3:
        return FORMAT_HTML
    if _JSON_START.match(head):
        return FORMAT_JSONL
    return None


def looks_binary(head: bytes) -> bool:
    """True for bytes that are no text in any encoding (images, executables, archives)."""
    sample = head[:_SNIFF_BYTES]
    if not sample:
        return False
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))  # counted in C
    return controls / len(sample) > 0.05


def detect_format(name: str, head: bytes) -> tuple[str, str]:
    """(format, detected_by) of a file from its name and first bytes.

    Raises PipelineError("binary_content") for binary data.
    """
    if looks_binary(head):
        raise PipelineError("binary_content", "content is binary, not text, HTML, JSON or WARC")
    by_extension = format_from_extension(name)
    by_content = format_from_content(head)
    if by_extension is None:
        return by_content or FORMAT_TEXT, "content"
    if by_content is None:
        if by_extension in (FORMAT_HTML, FORMAT_TEXT):
            # Plain text saved as .html, or an HTML fragment with few tags: both extract.
            return by_extension, "extension"
        raise PipelineError(
            "format_mismatch",
            f"extension says {by_extension} but the content does not look like it",
        )
    if by_content == by_extension:
        return by_extension, "extension+content"
    if by_extension == FORMAT_JSONL and by_content == FORMAT_HTML:
        raise PipelineError("format_mismatch", "extension says JSON lines but the content is HTML")
    return by_content, "content"


def decode_text(payload: bytes) -> tuple[str, str]:
    """(text, encoding) of raw bytes: BOM, then strict UTF-8, then charset detection."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if payload.startswith(bom):
            return payload.decode(encoding, errors="replace"), encoding
    try:
        return payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    matches = list(charset_normalizer.from_bytes(payload))
    if not matches:
        raise PipelineError("undecodable_text", "no text encoding fits these bytes")
    best = matches[0]
    # Single-byte code pages often fit equally well; then the one most used on the web wins.
    tied = [m for m in matches if m.chaos <= best.chaos and m.coherence >= best.coherence - 0.01]
    for encoding in _PREFERRED_ON_TIE:
        for match in tied:
            if match.encoding == encoding:
                return str(match), match.encoding
    return str(best), best.encoding
