"""Versioned output schemas. Bump the version module, never edit a released one in place."""

from schemas.article_v1 import (
    ARTICLE_SCHEMA,
    DEAD_LETTER_FIELDS,
    PARTITION_KEYS,
    SCHEMA_METADATA_KEY,
    SCHEMA_NAME,
    SCHEMA_VERSION,
    UNKNOWN_DATE_PARTITION,
    UNKNOWN_LANGUAGE,
)

__all__ = [
    "ARTICLE_SCHEMA",
    "DEAD_LETTER_FIELDS",
    "PARTITION_KEYS",
    "SCHEMA_METADATA_KEY",
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "UNKNOWN_DATE_PARTITION",
    "UNKNOWN_LANGUAGE",
]
