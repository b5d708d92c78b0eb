"""Enrich: language, counts, content hash and run metadata on each cleaned article."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import threading

import apache_beam as beam
from apache_beam.metrics import Metrics
from langdetect import DetectorFactory, detector_factory
from langdetect.lang_detect_exception import LangDetectException

from schemas import UNKNOWN_LANGUAGE
from transforms.failsafe import FailSafeMap
from transforms.records import Article

STAGE = "enrich"
# langdetect's cost grows with the text; a prefix decides as well for articles.
LANGUAGE_SAMPLE_CHARS = 1000
_factory_lock = threading.Lock()


def _language_factory():
    with _factory_lock:
        if detector_factory._factory is None:
            detector_factory.init_factory()
        DetectorFactory.seed = 0  # deterministic: same text, same answer, on every machine
    return detector_factory._factory


def detect_language(text: str) -> tuple[str, float | None]:
    """(ISO 639-1 code, probability) from langdetect, or ("und", None) when it cannot tell."""
    detector = _language_factory().create()
    detector.append(text[:LANGUAGE_SAMPLE_CHARS])
    try:
        best = detector.get_probabilities()[0]
    except (LangDetectException, IndexError):
        return UNKNOWN_LANGUAGE, None
    return best.lang.lower(), round(best.prob, 4)


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
        word_count=len(article.text.split()),
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
