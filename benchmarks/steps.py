"""Milliseconds per document of each step the pipeline runs, called directly (no Beam).

    python benchmarks/steps.py benchmarks/_work/text-2000/docs [--limit 500]

Reads every file under the folder as the pipeline does, extracts its articles, then times each
step over all of them, one step at a time: where the time of `python -m pipeline` goes apart
from the runner's own (see `beam only` in benchmarks/throughput.py). Run
benchmarks/throughput.py once first to build the corpora under benchmarks/_work/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: import the repo's packages
    sys.path.insert(0, str(REPO))

from transforms.clean import CorpusStatistics, clean_article  # noqa: E402
from transforms.enrich import enrich_article  # noqa: E402
from transforms.extract import extract_article  # noqa: E402
from transforms.read import iter_file_documents  # noqa: E402
from transforms.records import PipelineError, RawDocument  # noqa: E402
from transforms.text.boilerplate import remove_boilerplate_lines  # noqa: E402
from transforms.text.detokenize import detokenize  # noqa: E402
from transforms.text.language import detect_language  # noqa: E402
from transforms.text.truecase import count_casings, is_lowercased, restore_case  # noqa: E402
from transforms.text.unicode_fix import fix_unicode  # noqa: E402

MAX_BYTES = 10 * 1024 * 1024


def _articles(folder: Path, limit: int | None) -> tuple[list, float]:
    """The extracted articles of the folder's files, and the read + extract seconds."""
    paths = sorted(path for path in folder.rglob("*") if path.is_file())[:limit]
    articles, started = [], time.perf_counter()
    for path in paths:
        for document in iter_file_documents(str(path.resolve()), MAX_BYTES):
            if isinstance(document, RawDocument):
                try:
                    articles.append(extract_article(document))
                except PipelineError:
                    continue
    return articles, time.perf_counter() - started


def _time(step, items) -> float:
    started = time.perf_counter()
    for item in items:
        try:
            step(item)
        except PipelineError:
            continue
    return 1000 * (time.perf_counter() - started) / max(len(items), 1)


def main(argv=None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int, default=None, help="first N files only")
    args = parser.parse_args(argv)
    articles, read_seconds = _articles(args.folder, args.limit)
    if not articles:
        raise SystemExit(f"no article under {args.folder}")
    lowercased = [a for a in articles if is_lowercased(a.text)]
    cased = [a for a in articles if not is_lowercased(a.text)]
    statistics = CorpusStatistics()
    clean_article(articles[0], statistics, min_words=0)  # tables and rules loaded once
    detect_language("warm up the language profiles")
    cleaned = []
    for article in articles:
        try:
            cleaned.append(clean_article(article, statistics, min_words=0))
        except PipelineError:
            continue
    now = dt.datetime.now(dt.timezone.utc)
    figures = {
        "read + extract": 1000 * read_seconds / len(articles),
        "clean_article": _time(lambda a: clean_article(a, statistics, min_words=0), articles),
        "  fix_unicode": _time(lambda a: fix_unicode(a.text), articles),
        "  remove_boilerplate_lines": _time(
            lambda a: remove_boilerplate_lines([line for line in a.text.split("\n") if line]),
            articles,
        ),
        "  restore_case (lowercased only)": _time(
            restore_case, [detokenize(a.text) for a in lowercased]
        ),
        "count_casings (cased only)": _time(lambda a: count_casings(a.text), cased),
        "enrich_article": _time(lambda a: enrich_article(a, now), cleaned),
        "  detect_language": _time(lambda a: detect_language(a.text), cleaned),
    }
    print(
        f"{len(articles)} articles ({len(lowercased)} lowercased) from {args.folder}; "
        "ms per article of each step"
    )
    for name, ms in figures.items():
        print(f"{name:<34}{ms:>8.2f}")
    return figures


if __name__ == "__main__":
    main()
