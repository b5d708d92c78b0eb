import codecs
import gzip

import pytest

from transforms.documents.formats import (
    decode_text,
    detect_format,
    format_from_content,
    format_from_extension,
    looks_binary,
    strip_compression_suffix,
)
from transforms.records import PipelineError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a/b/story.txt", "text"),
        ("story.HTML", "html"),
        ("page.htm.gz", "html"),
        ("dump.jsonl.gz", "jsonl"),
        ("one.json", "jsonl"),
        ("crawl.warc.gz", "warc"),
        ("README", None),
        ("image.png", None),
    ],
)
def test_format_from_extension(name, expected):
    assert format_from_extension(name) == expected


def test_strip_compression_suffix():
    assert strip_compression_suffix("x.html.gz") == "x.html"
    assert strip_compression_suffix("x.html") == "x.html"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"<!DOCTYPE html><html><head>", "html"),
        (codecs.BOM_UTF8 + b"<html lang='en'>", "html"),
        (b"<?xml version='1.0'?>\n<html>", "html"),
        (b"WARC/1.0\r\nWARC-Type: warcinfo", "warc"),
        (b'{"url": "http://x", "text": "y"}\n', "jsonl"),
        (b"Just a plain article. It has words.", None),
        (b"Text that mentions <p> once is still text.", None),
    ],
)
def test_format_from_content(head, expected):
    assert format_from_content(head) == expected


def test_content_wins_over_a_wrong_extension_and_says_so():
    assert detect_format("story.txt", b"<html><body><p>x</p></body></html>") == ("html", "content")


def test_extension_and_content_agreeing():
    assert detect_format("page.html", b"<html><body>") == ("html", "extension+content")


def test_unknown_extension_is_decided_by_content():
    assert detect_format("README", b"plain words") == ("text", "content")
    assert detect_format("data", b'{"text": "x"}') == ("jsonl", "content")


def test_jsonl_extension_with_prose_is_a_mismatch_not_a_guess():
    with pytest.raises(PipelineError) as error:
        detect_format("dump.jsonl", b"this is not json at all")
    assert error.value.error_type == "format_mismatch"


@pytest.mark.parametrize(
    "head, reason",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "unsupported_format:png"),
        (gzip.compress(b"x" * 100), "unsupported_format:gz"),
        (bytes(range(256)), "binary_content"),
    ],
)
def test_binary_content_is_refused(head, reason):
    assert looks_binary(head)
    with pytest.raises(PipelineError) as error:
        detect_format("file.txt", head)
    assert error.value.error_type == reason


def test_utf16_with_bom_is_not_binary():
    assert not looks_binary("héllo wörld".encode("utf-16"))


def test_decode_text_utf8_latin1_and_bom():
    assert decode_text("naïve café".encode()) == ("naïve café", "utf-8")
    assert decode_text(codecs.BOM_UTF8 + b"abc")[0] == "abc"
    text, encoding = decode_text(
        "Les élèves ont étudié à l'école française pendant des années.".encode("latin-1")
    )
    assert "élèves" in text and encoding != "utf-8"
    assert decode_text("привет".encode("utf-16"))[0] == "привет"
