"""CPU microseconds per text document of each pure step, and a check that outputs stay the same.

    .venv/bin/python benchmarks/text_cost.py [--n 1000] [--records 2000]
    .venv/bin/python benchmarks/text_cost.py --snapshot /tmp/text_outputs.json.gz
    .venv/bin/python benchmarks/text_cost.py --check /tmp/text_outputs.json.gz

Inputs: the text corpus of `benchmarks/throughput.py --corpus text` (N marked copies of
throughput_corpus.text_sources: seeds, CNN/DM token lists, readability prose), the same sources
unmarked, and a JSON-lines file of short news records made from them. Each document goes
through the pure functions in the order of a batch run (read and sniff, extract, the
statistics pass's fingerprints, vocabulary and casings, clean, enrich), timed with
time.process_time (CPU of this process, so another process's load does not count; the load
average is printed beside the figures all the same). Clean is split by wrapping the
functions clean_article calls (unicode, boilerplate, detokenize, truecase); the wrappers of
the Beam steps are timed around a function that does nothing (FailSafeMap's DoFn) or, for
run_with_deadline, around a loop of bytecode minus the loop alone: a thread the wrapper wakes
contends for the GIL only with a step that runs.

`--snapshot` writes every document's outputs (cleaned text, title, language, hashes, fixes,
fingerprints, dead letters) and the run's statistics; `--check` recomputes them and reports
every difference (exit 1 when there is one): the proof that a speed change changed no output.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gzip
import hashlib
import json
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: import the repo's packages
    sys.path.insert(0, str(REPO))

from benchmarks.throughput_corpus import (  # noqa: E402
    SHARED,
    build_corpus,
    copy_plan,
    mark_text,
    text_sources,
)
from transforms import clean as clean_module  # noqa: E402
from transforms import enrich as enrich_module  # noqa: E402
from transforms.clean import CorpusStatistics, clean_article  # noqa: E402
from transforms.corpus_stats import (  # noqa: E402
    DEFAULT_MIN_DOCS,
    DEFAULT_MIN_SHARE,
    is_learned_boilerplate,
    short_line_fingerprints,
)
from transforms.deadline import run_with_deadline  # noqa: E402
from transforms.enrich import enrich_article  # noqa: E402
from transforms.extract import extract_article  # noqa: E402
from transforms.failsafe import _FailSafeDoFn  # noqa: E402
from transforms.read import DEFAULT_MAX_DOCUMENT_BYTES, iter_file_documents  # noqa: E402
from transforms.records import PipelineError, RawDocument  # noqa: E402
from transforms.text.truecase import (  # noqa: E402
    count_casings,
    is_lowercased,
    lowercased_vocabulary,
    merge_casings,
)

WORK_DIR = REPO / "benchmarks" / "_work"
INGESTED_AT = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
# Steps of clean_article timed apart: (name in the table, function clean.py calls).
CLEAN_PARTS = {
    "fix_unicode": "clean: unicode (ftfy, punctuation, NFC)",
    "_clean_line_list": "clean: whitespace and lines",
    "remove_boilerplate_lines": "clean: boilerplate rules",
    "looks_tokenized": "clean: detokenize",
    "detokenize": "clean: detokenize",
    "detokenize_line": "clean: detokenize",
    "is_lowercased": "clean: truecase",
    "restore_case": "clean: truecase",
    "count_words": "clean: word count",
}
JSONL_TEXT_CHARS = 600
# Iterations of the loop run_with_deadline is timed around: about a step's CPU (~0.3 ms).
STEP_LOOP = 10_000


class StepClock:
    """CPU seconds per step name; `wrap` times a function under a step name."""

    def __init__(self):
        self.seconds: Counter = Counter()
        self._depth = 0

    def call(self, name: str, fn, *args):
        started = time.process_time()
        try:
            return fn(*args)
        finally:
            self.seconds[name] += time.process_time() - started

    def wrap(self, name: str, fn):
        def timed(*args, **kwargs):
            # Nested calls (clean_title -> fix_unicode inside a timed part) count once.
            if self._depth:
                return fn(*args, **kwargs)
            self._depth += 1
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.process_time() - started
                self._depth -= 1

        return timed


def build_jsonl(path: Path, sources: list[tuple[str, bytes]], records: int) -> Path:
    """Short news records (url, title, published, ~600 characters of text), distinct copies."""
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for index, (copy, name, payload) in enumerate(copy_plan(sources, records)):
        text_lines = [line for line in mark_text(payload, copy).decode().split("\n") if line]
        title, body = text_lines[0][:150], "\n".join(text_lines[1:])
        cut = body.rfind(" ", 0, JSONL_TEXT_CHARS)
        body = body[: cut if len(body) > JSONL_TEXT_CHARS and cut > 0 else len(body)]
        site = name.rsplit(".", 1)[0].split("-")[0]
        record = {
            "url": f"https://c{copy:04d}.{site}.example/news/{index}",
            "title": title,
            "text": body,
            "published": f"2017-11-{1 + index % 28:02d}T10:00:00Z",
        }
        lines.append(json.dumps(record, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_unmarked(directory: Path, sources: list[tuple[str, bytes]]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, payload in sources:
        path = directory / name
        if not path.is_file():
            path.write_bytes(payload)
        paths.append(path)
    return paths


def corpora(args) -> dict[str, list[Path]]:
    sources = text_sources(args.shared)
    text_dir = args.work_dir / f"text-{args.n}"
    return {
        "text": build_corpus(sources, args.n, text_dir),
        "unmarked": write_unmarked(args.work_dir / "text-sources", sources),
        "jsonl": [build_jsonl(args.work_dir / f"news-{args.records}.jsonl", sources, args.records)],
    }


def learn_statistics(articles, clock: StepClock) -> CorpusStatistics:
    """The statistics a batch run learns (pipeline/waves.py's rules), the per-document parts
    timed: fingerprints and vocabulary of every article, casings of the cased ones."""
    by_source: dict[str, tuple[set, Counter]] = defaultdict(lambda: (set(), Counter()))
    vocabulary: set[str] = set()
    for article in articles:
        fingerprints = clock.call(
            "fingerprints (stats pass)", short_line_fingerprints, article.text
        )
        digests, counts = by_source[article.source_key]
        digest = hashlib.blake2b(article.text.encode(), digest_size=8).hexdigest()
        if digest not in digests:
            digests.add(digest)
            counts.update(fingerprints)
        vocabulary |= clock.call("vocabulary (stats pass)", lowercased_vocabulary, article.text)
    learned = {
        source: frozenset(
            fp
            for fp, n in counts.items()
            if is_learned_boilerplate(n, len(digests), DEFAULT_MIN_DOCS, DEFAULT_MIN_SHARE)
        )
        for source, (digests, counts) in by_source.items()
    }
    merged: dict[str, Counter] = {}
    if vocabulary:
        frozen = frozenset(vocabulary)
        for article in articles:
            if not clock.call("casings (stats pass)", is_lowercased, article.text):
                counted = clock.call("casings (stats pass)", count_casings, article.text, frozen)
                merge_casings(merged, counted)
    casings = {word: forms for word, forms in merged.items() if set(forms) != {word}}
    return CorpusStatistics(
        boilerplate_lines={k: v for k, v in learned.items() if v}, casings=casings
    )


def _outcome(article) -> dict:
    return {
        "text": article.text,
        "title": article.title,
        "language": article.language,
        "language_score": article.language_score,
        "word_count": article.word_count,
        "char_count": article.char_count,
        "content_sha256": article.content_sha256,
        "fixes": article.fixes,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "date_source": article.date_source,
        "source_key": article.source_key,
        "url": article.url,
    }


def run_corpus(paths: list[Path], clock: StepClock) -> tuple[dict, int]:
    """Every document of `paths` through the pure steps; {source_uri: outcome}, documents."""
    outcomes: dict[str, dict] = {}
    documents: list[RawDocument] = []
    for path in paths:
        items = clock.call(
            "read + sniff",
            lambda p: list(iter_file_documents(p, DEFAULT_MAX_DOCUMENT_BYTES)),
            str(path),
        )
        for item in items:
            if isinstance(item, RawDocument):
                documents.append(item)
            else:
                outcomes[item["source_uri"]] = {"dead": ["read", item["error_type"]]}
    articles = []
    for document in documents:
        try:
            articles.append(clock.call("extract", extract_article, document))
        except PipelineError as error:
            outcomes[document.source_uri] = {"dead": ["extract", error.error_type]}
    statistics = learn_statistics(articles, clock)
    for article in articles:
        fingerprints = short_line_fingerprints(article.text)
        try:
            cleaned = clock.call("clean (total)", clean_article, article, statistics)
        except PipelineError as error:
            outcomes[article.source_uri] = {"dead": ["clean", error.error_type]}
            continue
        enriched = clock.call("enrich (total)", enrich_article, cleaned, INGESTED_AT)
        outcome = _outcome(enriched)
        outcome["fingerprints"] = sorted(fingerprints)
        outcomes[article.source_uri] = outcome
    outcomes["#statistics"] = {
        "boilerplate_lines": {
            k: sorted(v) for k, v in sorted(statistics.boilerplate_lines.items())
        },
        "casing_table": sorted(statistics.casing_table().items()) if statistics.casings else [],
    }
    return outcomes, len(documents)


def wrapper_overhead(documents: int, clock: StepClock) -> None:
    """Per document: run_with_deadline twice (extract, clean), FailSafeMap's DoFn three times."""
    element = RawDocument("file:///x.txt", b"text", "text")

    def nothing(item):
        return item

    def step(item):
        for _ in range(STEP_LOOP):
            pass
        return item

    dofn = _FailSafeDoFn("cost", nothing)
    for _ in range(documents):
        for _ in range(2):
            started = time.process_time()
            step(element)
            alone = time.process_time() - started
            clock.call("deadline wrapper (x2)", run_with_deadline, 60.0, step, element)
            clock.seconds["deadline wrapper (x2)"] -= alone
        for _ in range(3):
            clock.call("failsafe DoFn (x3)", lambda: list(dofn.process(element)))


def measure(paths: list[Path]) -> tuple[dict, dict[str, float], int]:
    clock = StepClock()
    originals = {name: getattr(clean_module, name) for name in CLEAN_PARTS}
    original_language = enrich_module.detect_language
    for name, label in CLEAN_PARTS.items():
        setattr(clean_module, name, clock.wrap(label, originals[name]))
    enrich_module.detect_language = clock.wrap("enrich: language", original_language)
    try:
        outcomes, documents = run_corpus(paths, clock)
    finally:
        for name, fn in originals.items():
            setattr(clean_module, name, fn)
        enrich_module.detect_language = original_language
    wrapper_overhead(documents, clock)
    seconds = dict(clock.seconds)
    parts = sum(v for k, v in seconds.items() if k.startswith("clean: "))
    seconds["clean: rest"] = seconds.get("clean (total)", 0.0) - parts
    seconds["enrich: hash + counts"] = seconds.get("enrich (total)", 0.0) - seconds.get(
        "enrich: language", 0.0
    )
    return outcomes, seconds, documents


ROWS = [
    "read + sniff",
    "extract",
    "fingerprints (stats pass)",
    "vocabulary (stats pass)",
    "casings (stats pass)",
    "clean (total)",
    "clean: unicode (ftfy, punctuation, NFC)",
    "clean: whitespace and lines",
    "clean: boilerplate rules",
    "clean: detokenize",
    "clean: truecase",
    "clean: word count",
    "clean: rest",
    "enrich (total)",
    "enrich: language",
    "enrich: hash + counts",
    "deadline wrapper (x2)",
    "failsafe DoFn (x3)",
]
PURE = ["read + sniff", "extract", "fingerprints (stats pass)", "vocabulary (stats pass)"]
PURE += ["casings (stats pass)", "clean (total)", "enrich (total)"]


def print_table(results: dict[str, tuple[dict[str, float], int]]) -> dict[str, dict[str, float]]:
    names = list(results)
    figures = {
        name: {row: 1e6 * seconds.get(row, 0.0) / max(docs, 1) for row in ROWS}
        for name, (seconds, docs) in results.items()
    }
    for name in names:
        per_doc = figures[name]
        per_doc["pure steps (all above but clean:/enrich: parts)"] = sum(per_doc[r] for r in PURE)
        per_doc["pure steps without language"] = (
            per_doc["pure steps (all above but clean:/enrich: parts)"] - per_doc["enrich: language"]
        )
        per_doc["pure steps + wrappers"] = (
            per_doc["pure steps (all above but clean:/enrich: parts)"]
            + per_doc["deadline wrapper (x2)"]
            + per_doc["failsafe DoFn (x3)"]
        )
    header = "".join(f"{f'{n} ({results[n][1]} docs)':>24}" for n in names)
    print(f"CPU microseconds per document (time.process_time), load {os.getloadavg()[0]:.2f}")
    print(f"{'step':<50}{header}")
    for row in figures[names[0]]:
        print(f"{row:<50}" + "".join(f"{figures[n][row]:>24.0f}" for n in names))
    return figures


def snapshot_differences(saved: dict, current: dict) -> list[str]:
    differences = []
    for key in sorted(set(saved) | set(current)):
        if key not in current:
            differences.append(f"{key}: missing now")
        elif key not in saved:
            differences.append(f"{key}: new")
        elif saved[key] != current[key]:
            fields = sorted(
                f
                for f in set(saved[key]) | set(current[key])
                if saved[key].get(f) != current[key].get(f)
            )
            differences.append(f"{key}: {', '.join(fields)} differ")
    return differences


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="documents of the text corpus")
    parser.add_argument("--records", type=int, default=2000, help="records of the JSONL file")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR)
    parser.add_argument("--snapshot", type=Path, help="write every document's outputs here")
    parser.add_argument("--check", type=Path, help="compare the outputs with this snapshot")
    args = parser.parse_args(argv)
    # Tables, rules and language profiles loaded before anything is timed.
    warm = CorpusStatistics(casings={"putin": Counter({"Putin": 2})})
    clean_article(
        dataclasses.replace(
            extract_article(RawDocument("file:///w.txt", b"moscow ( reuters ) - " * 20, "text")),
            source_key="w",
        ),
        warm,
        min_words=0,
    )
    enrich_article(
        clean_article(
            extract_article(RawDocument("file:///w.txt", b"A warm up text. " * 20, "text"))
        ),
        INGESTED_AT,
    )
    results, outcomes = {}, {}
    for name, paths in corpora(args).items():
        corpus_outcomes, seconds, documents = measure(paths)
        results[name] = (seconds, documents)
        outcomes.update({f"{name}:{k}": v for k, v in corpus_outcomes.items()})
    figures = print_table(results)
    if args.snapshot:
        with gzip.open(args.snapshot, "wt", encoding="utf-8") as handle:
            json.dump(outcomes, handle, ensure_ascii=False, sort_keys=True)
        print(f"{len(outcomes)} outcomes written to {args.snapshot}")
    if args.check:
        with gzip.open(args.check, "rt", encoding="utf-8") as handle:
            saved = json.load(handle)
        current = json.loads(json.dumps(outcomes, ensure_ascii=False))
        differences = snapshot_differences(saved, current)
        for line in differences[:50]:
            print("DIFFERENT", line)
        print(f"check: {len(saved)} outcomes saved, {len(differences)} differ")
        if differences:
            raise SystemExit(1)
    return figures


if __name__ == "__main__":
    main()
