import datetime as dt
import json

import pytest

from tests.helpers import SEED_PROSE, html_document, sample_text, text_document
from transforms.extract import extract_article, host_of, source_key_of
from transforms.records import FORMAT_JSONL, PipelineError, RawDocument

ARTICLE_HTML = """<!DOCTYPE html><html lang="en"><head><title>Ships Return | Port News</title>
<meta property="og:site_name" content="Port News">
<meta property="article:published_time" content="2021-03-04T08:00:00Z">
<link rel="canonical" href="https://www.portnews.example/2021/03/04/ships-return"></head>
<body><article><h1>Ships Return</h1>
<p>After three months at anchor the fleet sailed back into the harbour on Thursday morning,
watched by hundreds of people who lined the quays despite the cold.</p>
<p>The harbour master said traffic would be back to normal by the end of the month, once the
last container vessels have been unloaded and the cranes inspected.</p>
</article></body></html>"""


def json_document(record, uri="mem://dump.jsonl#line=1"):
    return RawDocument(uri, json.dumps(record).encode(), FORMAT_JSONL)


def test_text_document_takes_its_date_header():
    article = extract_article(text_document(sample_text(SEED_PROSE)))
    assert article.published_at == dt.datetime(2017, 11, 9, tzinfo=dt.timezone.utc)
    assert article.date_source == "text_header"
    assert article.text.startswith("Prospects for a meeting")
    assert article.input_format == "text"


def test_doc_id_depends_on_the_bytes_only():
    first = extract_article(text_document("Same words.", "file:///a.txt"))
    second = extract_article(text_document("Same words.", "file:///elsewhere/b.txt"))
    other = extract_article(text_document("Other words.", "file:///a.txt"))
    assert first.doc_id == second.doc_id != other.doc_id
    assert len(first.doc_id) == 32


def test_html_document_keeps_trafilatura_metadata():
    article = extract_article(html_document(ARTICLE_HTML))
    assert "fleet sailed back into the harbour" in article.text
    assert article.title == "Ships Return"
    assert article.published_at == dt.datetime(2021, 3, 4, tzinfo=dt.timezone.utc)
    assert article.date_source == "html_metadata"
    assert article.url == "https://www.portnews.example/2021/03/04/ships-return"
    assert article.source == "Port News"
    assert article.source_key == "portnews.example"


def test_json_record_fields_and_aliases():
    article = extract_article(
        json_document(
            {
                "link": "https://www.example.com/story",
                "headline": "A Headline",
                "body": "The text of the story.",
                "pubDate": "Thu, 09 Nov 2017 10:30:00 GMT",
                "authors": ["Ann Author", "Bob Writer"],
            }
        )
    )
    assert (article.url, article.title, article.text) == (
        "https://www.example.com/story",
        "A Headline",
        "The text of the story.",
    )
    assert article.author == "Ann Author; Bob Writer"
    assert article.published_at == dt.datetime(2017, 11, 9, 10, 30, tzinfo=dt.timezone.utc)
    assert article.date_source == "json_field"
    assert article.source == "example.com"


def test_json_record_with_html_is_extracted():
    article = extract_article(
        json_document({"url": "https://portnews.example/x", "html": ARTICLE_HTML})
    )
    assert "fleet sailed back" in article.text
    assert article.title == "Ships Return"


@pytest.mark.parametrize(
    ("payload", "error_type"),
    [
        (b"not json", "invalid_json"),
        (b"[1, 2]", "invalid_json"),
        (b'{"title": "no body"}', "no_article_text"),
    ],
)
def test_bad_json_records(payload, error_type):
    with pytest.raises(PipelineError) as error:
        extract_article(RawDocument("mem://x.jsonl#line=1", payload, FORMAT_JSONL))
    assert error.value.error_type == error_type


@pytest.mark.parametrize(
    "html", ["<html><head></head><body></body></html>", "<html><body><script>x=1</script></body>"]
)
def test_html_without_article_text(html):
    with pytest.raises(PipelineError) as error:
        extract_article(html_document(html))
    assert error.value.error_type == "no_article_text"


def test_empty_text_document():
    with pytest.raises(PipelineError):
        extract_article(text_document("date 2017-11-09 \n  \n"))


def test_content_sniffed_format_is_recorded_as_a_fix():
    document = html_document(ARTICLE_HTML)
    document.detected_by = "content"
    assert "format_from_content:html" in extract_article(document).fixes


def test_source_key_falls_back_to_the_folder():
    article = extract_article(text_document("Words here.", "/archive/wire/2017/a.txt"))
    assert source_key_of(article) == "/archive/wire/2017"
    assert host_of("https://www.bbc.co.uk/news/x") == "bbc.co.uk"
    assert host_of(None) is None


def test_short_fast_extraction_is_retried_with_fallbacks(monkeypatch):
    import trafilatura

    from transforms.documents import html_extract

    calls = []

    def fake_bare_extraction(payload, url=None, fast=False, **options):
        calls.append(fast)
        text = "short" if fast else "a much longer text found by the fallback extractors " * 30
        return trafilatura.settings.Document.from_dict({"text": text})

    monkeypatch.setattr(html_extract.trafilatura, "bare_extraction", fake_bare_extraction)
    assert html_extract.extract_html(b"<html></html>").text.startswith("a much longer")
    assert calls == [True, False]

    calls.clear()
    monkeypatch.setattr(html_extract, "RETRY_WITH_FALLBACKS_BELOW_CHARS", 3)
    assert html_extract.extract_html(b"<html></html>").text == "short"
    assert calls == [True]
