"""Article-extraction quality: the pipeline's `text` column vs plain trafilatura.extract.

Metric of the scrapinghub article-extraction-benchmark: precision, recall and F1 over
case-sensitive 4-gram shingles of \\w+ tokens, computed per page and averaged.

    # scrapinghub layout: html/<id>.html.gz + ground-truth.json
    python benchmarks/extraction.py --pages PATH/html --ground-truth PATH/ground-truth.json
    # the readability pages shipped in ../shared (ground truth made from expected.html)
    python benchmarks/extraction.py --readability ../shared/corpora/html/readability --halves
    # add --per-page to list the pipeline's precision, recall and F1 per page, worst first
"""

from __future__ import annotations

import argparse
import gzip
import json
import pathlib
import statistics
import sys
import time

import trafilatura

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from benchmarks.make_readability_ground_truth import build as readability_ground_truth
from benchmarks.metrics import shingle_prf
from transforms.clean import clean_article
from transforms.documents.html_extract import TRAFILATURA_OPTIONS, extract_html
from transforms.extract import extract_article
from transforms.records import FORMAT_HTML, PipelineError, RawDocument


def pipeline_text(html: bytes, url: str | None) -> str:
    """What the pipeline writes to `text` for this page ('' when it dead-letters it)."""
    try:
        document = RawDocument("benchmark", html, FORMAT_HTML, url=url or None)
        return clean_article(extract_article(document), min_words=0).text
    except PipelineError:
        return ""


def pipeline_extraction_text(html: bytes, url: str | None) -> str:
    """The pipeline's trafilatura call alone (its settings and retry), before cleaning."""
    try:
        return extract_html(html, url=url or None).text
    except PipelineError:
        return ""


def plain_trafilatura_text(html: bytes, url: str | None) -> str:
    return trafilatura.extract(html, url=url or None) or ""


def trafilatura_defaults_with_metadata(html: bytes, url: str | None) -> str:
    """The obvious way to get what the pipeline needs: trafilatura's defaults (fallback
    extractors on every page) with its metadata."""
    document = trafilatura.bare_extraction(
        html, url=url or None, with_metadata=True, **UNCHANGED_OPTIONS
    )
    return (document.text if document else "") or ""


# Options of the pipeline's call that are not about speed: the same in both trafilatura rows.
UNCHANGED_OPTIONS = {
    key: value for key, value in TRAFILATURA_OPTIONS.items() if key not in ("fast", "with_metadata")
}

EXTRACTORS = {
    "pipeline": pipeline_text,
    "pipeline extraction": pipeline_extraction_text,
    "trafilatura.extract": plain_trafilatura_text,
    "defaults + metadata": trafilatura_defaults_with_metadata,
}


def read_page(pages: pathlib.Path, page_id: str) -> bytes | None:
    for candidate in (
        pages / f"{page_id}.html",
        pages / f"{page_id}.html.gz",
        pages / page_id / "source.html",
    ):
        if candidate.exists():
            data = candidate.read_bytes()
            return gzip.decompress(data) if candidate.suffix == ".gz" else data
    return None


def score_pages(pages: pathlib.Path, truth: dict[str, dict], limit: int | None = None) -> dict:
    """{extractor: {page_id: (precision, recall, f1, seconds)}} for the pages found."""
    scores: dict[str, dict[str, tuple]] = {name: {} for name in EXTRACTORS}
    loaded = []
    for page_id in sorted(truth)[:limit]:
        html = read_page(pages, page_id)
        if html is not None:
            loaded.append((page_id, html, truth[page_id].get("url")))
    for page_id, html, url in loaded:
        expected = truth[page_id]["articleBody"]
        for name, extract in EXTRACTORS.items():
            scores[name][page_id] = shingle_prf(extract(html, url), expected)
    # Timed in a second pass, one extractor over every page at a time: the first extraction
    # of a page warms caches (htmldate's) that later ones reuse, so in the scoring pass the
    # extractor that runs first would pay for the others.
    for name, extract in EXTRACTORS.items():
        for page_id, html, url in loaded:
            started = time.perf_counter()
            extract(html, url)
            scores[name][page_id] = (*scores[name][page_id], time.perf_counter() - started)
    return scores


