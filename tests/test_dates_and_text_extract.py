import datetime as dt

import pytest

from transforms.documents.text_extract import (
    looks_like_title,
    parse_text_document,
    split_date_header,
    take_title_line,
)
from transforms.text.dates import parse_published

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2017-11-09", dt.datetime(2017, 11, 9, tzinfo=UTC)),
        ("2017-11-09T10:30:00Z", dt.datetime(2017, 11, 9, 10, 30, tzinfo=UTC)),
        ("2017-11-09T12:30:00+02:00", dt.datetime(2017, 11, 9, 10, 30, tzinfo=UTC)),
        ("Thu, 09 Nov 2017 10:30:00 GMT", dt.datetime(2017, 11, 9, 10, 30, tzinfo=UTC)),
        ("November 9, 2017", dt.datetime(2017, 11, 9, tzinfo=UTC)),
        (1510223400, dt.datetime(2017, 11, 9, 10, 30, tzinfo=UTC)),
        (dt.date(2017, 11, 9), dt.datetime(2017, 11, 9, tzinfo=UTC)),
    ],
)
def test_parse_published_to_utc(value, expected):
    assert parse_published(value, now=NOW) == expected


@pytest.mark.parametrize("value", [None, "", "not a date", "1970-01-01", "2099-01-01", True])
def test_parse_published_rejects_junk_and_implausible_dates(value):
    assert parse_published(value, now=NOW) is None


def test_date_header_becomes_the_date_not_text():
    text, published = split_date_header(" date 2017-11-09 Prospects for a meeting were unclear.")
    assert published == dt.datetime(2017, 11, 9, tzinfo=UTC)
    assert text == "Prospects for a meeting were unclear."


def test_date_header_variants_and_non_headers():
    assert split_date_header("Date: 2020-01-02\nBody")[1] == dt.datetime(2020, 1, 2, tzinfo=UTC)
    assert split_date_header("The date 2017-11-09 was set.")[1] is None
    assert split_date_header("date 2017-13-45 nonsense")[1] is None


def test_parse_text_document_reports_date_source():
    document = parse_text_document("date 2017-11-09 Body text.")
    assert document.date_source == "text_header" and document.text == "Body text."
    assert parse_text_document("No header here.").date_source is None


def test_title_line_detection():
    assert looks_like_title("Russia: Putin Will Meet With Trump During Asia Trip")
    assert not looks_like_title("This is a sentence that ends with a period.")
    assert not looks_like_title("moscow ( reuters ) - lowercase wire text")
    assert not looks_like_title("2017 11 09 12:00")
    assert not looks_like_title("word " * 30)


def test_take_title_line_needs_a_body_after_it():
    body = ["A much longer paragraph follows the headline with many more words than it has."]
    assert take_title_line(["Short Headline Here", *body]) == ("Short Headline Here", body)
    assert take_title_line(["Short Headline Here"]) == (None, ["Short Headline Here"])
    assert take_title_line(["Two Words", "Also short"])[0] is None
