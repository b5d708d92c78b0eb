import datetime as dt
import json

import pytest

from tests.helpers import (
    READABILITY,
    SEED_PROSE,
    SHARED,
    html_document,
    needs_shared,
    sample_text,
    text_document,
)
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


TRAFILATURA_CACHE = SHARED / "corpora" / "html" / "trafilatura-cache"


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


def test_short_fast_extraction_is_retried_only_on_a_page_with_much_more_text(monkeypatch):
    import trafilatura

    from transforms.documents import html_extract

    calls = []

    def fake_bare_extraction(payload, url=None, fast=False, **options):
        calls.append(fast)
        text = "short" if fast else "a much longer text found by the fallback extractors " * 30
        return trafilatura.settings.Document.from_dict({"text": text})

    monkeypatch.setattr(html_extract.trafilatura, "bare_extraction", fake_bare_extraction)
    wordy_page = (
        "<html><body><div>" + "Words a reader sees on the page. " * 20 + "</div></body></html>"
    )
    assert html_extract.extract_html(wordy_page).text.startswith("a much longer")
    assert calls == [True, False]

    calls.clear()  # the page shows no more text than the fast pass kept: no retry
    scripted_page = (
        "<html><body><p>short</p><script>" + "var x = 1; " * 200 + "</script></body></html>"
    )
    assert html_extract.extract_html(scripted_page).text == "short"
    assert calls == [True]

    calls.clear()
    monkeypatch.setattr(html_extract, "RETRY_WITH_FALLBACKS_BELOW_CHARS", 3)
    assert html_extract.extract_html(wordy_page).text == "short"
    assert calls == [True]


def test_page_text_length_counts_what_a_reader_sees():
    from trafilatura.utils import load_html

    from transforms.documents.html_extract import page_text_length

    tree = load_html(
        "<html><head><title>Not counted</title></head><body><p>Two words</p>"
        "<script>var hidden = 1;</script><style>p {}</style><p>and\n  three</p></body></html>"
    )
    assert page_text_length(tree) == len("Twowordsandthree")
    assert page_text_length(load_html("<html><head><title>x</title></head></html>")) == 0


# A news page, a blog post with a byline in the page, a page that needs the fallback
# extractors, and one without any date.
SHARED_PAGES = [
    READABILITY / "bbc-1" / "source.html",
    TRAFILATURA_CACHE / "boingboing.net.millenials.html",
    TRAFILATURA_CACHE / "spiegel.de.albtraum.html",
    TRAFILATURA_CACHE / "fairkom.eu.about.html",
]


@needs_shared
@pytest.mark.parametrize("path", SHARED_PAGES, ids=lambda path: path.parent.name + path.name)
def test_one_parse_gives_the_metadata_and_text_of_separate_trafilatura_calls(path):
    import copy

    import trafilatura
    from lxml import etree
    from trafilatura.metadata import extract_metadata
    from trafilatura.utils import load_html

    from transforms.documents import html_extract

    payload = path.read_bytes()
    tree = load_html(payload)
    before = etree.tostring(tree)
    date_params = html_extract._date_params()
    ours = html_extract.page_metadata(tree, None, date_params)
    assert etree.tostring(tree) == before  # the tree serves the extraction passes next
    theirs = extract_metadata(copy.copy(tree), None, date_params)
    for field in ("title", "author", "url", "date", "sitename", "language", "description"):
        assert getattr(ours, field) == getattr(theirs, field), field

    options = html_extract.TRAFILATURA_OPTIONS
    fast = trafilatura.bare_extraction(payload, **options).text
    thorough = trafilatura.bare_extraction(payload, **{**options, "fast": False}).text
    text = html_extract.extract_html(payload).text
    # the fallbacks run on short fast text only, and only a longer text replaces it
    assert text == (max(fast, thorough, key=len) if len(fast) < 1000 else fast)


@needs_shared
def test_the_extensive_date_search_takes_no_copyright_year():
    from transforms.documents.html_extract import extract_html

    # its only date-like text is a footer year, which htmldate reads as 1995-01-01
    page = TRAFILATURA_CACHE / "fairkom.eu.about.html"
    assert extract_html(page.read_bytes()).published_at is None


def test_a_copyright_year_is_no_date_but_a_dateline_is():
    from transforms.documents.html_extract import extract_html

    body = "<p>" + "The council voted on the new bridge after a long debate. " * 8 + "</p>"
    footer = "<footer>Copyright 2016 Example Media</footer>"
    page = f"<html><body><article>{body}</article>{footer}</body></html>"
    assert extract_html(page).published_at is None
    dated = f"<html><body><article><p>Posted 22 May 2016</p>{body}</article>{footer}</body></html>"
    assert extract_html(dated).published_at.date() == dt.date(2016, 5, 22)
