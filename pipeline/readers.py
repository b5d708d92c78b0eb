"""Read an output as one table, the same in DuckDB, Polars, pyarrow and Spark.

Left to guess, readers disagree: the partition column `date` is a DATE in an output with some
dated rows but a string (DuckDB, Polars) or an error (pyarrow) when every row is undated, and
files of schema version 1 lack the columns version 2 added. These readers state the types:
`date` is a DATE (null for `__HIVE_DEFAULT_PARTITION__`), `lang` a string, and every column
of the current schema is there (null in rows of older files).

Each reader reads `<output>/**/*.parquet` outside `_`/`.` folders: never dead letters,
staged files of a running batch (`.staged`), temporary files (`.inprogress`) or state.
The query engines are imported when used: a reader needs only its own.
"""

from __future__ import annotations

import pyarrow as pa

from schemas import ARTICLE_SCHEMA, UNKNOWN_DATE_PARTITION

PARTITION_SCHEMA = pa.schema([pa.field("date", pa.date32()), pa.field("lang", pa.string())])
# The table as every reader returns it: the current schema, then the partition columns.
TABLE_SCHEMA = pa.schema([*ARTICLE_SCHEMA, *PARTITION_SCHEMA])

_SPARK_TYPES = {
    pa.string(): "STRING",
    pa.int32(): "INT",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.date32(): "DATE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMP",
    pa.list_(pa.string()): "ARRAY<STRING>",
}


def parquet_glob(path: str) -> str:
    return path.rstrip("/") + "/**/*.parquet"


_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.date32(): "DATE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
    pa.list_(pa.string()): "VARCHAR[]",
}


def read_articles_duckdb(path: str, connection=None):
    """A DuckDB relation over the output (`connection` defaults to DuckDB's own).

    union_by_name gives the columns some file has; a column no file has yet (an output of
    version 1 files only) is added as NULL, so the table has the same columns either way.
    """
    import duckdb

    connection = connection or duckdb
    quoted = parquet_glob(path).replace("'", "''")
    files = (
        f"read_parquet('{quoted}', hive_partitioning = true, union_by_name = true, "
        "hive_types = {'date': DATE, 'lang': VARCHAR})"
    )
    present = set(connection.sql(f"SELECT * FROM {files}").columns)
    columns = [
        f'"{field.name}"'
        if field.name in present
        else f'CAST(NULL AS {_DUCKDB_TYPES[field.type]}) AS "{field.name}"'
        for field in TABLE_SCHEMA
    ]
    return connection.sql(f"SELECT {', '.join(columns)} FROM {files}")


def polars_schema():
    import polars as pl

    return pl.Schema(pl.from_arrow(ARTICLE_SCHEMA.empty_table()).schema)


def read_articles_polars(path: str):
    """A Polars LazyFrame over the output (`.collect()` it)."""
    import polars as pl

    return pl.scan_parquet(
        parquet_glob(path),
        schema=polars_schema(),
        hive_partitioning=True,
        hive_schema={"date": pl.Date, "lang": pl.String},
        # Files of an older schema lack the newer columns; files of a newer one have more.
        missing_columns="insert",
        extra_columns="ignore",
    )


def articles_dataset(path: str):
    """A pyarrow Dataset over the output (filter and project before reading)."""
    import pyarrow.dataset as ds

    partitioning = ds.HivePartitioning(PARTITION_SCHEMA, null_fallback=UNKNOWN_DATE_PARTITION)
    return ds.dataset(path, format="parquet", partitioning=partitioning, schema=TABLE_SCHEMA)


def read_articles_pyarrow(path: str) -> pa.Table:
    """The whole output as a pyarrow Table."""
    return articles_dataset(path).to_table()


def spark_schema_ddl() -> str:
    """The table's schema as a Spark DDL string, for `spark.read.schema(...)`."""
    return ", ".join(f"`{field.name}` {_SPARK_TYPES[field.type]}" for field in TABLE_SCHEMA)


def read_articles_spark(spark, path: str):
    """A Spark DataFrame over the output (the README's snippet)."""
    return spark.read.schema(spark_schema_ddl()).parquet(path)
