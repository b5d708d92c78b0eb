"""Versioned output schemas. Bump the version module, never edit a released one in place.

`ARTICLE_SCHEMA` is the version new files are written in.
"""

from schemas.article_v1 import ARTICLE_SCHEMA as ARTICLE_SCHEMA_V1
from schemas.article_v1 import (
    DEAD_LETTER_FIELDS,
    PARTITION_KEYS,
    SCHEMA_METADATA_KEY,
    SCHEMA_NAME,
    UNKNOWN_DATE_PARTITION,
    UNKNOWN_LANGUAGE,
)
from schemas.article_v2 import (
    ARTICLE_SCHEMA,
    SCHEMA_VERSION,
    TEXT_FROM_DOCUMENT,
    TEXT_FROM_FEED_CONTENT,
    TEXT_FROM_PAGE,
)

__all__ = [
    "ARTICLE_SCHEMA",
    "ARTICLE_SCHEMA_V1",
    "DEAD_LETTER_FIELDS",
    "PARTITION_KEYS",
    "SCHEMA_METADATA_KEY",
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "TEXT_FROM_DOCUMENT",
    "TEXT_FROM_FEED_CONTENT",
    "TEXT_FROM_PAGE",
    "UNKNOWN_DATE_PARTITION",
    "UNKNOWN_LANGUAGE",
]
