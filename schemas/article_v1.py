"""Article table, schema version 1.

One row per unique article text. Partition keys (`date`, `lang`) live in the directory names
only (Hive style), never inside the files: BigQuery rejects files whose columns repeat a
partition key, and DuckDB/Polars/Spark add them back from the path.
"""

import pyarrow as pa

SCHEMA_NAME = "news_article"
SCHEMA_VERSION = 1
# Parquet key-value metadata key holding "news_article/1".
SCHEMA_METADATA_KEY = b"news_pipeline.schema"

PARTITION_KEYS = ("date", "lang")
# Hive's own name for a null partition value: Hive, Spark, pyarrow and DuckDB read it as NULL.
UNKNOWN_DATE_PARTITION = "__HIVE_DEFAULT_PARTITION__"
# ISO 639-2 "undetermined": used when langdetect cannot tell.
UNKNOWN_LANGUAGE = "und"

_UTC_MICROS = pa.timestamp("us", tz="UTC")

ARTICLE_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),
        pa.field("source_uri", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("source", pa.string()),
        pa.field("title", pa.string()),
        pa.field("author", pa.string()),
        pa.field("published_at", _UTC_MICROS),
        pa.field("date_source", pa.string()),
        pa.field("language", pa.string(), nullable=False),
        pa.field("language_score", pa.float64()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("word_count", pa.int32(), nullable=False),
        pa.field("char_count", pa.int32(), nullable=False),
        pa.field("content_sha256", pa.string(), nullable=False),
        pa.field("input_format", pa.string(), nullable=False),
        pa.field("fixes", pa.list_(pa.string()), nullable=False),
        pa.field("duplicate_count", pa.int32(), nullable=False),
        pa.field("also_seen_at", pa.list_(pa.string()), nullable=False),
        pa.field("ingested_at", _UTC_MICROS, nullable=False),
        pa.field("pipeline_version", pa.string(), nullable=False),
    ],
    metadata={SCHEMA_METADATA_KEY: f"{SCHEMA_NAME}/{SCHEMA_VERSION}".encode()},
)

# Dead letters are JSON lines (one object per failed input), so that `**/*.parquet` globs over
# the output never mix them with articles.
DEAD_LETTER_FIELDS = (
    "source_uri",  # raw file or URL; "#line=N" / "#record=N" for records inside a file
    "stage",  # read | extract | clean | enrich
    "error_type",  # short machine-readable reason, e.g. "binary_content"
    "error",  # human-readable message
    "payload_bytes",  # size of the raw input, when known
    "payload_sha256",  # hash of the raw input, when known
    "payload_preview",  # first characters of the raw input, decoded leniently
    "failed_at",
    "pipeline_version",
)
