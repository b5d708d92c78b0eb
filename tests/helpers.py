"""Shared test helpers: paths to the shared corpora and a small raw-document factory."""

from __future__ import annotations

import pathlib

import pytest

from transforms.records import FORMAT_HTML, FORMAT_TEXT, RawDocument

REPO = pathlib.Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SEEDS = SHARED / "seeds"
SAMPLE = REPO / "sample"
READABILITY = SHARED / "corpora" / "html" / "readability"

SEED_PROSE = "000_4a2ec7869731347f.txt"
SEED_WIRE = "001_2c0f2b7818f5d984.txt"
SEED_SCRAPED = "002_860d44aacc00b277.txt"

needs_shared = pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared is not next to the repo")


def sample_text(name: str) -> str:
    return (SAMPLE / name).read_text(encoding="utf-8")


def text_document(text: str, source_uri: str = "mem://doc.txt") -> RawDocument:
    return RawDocument(source_uri, text.encode("utf-8"), FORMAT_TEXT)


def html_document(html: str, source_uri: str = "mem://page.html", url=None) -> RawDocument:
    return RawDocument(source_uri, html.encode("utf-8"), FORMAT_HTML, url=url)
