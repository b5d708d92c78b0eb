"""Peers on the same pages: each turns HTML files into article text and one Parquet file.

    PEERS_PYTHON benchmarks/peers.py NAME LISTING OUTPUT_DIR [--workers K]

Runs in a separate virtual environment holding the peers (never the project's .venv), e.g.:

    python3 -m venv /work/peers-venv
    /work/peers-venv/bin/pip install 'datatrove[processing]' news-please newspaper4k pyarrow

NAME is one of PEERS. LISTING holds one HTML file path a line. Prints one JSON line:
{"rows", "empty", "loop_seconds"}. benchmarks/throughput.py measures the process from outside.
Each peer is used as its documentation shows, with no language detection, cleaning or dedup
of ours (they do less than the pipeline: see the README's Performance section).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

PEERS = ("datatrove", "news-please", "newspaper4k")
EXTRACT_TIMEOUT_SECONDS = 30.0


def _write_parquet(rows: list[dict], output_dir: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), output_dir / "articles.parquet", compression="zstd")


def run_news_please(paths: list[str], output_dir: Path) -> dict:
    from newsplease import NewsPlease

    rows, empty = [], 0
    for path in paths:
        html = Path(path).read_text(encoding="utf-8", errors="replace")
        try:
            article = NewsPlease.from_html(html, url=None, fetch_images=False)
        except Exception:  # noqa: BLE001 - a page it cannot read is a page without text
            article = None
        text = (article.maintext or "") if article else ""
        if not text.strip():
            empty += 1
            continue
        rows.append({"source_uri": path, "text": text, "title": article.title})
    _write_parquet(rows, output_dir)
    return {"rows": len(rows), "empty": empty}


def run_newspaper4k(paths: list[str], output_dir: Path) -> dict:
    from newspaper import Article

    rows, empty = [], 0
    for path in paths:
        html = Path(path).read_text(encoding="utf-8", errors="replace")
        article = Article(f"https://example.com/{Path(path).name}", fetch_images=False)
        try:
            article.download(input_html=html)
            article.parse()
        except Exception:  # noqa: BLE001 - e.g. Japanese pages need an extra it lacks
            empty += 1
            continue
        if not (article.text or "").strip():
            empty += 1
            continue
        rows.append(
            {
                "source_uri": path,
                "text": article.text,
                "title": article.title,
                "published": str(article.publish_date) if article.publish_date else None,
            }
        )
    _write_parquet(rows, output_dir)
    return {"rows": len(rows), "empty": empty}


def run_datatrove(paths: list[str], output_dir: Path, workers: int) -> dict:
    """datatrove's own executor: read the pages, its Trafilatura extractor (favour_precision,
    its default), its ParquetWriter; `workers` tasks in parallel."""
    from datatrove.data import Document
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.writers import ParquetWriter

    def read_pages(data, rank: int = 0, world_size: int = 1):
        for index, path in enumerate(paths):
            if index % world_size == rank:
                html = Path(path).read_text(encoding="utf-8", errors="replace")
                yield Document(text=html, id=path)

    executor = LocalPipelineExecutor(
        pipeline=[
            read_pages,
            # Its default 1 s timeout skips pages on a loaded machine (each skip restarts its
            # sandbox process): a page gets what the pipeline's deadline gives it.
            Trafilatura(favour_precision=True, timeout=EXTRACT_TIMEOUT_SECONDS),
            ParquetWriter(str(output_dir / "datatrove"), compression="zstd"),
        ],
        tasks=workers,
        workers=workers,
        logging_dir=str(output_dir / "logs"),
        skip_completed=False,
    )
    executor.run()
    rows = 0
    for parquet in (output_dir / "datatrove").glob("*.parquet"):
        import pyarrow.parquet as pq

        rows += pq.read_metadata(parquet).num_rows
    return {"rows": rows, "empty": len(paths) - rows}


def main(argv: list[str]) -> int:
    name, listing, output = argv[0], Path(argv[1]), Path(argv[2])
    workers = int(argv[argv.index("--workers") + 1]) if "--workers" in argv else 1
    if name not in PEERS:
        raise SystemExit(f"unknown peer {name!r}; one of {', '.join(PEERS)}")
    paths = listing.read_text().splitlines()
    output.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if name == "datatrove":
        report = run_datatrove(paths, output, workers)
    elif name == "news-please":
        report = run_news_please(paths, output)
    else:
        report = run_newspaper4k(paths, output)
    report["loop_seconds"] = time.perf_counter() - started
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
