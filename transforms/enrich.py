"""Enrich: language, counts, content hash and run metadata on each cleaned article."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.failsafe import FailSafeMap
from transforms.records import Article
from transforms.text.language import detect_language
from transforms.text.words import count_words

STAGE = "enrich"


def content_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def enrich_article(article: Article, ingested_at: dt.datetime) -> Article:
    language, score = detect_language(article.text)
    Metrics.counter("news", f"language.{language}").inc()
    if article.published_at is None:
        Metrics.counter("news", "enrich.no_date").inc()
    return dataclasses.replace(
        article,
        language=language,
        language_score=score,
        # Counted by clean_article (which leaves no text without words); 0: not counted yet.
        word_count=article.word_count or count_words(article.text),
        char_count=len(article.text),
        content_sha256=content_sha256(article.text),
        ingested_at=ingested_at,
    )


class EnrichMetadata(beam.PTransform):
    """Article -> Article with language, counts, hash and ingestion time.

    Outputs: `main`, `dead_letter`.
    """

    def __init__(self, ingested_at: dt.datetime):
        super().__init__()
        self.ingested_at = ingested_at

    def expand(self, articles):
        ingested_at = self.ingested_at
        return articles | "Enrich" >> FailSafeMap(
            STAGE, lambda article: enrich_article(article, ingested_at)
        )
