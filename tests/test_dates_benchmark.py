import json
import shutil

from benchmarks.dates import (
    UNLABELLED,
    LabelledPage,
    count_dates,
    differing_pages,
    format_counts,
    held_out_pages,
    main,
    misdated,
)
from tests.helpers import READABILITY, SHARED, needs_shared
from transforms.documents.html_extract import HtmlArticle
from transforms.records import PipelineError

CACHE = SHARED / "corpora" / "html" / "trafilatura-cache"


def page(page_id, expected):
    return LabelledPage(page_id, b"", None, expected)


def test_differing_pages_compares_every_field_and_dead_letters():
    def baseline(html, url):
        if html == b"dead":
            raise PipelineError("no_article_text", "none")
        return HtmlArticle(text="same text", author="Jane Doe")

    def changed_author(html, url):
        if html == b"dead":
            raise PipelineError("no_article_text", "none")
        return HtmlArticle(text="same text", author="Jane Doe" if html == b"a" else "J. Doe")

    pages = [LabelledPage(name, html, None, None) for name, html in [("a", b"a"), ("b", b"b")]]
    pages.append(LabelledPage("dead", b"dead", None, None))
    assert differing_pages(baseline, baseline, pages) == []
    assert differing_pages(changed_author, baseline, pages) == ["b"]


def test_count_dates_against_labels():
    pages = [
        page("right", "2020-01-14"),
        page("off by a day", "2020-01-14"),
        page("undated", "2020-01-14"),
        page("no date on the page", None),
        page("correctly undated", None),
        page("no label", UNLABELLED),
        page("no label, no date", UNLABELLED),
    ]
    found = {
        "right": "2020-01-14",
        "off by a day": "2020-01-15",
        "undated": None,
        "no date on the page": "2016-05-22",
        "correctly undated": None,
        "no label": "2019-01-02",
        "no label, no date": None,
    }
    assert count_dates(pages, found) == {
        "pages": 7,
        "found": 4,
        "correct": 1,
        "wrong": 2,
        "lost": 1,
        "unchecked": 1,
    }
    assert misdated(pages, found) == [
        "off by a day: 2020-01-14 -> 2020-01-15",
        "undated: 2020-01-14 -> None",
        "no date on the page: None -> 2016-05-22",
    ]
    assert format_counts({"x": count_dates(pages, found)}).splitlines()[1].split()[1:] == [
        "7",
        "4",
        "1",
        "2",
        "1",
        "1",
    ]


@needs_shared
def test_benchmark_counts_dates_on_three_labelled_pages(tmp_path, capsys):
    cache = tmp_path / "cache"
    cache.mkdir()
    names = ("zeit.de.zugverkehr.html", "heise.de.lithium.html", "fairkom.eu.about.html")
    for name in names:
        shutil.copy(CACHE / name, cache / name)
    labels = tmp_path / "labels.json"
    labels.write_text(
        json.dumps(
            {
                "pages": {
                    "zeit.de.zugverkehr.html": {"date": "2020-01-14"},  # right
                    "heise.de.lithium.html": {"date": "2001-02-03"},  # a wrong label: wrong
                    "fairkom.eu.about.html": {"date": "2019-06-01"},  # has none: lost
                }
            }
        )
    )
    readability = tmp_path / "readability"
    for site in ("bbc-1", "ars-1"):  # publishedTime 2015-07-24 and null
        shutil.copytree(READABILITY / site, readability / site)
    assert [p.expected for p in held_out_pages(labels, cache)] == [
        "2019-06-01",
        "2001-02-03",
        "2020-01-14",
    ]

    results = main(
        ["--readability", str(readability), "--cache", str(cache), "--labels", str(labels)]
    )

    held_out = results["dates"]["held-out (read by hand)"]["extract_html"][0]
    assert held_out == {
        "pages": 3,
        "found": 2,
        "correct": 1,
        "wrong": 1,
        "lost": 1,
        "unchecked": 0,
    }
    readability_counts = results["dates"]["readability publishedTime"]["extract_html"][0]
    assert readability_counts["correct"] == 1 and readability_counts["pages"] == 2
    assert readability_counts["wrong"] == readability_counts["lost"] == 0
    assert readability_counts["unchecked"] == 1  # ars-1: dated, but Readability has no date
    assert set(results["cpu_ms_per_page"]) == {
        "extract_html",
        "no extensive fallback",
        "trafilatura.extract defaults",
    }
    assert all(ms > 0 for ms in results["cpu_ms_per_page"].values())
    out = capsys.readouterr().out
    assert "held-out (read by hand)" in out and "load average" in out
