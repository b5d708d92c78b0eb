"""`python -m pipeline.preview OUT`: rows per partition and a glimpse of each row."""

from __future__ import annotations

import sys

import pyarrow.dataset as ds

_COLUMNS = ["date", "lang", "source_uri", "title", "word_count", "fixes", "text"]


def preview(output_dir: str, text_chars: int = 90) -> str:
    dataset = ds.dataset(
        output_dir, format="parquet", partitioning="hive", exclude_invalid_files=True
    )
    table = dataset.to_table(columns=_COLUMNS)
    lines = [f"{table.num_rows} rows in {output_dir}"]
    for row in sorted(table.to_pylist(), key=lambda row: row["source_uri"]):
        text = row["text"].replace("\n", " ")[:text_chars]
        lines.append(
            f"- date={row['date']} lang={row['lang']} words={row['word_count']} "
            f"{row['source_uri']}\n  title: {row['title']}\n  fixes: {row['fixes']}\n"
            f"  text:  {text}..."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(preview(sys.argv[1]))
