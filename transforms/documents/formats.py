"""Input format detection and byte decoding: pure functions, no Beam.

The format is decided from the extension and confirmed by the content. When they disagree the
content wins and the record says so (`detected_by`), so nothing is guessed silently.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer
import filetype

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


# Compound File Binary (OLE2): .doc, .xls, .ppt, .msg of Office 97-2003.
_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
# Signatures made only of printable ASCII ("BM" of BMP, "CWS" of Flash, "%!" of PostScript)
# also start ordinary text ("BMW said..."): such a guess counts only with binary bytes near.
_BINARY_EVIDENCE_BYTES = 512
_STRONG_TEXT_SIGNATURES = (b"%PDF-",)
_CONTROL_BYTES_RE = re.compile(b"[" + re.escape(_CONTROL_BYTES) + b"]")


def unsupported_format(head: bytes) -> str | None:
    """The kind of a binary format no article is read from ("pdf", "png", "docx", "ole",
    "zip", "tar", "7z", "rar", ...), by its magic bytes; None for anything else."""
    if head.startswith(_STRONG_TEXT_SIGNATURES):
        return "pdf"
    if head.startswith(_OLE_MAGIC):
        return "ole"
    # Binary evidence first: text has none, and filetype's ~80 matchers cost more than reading.
    if not _CONTROL_BYTES_RE.search(head[:_BINARY_EVIDENCE_BYTES]):
        return None
    kind = filetype.guess(head)
    return None if kind is None else kind.extension


# UTF-16 and UTF-32 text without a BOM: tried only on bytes that do not look like text as they
# are (ASCII text decodes as UTF-16 into valid CJK), judged on what the decoding gives.
_WIDE_ENCODINGS = ("utf-32-le", "utf-32-be", "utf-16-le", "utf-16-be")
_MIN_PRINTABLE_SHARE = 0.97
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts the same
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _printable_share(text: str) -> float:
    if not text:
        return 0.0
    printable = sum(map(str.isprintable, text)) + text.count("\n") + text.count("\t")
    return (printable + text.count("\r")) / len(text)


def _nuls_of_wide_text(sample: bytes) -> bool:
    """NULs as UTF-16/32 of mostly Latin text has them: a large share, at one place of nearly
    every 2- or 4-byte unit (stray NULs in text are few and anywhere)."""
    if sample.count(0) < 0.2 * len(sample):
        return False
    for width in (2, 4):
        for offset in range(width):
            column = sample[offset::width]
            if column and column.count(0) >= 0.9 * len(column):
                return True
    return False


def wide_text_encoding(head: bytes) -> str | None:
    """ "utf-16-le", "utf-32-be", ... for UTF-16/32 text (with or without a BOM), else None."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    sample = head[:_SNIFF_BYTES]
    if not looks_binary(sample):
        return None
    if not _nuls_of_wide_text(sample) and not looks_binary(sample.replace(b"\x00", b"")):
        return None  # text with stray NUL bytes
    best, best_ascii = None, -1
    for encoding in _WIDE_ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            text = decoder.decode(sample, final=False)  # a cut last char waits
        except UnicodeDecodeError:
            continue
        if "\x00" in text or _printable_share(text) < _MIN_PRINTABLE_SHARE:
            continue
        # The right byte order puts spaces, digits and punctuation in ASCII; the wrong one
        # makes them U+2000, U+0A00, ...
        ascii_chars = sum(1 for char in text if char < "\x80")
        if ascii_chars > best_ascii:
            best, best_ascii = encoding, ascii_chars
    return best


def as_utf8_text_bytes(payload: bytes) -> tuple[bytes, list[str]]:
    """Text bytes the rest of the pipeline reads as they are: UTF-16/32 (BOM or not)
    transcoded to UTF-8, NUL bytes removed when what is left is text. Returns the bytes and
    the fixes made (`transcoded_from:utf-16-le`, `nul_bytes_removed`); binary data unchanged.
    """
    fixes = []
    encoding = wide_text_encoding(payload[:_SNIFF_BYTES])
    if encoding is not None:
        body = payload
        for bom, bom_encoding in _BOMS:
            if bom_encoding == encoding and body.startswith(bom):
                body = body[len(bom) :]
        payload = body.decode(encoding, errors="replace").encode("utf-8")
        fixes.append(f"transcoded_from:{encoding}")
    if b"\x00" in payload:
        without = payload.replace(b"\x00", b"")
        if without.strip() and not looks_binary(without[:_SNIFF_BYTES]):
            payload = without
            fixes.append("nul_bytes_removed")
    return payload, fixes


def detect_format(name: str, head: bytes) -> tuple[str, str]:
    """(format, detected_by) of a file from its name and first bytes.

    Raises PipelineError("unsupported_format:KIND") for PDFs, images, Office files and
    archives, PipelineError("binary_content") for other binary data. UTF-16/32 text and text
    with NUL bytes are judged as `as_utf8_text_bytes` will pass them on.
    """
    kind = unsupported_format(head)
    if kind is not None:
        raise PipelineError(
            f"unsupported_format:{kind}", f"content is a {kind} file, not text, HTML, JSON or WARC"
        )
    head, _fixes = as_utf8_text_bytes(head)
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
