"""HTML pages -> article text and metadata with trafilatura."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import re

import trafilatura
from htmldate import find_date
from lxml import etree
from trafilatura.metadata import (
    META_URL,
    examine_meta,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import Document
from trafilatura.utils import load_html

from transforms.documents.byline import extract_author
from transforms.records import PipelineError
from transforms.text.dates import parse_published

# trafilatura's knobs live here and only here; the benchmarks import the same settings.
# fast=True skips the fallback extractors (readability-lxml, jusText) unless the fast path
# finds little text (see _worth_a_retry). fast alone, on the readability
# pages it raised 4-gram F1 from 0.923 to 0.935 (both halves of the set: 0.967/0.879 ->
# 0.967/0.903) and halved the cost per page (benchmarks/extraction.py).
# Measured and kept out (F1 0.950 with these settings): favor_precision 0.921 (drops whole
# articles), favor_recall 0.940, include_images/include_links 0.904/0.890, include_tables=False
# 0.951 (one page only), fast=False 0.928. prune_xpath for aside/figure/nav changes nothing
# (trafilatura drops them already); class-substring prunes ("newsletter", "comment") wipe
# whole articles whose <body> class names contain the word.
# Cost (benchmarks/dates.py --paired --rounds 5 --baseline-commit abb1992, CPU ms/page over
# the 148 readability + trafilatura-cache pages, one process, cold caches, each page's
# least): 35.1 at abb1992, 31.7 now (trafilatura.extract defaults: 36.4), the same output in
# every field on all 186 extractions it compares. (Earlier, --rounds 2: 70.1 -> 59.1 against
# 53.8.) The page is parsed once (was up to three times: fast pass, retry, date fallback);
# metadata is trafilatura's less categories, tags and license, which the pipeline never
# reads (8% of the time); the retry reuses the fast pass's metadata and runs only where the
# page shows much more text than the fast pass kept; the byline search is trafilatura's
# expressions evaluated in one walk of the page (byline.py: ~3.6 ms a call, trafilatura's
# extract_author ~9.7: it copies the page and walks it five times; skipping it would lose
# 47 of 148 authors). What is left is mostly trafilatura's main extractor (~60%) and
# htmldate's find_date (~9%, it copies the page too).
TRAFILATURA_OPTIONS = {
    "fast": True,
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "include_links": False,
    "with_metadata": False,  # page_metadata reads it, once per page
    "deduplicate": False,
}

# Dates: htmldate's plain search (metadata, JSON-LD, URL, time elements, text) in
# page_metadata; only when it finds nothing does the extensive search run, on the page
# without scripts, styles, links, and namespace or schema attributes (_date_outside_code):
# it reads dates out of the whole page source, attribute values included (the only "2000"
# of a page in `xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"` made it 2000-01-01, a
# script path /2019/05/12/app.js 2019-05-12), and its last resorts, a copyright year or a
# bare year or month, come back as the 1st of a month: those are not taken.
# benchmarks/dates.py: the extensive search dates 4 of the 38 readability news pages the
# plain one leaves undated (la-nacion, lwn-1, qq, yahoo-4, all right by reading the page)
# and costs 3-5 ms/page; on the 48 held-out pages it added 10 dates, all on pages with
# no date (7 were 1st-of-month years, now refused; left: bmjv.de 2016-01-02,
# creativecommons.org 2016-05-22, demokratiewebstatt.at 2016-10-07). Kept for news pages.
PLAIN_DATE_SEARCH = {"original_date": True, "extensive_search": False}
# Attributes that name vocabularies (namespaces, schema.org types), never the page's date.
_VOCABULARY_ATTRIBUTES = ("itemtype", "profile", "vocab", "typeof", "prefix", "schemalocation")
_CODE_ELEMENTS = ("script", "style", "link", "noscript", "svg", "template")

# Below this many characters of fast-path text, the page is extracted again with fallbacks,
RETRY_WITH_FALLBACKS_BELOW_CHARS = 1000
# but only when the page shows this many times more text than the fast path kept: on the 148
# shared pages, 21 fell below 1000 characters and the fallbacks found more on 5, all with a
# page 12 to 96 times the fast text; 13 of the 16 others were below 8 times (pages with
# little text, where the fallbacks find nothing either). It skips 13 of the 21 fallback
# passes (~45 ms each): ~4 ms/page, the same text on every page.
RETRY_WHEN_PAGE_TEXT_TIMES = 8
_HIDDEN_TEXT_ELEMENTS = ("script", "style", "noscript", "template")


@dataclasses.dataclass
class HtmlArticle:
    text: str
    title: str | None = None
    author: str | None = None
    sitename: str | None = None
    url: str | None = None
    published_at: dt.datetime | None = None
    date_source: str | None = None
    language_hint: str | None = None


def normalize_author(author: str | None) -> str | None:
    """'Jane Doe; JANE DOE' -> 'Jane Doe': trafilatura joins every byline it finds."""
    if not author:
        return None
    names: list[str] = []
    seen: set[str] = set()
    for name in author.split(";"):
        name = " ".join(name.split())
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            names.append(name)
    return "; ".join(names) or None


def _date_params() -> dict:
    return {**PLAIN_DATE_SEARCH, "max_date": dt.date.today().isoformat()}


def _strip_code_and_vocabularies(tree: etree._Element) -> etree._Element:
    """The tree less its code elements and the attributes that name vocabularies (in place)."""
    etree.strip_elements(tree, *_CODE_ELEMENTS, with_tail=False)
    for element in tree.iter(etree.Element):
        for name in [name for name in element.attrib if isinstance(name, str)]:
            bare = name.rsplit("}", 1)[-1].lower()
            if bare.startswith("xmlns") or bare in _VOCABULARY_ATTRIBUTES:
                del element.attrib[name]
    return tree


def _date_outside_code(tree: etree._Element, url: str | None) -> str | None:
    """htmldate's extensive search on the page less its code and vocabulary URLs. Strips
    `tree` in place: call it last."""
    tree = _strip_code_and_vocabularies(tree)
    found = find_date(tree, **{**_date_params(), "extensive_search": True}, url=url)
    # Its last resorts, a copyright year or any bare year or month, come back as the 1st.
    if found is None or dt.date.fromisoformat(found).day == 1:
        return None
    return found


def page_metadata(tree: etree._Element, url: str | None, date_params: dict) -> Document:
    """trafilatura's extract_metadata (2.3.1) less the fields the pipeline never reads:
    categories, tags and license cost 8% of extract_html. The tree is left as it was."""
    metadata = examine_meta(tree)
    if metadata.author and " " not in metadata.author:
        metadata.author = None  # as trafilatura: a one-word "author" is a handle or a site
    with contextlib.suppress(Exception):  # trafilatura guards its JSON-LD reader the same way
        metadata = extract_meta_json(tree, metadata)
    metadata.title = metadata.title or extract_title(tree)
    metadata.author = metadata.author or extract_author(tree)
    metadata.url = metadata.url or extract_url(tree, url)
    metadata.date = find_date(tree, **date_params, url=metadata.url)
    metadata.sitename = metadata.sitename or extract_sitename(tree)
    if metadata.sitename:
        metadata.sitename = metadata.sitename.lstrip("@")
        if (
            metadata.sitename
            and "." not in metadata.sitename
            and not metadata.sitename[0].isupper()
        ):
            metadata.sitename = metadata.sitename.title()
    elif metadata.url and (match := META_URL.match(metadata.url)):
        metadata.sitename = match[1]
    metadata.clean_and_trim()
    return metadata


_DOCUMENT_START = re.compile(rb"<(?:!doctype|html|head|body)[\s>]", re.IGNORECASE)


def as_html_document(payload: bytes | str) -> bytes | str:
    """A fragment (a feed entry's content, a JSON record's html) inside <html><body>: a bare
    fragment that starts with text parses to no article at all."""
    head = payload[:2048]
    head = head if isinstance(head, bytes) else head.encode("utf-8", "replace")
    if _DOCUMENT_START.search(head):
        return payload
    if isinstance(payload, bytes):
        return b"<html><body>" + payload + b"</body></html>"
    return f"<html><body>{payload}</body></html>"


def _text_length(document) -> int:
    return len((document.text if document is not None else "") or "")


def _non_space_length(text: str) -> int:
    return len(text) - sum(text.count(space) for space in " \t\n\r\xa0")


def page_text_length(tree: etree._Element) -> int:
    """Characters other than white space a reader sees in the page's <body>."""
    body = tree.find("body")
    if body is None:
        return 0
    hidden = sum(
        _non_space_length(element.text_content()) for element in body.iter(*_HIDDEN_TEXT_ELEMENTS)
    )
    return _non_space_length(body.text_content()) - hidden


