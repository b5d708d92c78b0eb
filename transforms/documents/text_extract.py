"""Plain-text documents: a leading date header and a title line, separated from the body."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from transforms.text.dates import parse_published

# "date 2017-11-09 ...", "Date: 2017-11-09T10:00:00Z", "published: 2017-11-09" at the very start.
_DATE_HEADER = re.compile(
    r"^\s*(?:date|published|published_at|pubdate)\s*[:=]?\s*"
    r"(\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?)\b[ \t]*\n?",
    re.IGNORECASE,
)
_TITLE_MAX_WORDS = 20
_TITLE_MAX_CHARS = 200


@dataclasses.dataclass
class TextDocument:
    text: str
    title: str | None = None
    published_at: dt.datetime | None = None
    date_source: str | None = None


def split_date_header(text: str) -> tuple[str, dt.datetime | None]:
    """Remove a leading `date YYYY-MM-DD` header; return the rest and the date it gave."""
    match = _DATE_HEADER.match(text)
    if not match:
        return text, None
    published = parse_published(match.group(1))
    if published is None:
        return text, None
    return text[match.end() :].lstrip(" \t"), published


def looks_like_title(line: str) -> bool:
    """A short line that does not end like a sentence, with more letters than digits."""
    stripped = line.strip()
    if not stripped or len(stripped) > _TITLE_MAX_CHARS:
        return False
    if len(stripped.split()) > _TITLE_MAX_WORDS or stripped[-1] in ".,;:)\"'":
        return False
    letters = sum(char.isalpha() for char in stripped)
    if letters < 0.5 * len(stripped):
        return False
    # Tokenized or all-lowercase text has no headline casing to recognise.
    return any(char.isupper() for char in stripped)


def parse_text_document(text: str) -> TextDocument:
    """Plain-text article with its leading date header turned into the date.

    The title line is taken later, by cleaning, once boilerplate lines above it are gone.
    """
    body, published = split_date_header(text)
    document = TextDocument(text=body)
    if published is not None:
        document.published_at = published
        document.date_source = "text_header"
    return document


def take_title_line(lines: list[str]) -> tuple[str | None, list[str]]:
    """The first line as title when it looks like one and a longer body follows."""
    if len(lines) < 2 or not looks_like_title(lines[0]):
        return None, lines
    rest_words = sum(len(line.split()) for line in lines[1:])
    if rest_words < 3 * len(lines[0].split()):
        return None, lines
    return lines[0].strip(), lines[1:]
