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


def _jsonl_with_blank_and_oversized_lines(path):
    lines = [
        json.dumps({"title": f"T{index}", "text": "word " * (index % 9)}) for index in range(40)
    ]
    lines[7] = ""  # a blank line
    lines[21] = json.dumps({"text": "x" * 500})  # over max_bytes below
    path.write_text("\n".join(lines) + "\n")
    return path


def test_ranges_of_a_large_json_lines_file_read_as_the_whole_file(tmp_path):
    from transforms.read import iter_range_documents, ranges_to_read

    path = _jsonl_with_blank_and_oversized_lines(tmp_path / "big.jsonl")
    size = path.stat().st_size
    ranges = ranges_to_read(str(path), size, 200, 1000, 10**9)
    assert len(ranges) > 4

    def comparable(items):  # a dead letter's failed_at is the time it was made
        return [item if isinstance(item, RawDocument) else item["source_uri"] for item in items]

    whole = comparable(iter_file_documents(str(path), 300))
    pieces = comparable(item for piece in ranges for item in iter_range_documents(piece, 300))
    assert pieces == whole and any(
        isinstance(item, str) for item in whole
    )  # same documents, ids (#line=N) and dead letters, in order
    assert ranges_to_read(str(path), size, size, 1000, 10**9) == []  # one range: read whole
    assert ranges_to_read(str(path), size, 200, 39, 10**9) == []  # past max_records
    assert ranges_to_read(str(path), size, 200, 1000, size - 1) == []  # past max bytes
    gz = tmp_path / "big.jsonl.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert ranges_to_read(str(gz), gz.stat().st_size, 10, 1000, 10**9) == []  # compressed
    # Read whole, as iter_file_documents reads it: gzip by its magic bytes, a WARC, binary.
    for name, content in [
        ("gzip_named.jsonl", gzip.compress(path.read_bytes())),
        ("warc_named.jsonl", b"WARC/1.0\r\n" + path.read_bytes()),
        ("binary_named.jsonl", bytes(range(256)) * 40),
    ]:
        odd = tmp_path / name
        odd.write_bytes(content)
        assert ranges_to_read(str(odd), odd.stat().st_size, 200, 1000, 10**9) == [], name


def test_read_documents_with_split_bytes_gives_the_documents_of_a_whole_read(tmp_path):
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from transforms.read import ReadDocuments
    from transforms.records import DEAD_LETTER

    _jsonl_with_blank_and_oversized_lines(tmp_path / "big.jsonl")
    (tmp_path / "story.txt").write_text("A small file, read whole.")
    expected = [
        (item.source_uri, item.payload) if isinstance(item, RawDocument) else item["source_uri"]
        for file in sorted(tmp_path.iterdir())
        for item in iter_file_documents(str(file), 300)
    ]
    with TestPipeline() as pipeline:
        read = pipeline | ReadDocuments([str(tmp_path)], max_document_bytes=300, split_bytes=200)
        documents = read.documents | beam.Map(lambda item: (item.source_uri, item.payload))
        dead = read[DEAD_LETTER] | beam.Map(lambda item: item["source_uri"])
        assert_that(
            documents,
            equal_to([item for item in expected if isinstance(item, tuple)]),
            label="documents",
        )
        assert_that(
            dead, equal_to([item for item in expected if isinstance(item, str)]), label="dead"
        )
