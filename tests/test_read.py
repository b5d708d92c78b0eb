import gzip
import io
import json
import os

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from transforms.read import expand_input_pattern, iter_file_documents, match_input_pattern
from transforms.records import RawDocument

HTML = b"<!DOCTYPE html><html><head><title>T</title></head><body><p>Hello</p></body></html>"


def documents_and_dead_letters(path, max_bytes=10_000):
    items = list(iter_file_documents(str(path), max_bytes))
    documents = [item for item in items if isinstance(item, RawDocument)]
    dead = [item for item in items if not isinstance(item, RawDocument)]
    return documents, dead


def test_plain_text_file(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text("An article.")
    (document,), dead = documents_and_dead_letters(path)
    assert dead == []
    assert document.input_format == "text"
    assert document.payload == b"An article."
    assert document.source_uri == str(path)


def test_gzipped_html_by_extension(tmp_path):
    path = tmp_path / "page.html.gz"
    path.write_bytes(gzip.compress(HTML))
    (document,), _ = documents_and_dead_letters(path)
    assert (document.input_format, document.payload) == ("html", HTML)


def test_gzip_without_gz_extension_is_recognised_by_magic(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(gzip.compress(HTML))
    (document,), _ = documents_and_dead_letters(path)
    assert document.payload == HTML


def test_json_lines_one_document_per_record_blank_lines_skipped(tmp_path):
    path = tmp_path / "dump.jsonl"
    path.write_text('{"text": "a"}\n\n{"text": "b"}\nnot json\n')
    documents, dead = documents_and_dead_letters(path)
    assert [d.source_uri.rsplit("#", 1)[1] for d in documents] == ["line=1", "line=3", "line=4"]
    assert dead == []  # the broken line fails later, in extract, with its line number


def test_json_line_over_the_size_limit_is_a_dead_letter(tmp_path):
    path = tmp_path / "dump.jsonl"
    path.write_text('{"text": "short"}\n' + json.dumps({"text": "x" * 500}) + "\n")
    documents, (dead,) = documents_and_dead_letters(path, max_bytes=100)
    assert len(documents) == 1
    assert dead["error_type"] == "too_large" and dead["source_uri"].endswith("#line=2")


def test_json_file_with_an_object_or_an_array(tmp_path):
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"text": "a"}, indent=2))
    array = tmp_path / "many.json"
    array.write_text(json.dumps([{"text": "a"}, {"text": "b"}], indent=2))
    (document,), _ = documents_and_dead_letters(single)
    assert json.loads(document.payload) == {"text": "a"}
    assert document.source_uri == str(single)
    documents, _ = documents_and_dead_letters(array)
    assert [d.source_uri.rsplit("#", 1)[1] for d in documents] == ["record=1", "record=2"]


def _warc_bytes():
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    for url, content_type, body in [
        ("http://news.example/a", "text/html; charset=utf-8", HTML),
        ("http://news.example/logo.png", "image/png", b"\x89PNG"),
    ]:
        headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
        writer.write_record(
            writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=headers
            )
        )
    return buffer.getvalue()


def test_warc_response_records_with_html_become_documents(tmp_path):
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(_warc_bytes())
    (document,), dead = documents_and_dead_letters(path)
    assert dead == []
    assert document.input_format == "warc"
    assert document.url == "http://news.example/a"
    assert document.payload == HTML


@pytest.mark.parametrize(
    ("content", "error_type"),
    [
        (b"", "empty_file"),
        (b"   \n\n", "empty_file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "unsupported_format:png"),
        (bytes(range(1, 256)), "binary_content"),
        (b"x" * 20_000, "too_large"),
    ],
)
def test_unreadable_files_raise_a_reason(tmp_path, content, error_type):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(Exception) as error:
        documents_and_dead_letters(path)
    assert error.value.error_type == error_type


def test_expand_input_pattern(tmp_path):
    assert expand_input_pattern(str(tmp_path)) == os.path.join(str(tmp_path), "**")
    assert expand_input_pattern("gs://bucket/x/*.html") == "gs://bucket/x/*.html"
    assert os.path.isabs(expand_input_pattern("relative/*.txt"))


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    ("size", "max_bytes", "fits"),
    [(500, 100, False), (500, 500, True), (5000, 4999, False), (5000, 5000, True)],
)
def test_size_limit_holds_below_and_above_the_sniffed_head(
    tmp_path, compress, size, max_bytes, fits
):
    content = (b"word " * size)[:size]
    path = tmp_path / ("doc.txt.gz" if compress else "doc.txt")
    path.write_bytes(gzip.compress(content) if compress else content)
    if fits:
        (document,), dead = documents_and_dead_letters(path, max_bytes=max_bytes)
        assert dead == [] and document.payload == content
    else:
        with pytest.raises(Exception) as error:
            documents_and_dead_letters(path, max_bytes=max_bytes)
        assert error.value.error_type == "too_large"


def test_a_plain_path_matches_as_beams_file_match_does(tmp_path):
    from apache_beam.io.filesystems import FileSystems

    (tmp_path / "a.txt").write_text("one")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("two two")
    patterns = [
        str(tmp_path / "a.txt"),  # looked up directly
        str(tmp_path / "missing.txt"),
        str(tmp_path / "*.txt"),  # globs go through FileSystems.match
        expand_input_pattern(str(tmp_path)),
    ]
    for pattern in patterns:
        expected = FileSystems.match([pattern])[0].metadata_list
        assert match_input_pattern(pattern) == expected, pattern
    assert [m.size_in_bytes for m in match_input_pattern(str(tmp_path / "a.txt"))] == [3]