def _worth_a_retry(document, tree: etree._Element) -> bool:
    """Little fast-path text on a page that shows much more: the fast path likely misread
    the layout, and the fallback extractors may find the article."""
    if _text_length(document) >= RETRY_WITH_FALLBACKS_BELOW_CHARS:
        return False
    kept = _non_space_length((document.text if document is not None else "") or "")
    return page_text_length(tree) >= RETRY_WHEN_PAGE_TEXT_TIMES * max(kept, 1)


def extract_html(
    payload: bytes | str, url: str | None = None, *, date_fallback: bool = True
) -> HtmlArticle:
    """Main text and metadata of one HTML page; PipelineError when there is no article.

    date_fallback=False skips the extensive date search (benchmarks/dates.py compares both)."""
    # One parse: trafilatura copies a tree it is handed before it prunes it, so the same
    # tree serves the fast pass, the retry and the date fallback.
    tree = load_html(as_html_document(payload))
    if tree is None:
        raise PipelineError("no_article_text", "trafilatura found no main text in the page")
    try:
        metadata = page_metadata(tree, url, _date_params())
        document = trafilatura.bare_extraction(tree, url=url or metadata.url, **TRAFILATURA_OPTIONS)
        if _worth_a_retry(document, tree):
            # The fallback extractors (readability-lxml, jusText) cost more: only pay here.
            thorough = trafilatura.bare_extraction(
                tree, url=url or metadata.url, **{**TRAFILATURA_OPTIONS, "fast": False}
            )
            if _text_length(thorough) > _text_length(document):
                document = thorough
    except (ValueError, TypeError) as error:
        raise PipelineError("unparseable_html", f"trafilatura could not parse the page: {error}")
    if document is None or not (document.text or "").strip():
        raise PipelineError("no_article_text", "trafilatura found no main text in the page")
    date = metadata.date
    if not date and date_fallback:
        date = _date_outside_code(tree, metadata.url or url)
    published_at = parse_published(date)
    return HtmlArticle(
        text=document.text,
        title=metadata.title or None,
        author=normalize_author(metadata.author),
        sitename=metadata.sitename or None,
        url=metadata.url or url,
        published_at=published_at,
        date_source="html_metadata" if published_at else None,
        language_hint=metadata.language or None,
    )