def summarize(scores: dict, page_ids=None) -> dict:
    """{extractor: {"precision", "recall", "f1", "ms_per_page", "pages"}} over `page_ids`."""
    results = {}
    for name, by_page in scores.items():
        rows = [row for page_id, row in by_page.items() if page_ids is None or page_id in page_ids]
        if rows:
            precision, recall, f1, seconds = (
                statistics.fmean(column) for column in zip(*rows, strict=True)
            )
            results[name] = {
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "ms_per_page": 1000 * seconds,
                "pages": len(rows),
            }
    return results


def halves(scores: dict) -> tuple[set[str], set[str]]:
    """Sorted page ids split in two: a change should help both halves, not a few pages."""
    page_ids = sorted({page_id for by_page in scores.values() for page_id in by_page})
    middle = (len(page_ids) + 1) // 2
    return set(page_ids[:middle]), set(page_ids[middle:])


def evaluate(pages: pathlib.Path, truth: dict[str, dict], limit: int | None = None) -> dict:
    """{extractor: {"precision", "recall", "f1", "ms_per_page", "pages"}}."""
    return summarize(score_pages(pages, truth, limit))


def format_pages(scores: dict, extractor: str = "pipeline") -> str:
    """One line per page, worst F1 first: where the losses are (precision: extra text kept,
    recall: article text missed)."""
    rows = sorted(scores.get(extractor, {}).items(), key=lambda item: item[1][2])
    lines = [f"{extractor + ' per page':<30}{'F1':>8}{'precision':>11}{'recall':>8}{'ms':>8}"]
    for page_id, (precision, recall, f1, seconds) in rows:
        lines.append(
            f"{page_id:<30}{f1:>8.3f}{precision:>11.3f}{recall:>8.3f}{1000 * seconds:>8.1f}"
        )
    return "\n".join(lines)


def format_table(results: dict) -> str:
    lines = [f"{'extractor':<22}{'pages':>6}{'F1':>8}{'precision':>11}{'recall':>8}{'ms/page':>9}"]
    for name, row in results.items():
        lines.append(
            f"{name:<22}{row['pages']:>6}{row['f1']:>8.3f}{row['precision']:>11.3f}"
            f"{row['recall']:>8.3f}{row['ms_per_page']:>9.1f}"
        )
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=pathlib.Path, help="folder of <id>.html[.gz]")
    parser.add_argument("--ground-truth", type=pathlib.Path, help='{id: {"articleBody", "url"}}')
    parser.add_argument("--readability", type=pathlib.Path, help="readability test-pages folder")
    parser.add_argument("--limit", type=int, default=None, help="first N pages only")
    parser.add_argument(
        "--halves", action="store_true", help="also score each half of the sorted page ids"
    )
    parser.add_argument(
        "--per-page", action="store_true", help="also list the pipeline's scores per page"
    )
    args = parser.parse_args(argv)
    if args.readability:
        pages, truth = args.readability, readability_ground_truth(args.readability)
    elif args.pages and args.ground_truth:
        pages, truth = args.pages, json.loads(args.ground_truth.read_text())
    else:
        parser.error("give --readability DIR, or --pages DIR and --ground-truth FILE")
    scores = score_pages(pages, truth, args.limit)
    results = summarize(scores)
    print(format_table(results))
    if args.halves:
        for label, page_ids in zip(("first half", "second half"), halves(scores), strict=True):
            if not page_ids:
                continue
            print(f"\n{label} ({min(page_ids)} .. {max(page_ids)})")
            print(format_table(summarize(scores, page_ids)))
    if args.per_page:
        print()
        print(format_pages(scores))
    return results


if __name__ == "__main__":
    main()
