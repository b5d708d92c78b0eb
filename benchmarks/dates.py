"""Publication dates of extract_html against labelled pages, and its CPU cost per page.

Two sets: the readability pages (their expected-metadata.json `publishedTime`; a null there
means Readability found none, not that the page has none, so a date found on such a page is
counted as unchecked) and a held-out set of trafilatura-cache pages labelled by reading them
(benchmarks/dates_held_out.json; a null label means the page has no publication date,
so any date found there is wrong). Dates compare at day precision, as the page writes them.

    python benchmarks/dates.py
    # also the extract_html of an earlier commit, in the same process and conditions, and
    # the pages where the two differ in any output field
    python benchmarks/dates.py --baseline-commit b2a152b
    # add --per-page to list the pages with a wrong or lost date, --rounds 3 for steadier CPU,
    # --paired for CPU figures that hold up when other processes share the cores
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import json
import os
import pathlib
import subprocess
import sys
import time
import types
from collections.abc import Callable

import trafilatura
from trafilatura.meta import reset_caches

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from transforms.documents.html_extract import extract_html  # noqa: E402
from transforms.records import PipelineError  # noqa: E402

CORPORA = REPO.parent / "shared" / "corpora" / "html"
READABILITY = CORPORA / "readability"
TRAFILATURA_CACHE = CORPORA / "trafilatura-cache"
HELD_OUT_LABELS = REPO / "benchmarks" / "dates_held_out.json"
# A readability page whose publishedTime is null: no claim either way.
UNLABELLED = "unlabelled"

Extractor = Callable[[bytes, "str | None"], object]


@dataclasses.dataclass
class LabelledPage:
    page_id: str
    html: bytes
    url: str | None
    expected: str | None  # ISO day, None (no publication date) or UNLABELLED


def readability_pages(folder: pathlib.Path = READABILITY) -> list[LabelledPage]:
    pages = []
    for source in sorted(folder.glob("*/source.html")):
        metadata = json.loads((source.parent / "expected-metadata.json").read_text())
        published = metadata.get("publishedTime")
        expected = dt.date.fromisoformat(published[:10]).isoformat() if published else UNLABELLED
        pages.append(
            LabelledPage(source.parent.name, source.read_bytes(), metadata.get("url"), expected)
        )
    return pages


def held_out_pages(
    labels: pathlib.Path = HELD_OUT_LABELS, folder: pathlib.Path = TRAFILATURA_CACHE
) -> list[LabelledPage]:
    pages = json.loads(labels.read_text())["pages"]
    return [
        LabelledPage(name, (folder / name).read_bytes(), None, label["date"])
        for name, label in sorted(pages.items())
    ]


def all_pages(readability=READABILITY, cache=TRAFILATURA_CACHE) -> list[LabelledPage]:
    """Every page of both folders, for the cost figures (labels are not needed there)."""
    pages = [
        LabelledPage(p.parent.name, p.read_bytes(), None, None)
        for p in sorted(readability.glob("*/source.html"))
    ]
    pages += [
        LabelledPage(p.name, p.read_bytes(), None, None) for p in sorted(cache.glob("*.html"))
    ]
    return pages


def published_day(extract: Extractor, page: LabelledPage) -> str | None:
    """The day extract() dates the page, None when it finds no date or no article."""
    try:
        published_at = extract(page.html, page.url).published_at
    except PipelineError:
        return None
    return published_at.date().isoformat() if published_at else None


def count_dates(pages: list[LabelledPage], found: dict[str, str | None]) -> dict[str, int]:
    """found: pages dated; correct/wrong: against a label (a date on a no-date page is
    wrong); lost: a dated page left undated; unchecked: dated, but the page has no label."""
    counts = dict.fromkeys(("pages", "found", "correct", "wrong", "lost", "unchecked"), 0)
    for page in pages:
        day = found.get(page.page_id)
        counts["pages"] += 1
        counts["found"] += day is not None
        if page.expected == UNLABELLED:
            counts["unchecked"] += day is not None
        elif day is None:
            counts["lost"] += page.expected is not None
        elif day == page.expected:
            counts["correct"] += 1
        else:
            counts["wrong"] += 1
    return counts


def misdated(pages: list[LabelledPage], found: dict[str, str | None]) -> list[str]:
    """'page: expected -> found' for every wrong or lost date."""
    return [
        f"{page.page_id}: {page.expected} -> {found.get(page.page_id)}"
        for page in pages
        if page.expected != UNLABELLED and found.get(page.page_id) != page.expected
    ]


def cpu_ms_per_page(run: Callable[[LabelledPage], object], pages: list[LabelledPage]) -> float:
    started = time.process_time()
    for page in pages:
        run(page)
    return 1000 * (time.process_time() - started) / max(len(pages), 1)


def baseline_from_commit(commit: str) -> Extractor:
    """extract_html as html_extract.py had it at `commit`, loaded beside the current one."""
    source = subprocess.run(
        ["git", "show", f"{commit}:transforms/documents/html_extract.py"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType(f"html_extract_{commit}")
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    exec(compile(source, f"{commit}:html_extract.py", "exec"), module.__dict__)
    return module.extract_html


def extraction_output(extract: Extractor, page: LabelledPage) -> dict | str:
    """Every field extract() returns for the page, or the dead-letter reason."""
    try:
        return dataclasses.asdict(extract(page.html, page.url))
    except PipelineError as error:
        return f"PipelineError: {error}"


def differing_pages(
    extract: Extractor, baseline: Extractor, pages: list[LabelledPage]
) -> list[str]:
    """The pages where the two extractors differ in any field (text, title, author, ...)."""
    return [
        page.page_id
        for page in pages
        if extraction_output(extract, page) != extraction_output(baseline, page)
    ]


def configurations(baseline_commit: str | None = None) -> dict[str, Extractor]:
    chosen: dict[str, Extractor] = {}
    if baseline_commit:
        chosen[f"extract_html @{baseline_commit}"] = baseline_from_commit(baseline_commit)
    chosen["extract_html"] = extract_html
    chosen["no extensive fallback"] = functools.partial(extract_html, date_fallback=False)
    return chosen


def plain_trafilatura(page: LabelledPage) -> object:
    return trafilatura.extract(page.html, url=page.url)


def format_counts(rows: dict[str, dict[str, int]]) -> str:
    columns = ("pages", "found", "correct", "wrong", "lost", "unchecked")
    lines = [f"{'configuration':<28}" + "".join(f"{column:>10}" for column in columns)]
    for name, counts in rows.items():
        lines.append(f"{name:<28}" + "".join(f"{counts[column]:>10}" for column in columns))
    return "\n".join(lines)


def evaluate(
    sets: dict[str, list[LabelledPage]], chosen: dict[str, Extractor]
) -> dict[str, dict[str, tuple[dict[str, int], dict[str, str | None]]]]:
    """{set: {configuration: (counts, {page_id: day})}}."""
    results: dict = {}
    for set_name, pages in sets.items():
        results[set_name] = {}
        for name, extract in chosen.items():
            found = {page.page_id: published_day(extract, page) for page in pages}
            results[set_name][name] = (count_dates(pages, found), found)
    return results


def warmed_runners(
    chosen: dict[str, Extractor], pages: list[LabelledPage]
) -> dict[str, Callable[[LabelledPage], object]]:
    """Each configuration and trafilatura.extract defaults, run over all pages once untimed
    (one-time set-up: regexes, the dateparser instance)."""
    runners: dict[str, Callable[[LabelledPage], object]] = {
        name: functools.partial(published_day, extract) for name, extract in chosen.items()
    }
    runners["trafilatura.extract defaults"] = plain_trafilatura
    for run in runners.values():
        cpu_ms_per_page(run, pages)
    return runners


def measure_cost(
    chosen: dict[str, Extractor], pages: list[LabelledPage], rounds: int = 1
) -> dict[str, float]:
    """CPU ms/page of each configuration and of trafilatura.extract defaults, the least of
    `rounds` rounds that take turns (other processes on the machine only ever add time),
    after a warm-up pass (warmed_runners); each timed pass starts with trafilatura's and
    htmldate's LRU caches empty, as a worker meets new pages: warm, they hide most of the
    cost of the extensive date search (qq: 690 ms cold, a few ms warm)."""
    runners = warmed_runners(chosen, pages)
    best: dict[str, float] = {}
    for _round in range(max(rounds, 1)):
        for name, run in runners.items():
            reset_caches()
            best[name] = min(best.get(name, float("inf")), cpu_ms_per_page(run, pages))
    return best


def measure_cost_paired(
    chosen: dict[str, Extractor], pages: list[LabelledPage], rounds: int = 1
) -> dict[str, float]:
    """CPU ms/page as the mean over pages of each page's least time over `rounds`, the
    configurations taking turns page by page, caches emptied before every call: steadier
    than measure_cost when other processes share the cores (their cache and memory
    traffic inflates a whole pass, not the same page in every round)."""
    runners = warmed_runners(chosen, pages)
    least = {name: [float("inf")] * len(pages) for name in runners}
    for _round in range(max(rounds, 1)):
        for index, page in enumerate(pages):
            for name, run in runners.items():
                reset_caches()
                started = time.process_time()
                run(page)
                least[name][index] = min(least[name][index], time.process_time() - started)
    return {name: 1000 * sum(times) / max(len(times), 1) for name, times in least.items()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readability", type=pathlib.Path, default=READABILITY)
    parser.add_argument("--cache", type=pathlib.Path, default=TRAFILATURA_CACHE)
    parser.add_argument("--labels", type=pathlib.Path, default=HELD_OUT_LABELS)
    parser.add_argument("--baseline-commit", help="also run extract_html of this git commit")
    parser.add_argument("--no-cost", action="store_true", help="dates only, no CPU figures")
    parser.add_argument("--rounds", type=int, default=1, help="timed rounds; the least counts")
    parser.add_argument("--per-page", action="store_true", help="list wrong and lost dates")
    parser.add_argument(
        "--paired", action="store_true", help="CPU: each page's least time, turns page by page"
    )
    args = parser.parse_args(argv)
    chosen = configurations(args.baseline_commit)
    sets = {
        "readability publishedTime": readability_pages(args.readability),
        "held-out (read by hand)": held_out_pages(args.labels, args.cache),
    }
    results = evaluate(sets, chosen)
    if args.baseline_commit:
        # the labelled pages carry their URLs; all_pages the held-out ones and the rest
        compared = sets["readability publishedTime"] + all_pages(args.readability, args.cache)
        differing = differing_pages(
            extract_html, chosen[f"extract_html @{args.baseline_commit}"], compared
        )
        print(
            f"\nextract_html vs @{args.baseline_commit}: {len(differing)} of {len(compared)} "
            f"extractions differ in some field {differing[:10]}"
        )
    for set_name, rows in results.items():
        print(f"\n{set_name}")
        print(format_counts({name: counts for name, (counts, _found) in rows.items()}))
        if args.per_page:
            for name, (_counts, found) in rows.items():
                for line in misdated(sets[set_name], found):
                    print(f"  {name}: {line}")
    cost = {}
    if not args.no_cost:
        pages = all_pages(args.readability, args.cache)
        measure = measure_cost_paired if args.paired else measure_cost
        cost = measure(chosen, pages, args.rounds)
        least = "each page's least" if args.paired else "least"
        print(
            f"\nCPU ms/page over {len(pages)} pages (readability + trafilatura-cache), "
            f"{least} of {max(args.rounds, 1)} round(s)"
        )
        for name, ms in cost.items():
            print(f"{name:<30}{ms:>8.1f}")
        print("load average: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    return {"dates": results, "cpu_ms_per_page": cost}


if __name__ == "__main__":
    main()
