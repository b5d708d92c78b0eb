"""Article table, schema version 2: version 1 plus where a live or archived row came from.

Added columns are nullable, so files of version 1 and 2 read as one table (old rows null in
the new columns). Never edit a released version in place: add a module.
"""

import pyarrow as pa

from schemas.article_v1 import ARTICLE_SCHEMA as ARTICLE_SCHEMA_V1
from schemas.article_v1 import SCHEMA_METADATA_KEY, SCHEMA_NAME

SCHEMA_VERSION = 2

_UTC_MICROS = pa.timestamp("us", tz="UTC")

# Values of `text_source`: where the row's text came from.
TEXT_FROM_DOCUMENT = "document"  # an archived file, JSON record or WARC record
TEXT_FROM_PAGE = "page"  # the article page a feed entry links to
TEXT_FROM_FEED_CONTENT = "feed_content"  # the entry's full content (content:encoded, Atom content)

ADDED_FIELDS = [
    # When the raw bytes were fetched (the WARC-Date on replay); null for plain files.
    pa.field("fetched_at", _UTC_MICROS),
    pa.field("feed_url", pa.string()),
    pa.field("feed_title", pa.string()),
    # The entry's guid / Atom id as the feed gives it.
    pa.field("entry_id", pa.string()),
    pa.field("tags", pa.list_(pa.string())),
    pa.field("summary", pa.string()),
    pa.field("text_source", pa.string()),
]

ARTICLE_SCHEMA = pa.schema(
    [*ARTICLE_SCHEMA_V1, *ADDED_FIELDS],
    metadata={SCHEMA_METADATA_KEY: f"{SCHEMA_NAME}/{SCHEMA_VERSION}".encode()},
)
