"""Restoring lowercased, tokenized wire text: case accuracy and 4-gram F1 vs the original.

Cased articles (the English readability `expected.html` texts) are lowercased and tokenized
the way wire archives come (seed 001: `moscow ( reuters ) - ... mueller s office .`, one
sentence per line, quotes dropped), restored by the pipeline (detokenize + restore_case), and
compared with the original next to two baselines, in one run. "learned" also gives
restore_case the casings the pipeline would learn from the run's other cased articles
(leave-one-out), as it does in a real run.

`--pages DIR` prints the same table for a second, held-out set: the English pages (by
langdetect) of a directory of HTML files, their cased text extracted by trafilatura and
turned into wire form the same way. Tune on one set, confirm on the other.
`--timing` also prints the table load time and restore_case's milliseconds per article.

    python benchmarks/truecase.py --readability ../shared/corpora/html/readability \
        --pages ../shared/corpora/html/trafilatura-cache --timing
"""

from __future__ import annotations

import argparse
import pathlib
import re
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from benchmarks.make_readability_ground_truth import build as readability_ground_truth
from benchmarks.metrics import case_accuracy, shingle_prf
from transforms.text.detokenize import detokenize
from transforms.text.truecase import best_casings, count_casings, merge_casings, restore_case

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[\"'(]?[A-Z0-9])")
_DOTTED = re.compile(r"\b(?:[^\W\d_]\.){2,}")
_PUNCTUATION = re.compile(r"([,.;:!?()\[\]]|\s-\s)")


def wire_form(text: str) -> str:
    """Lowercased, tokenized, one sentence per line, apostrophes and quotes dropped, dotted
    abbreviations ("u.s.", "p.m.") kept whole."""
    sentences = []
    for paragraph in text.split("\n"):
        for sentence in _SENTENCE_SPLIT.split(paragraph):
            lowered = sentence.lower().replace("\u2019", "'").replace("'", " ")
            lowered = re.sub(r"[\"\u201c\u201d]", " ", lowered)
            # Dotted abbreviations stay whole, as tokenizers keep them (seed 001: "u.s.").
            lowered = _DOTTED.sub(lambda match: match.group().replace(".", "\0"), lowered)
            tokens = _PUNCTUATION.sub(r" \1 ", lowered).replace("\0", ".").split()
            if tokens:
                sentences.append(" ".join(tokens))
    return "\n".join(sentences)


def capitalize_sentence_starts(text: str) -> str:
    return "\n".join(line[:1].upper() + line[1:] for line in detokenize(text).split("\n"))


def evaluate(originals: list[str]) -> dict[str, dict[str, float]]:
    counts = [count_casings(text) for text in originals]
    methods = {
        "lowercase (baseline)": lambda wire, _i: detokenize(wire),
        "sentence starts (baseline)": lambda wire, _i: capitalize_sentence_starts(wire),
        "pipeline": lambda wire, _i: restore_case(detokenize(wire)),
        "pipeline + learned": lambda wire, i: restore_case(
            detokenize(wire), best_casings(_leave_one_out(counts, i))
        ),
    }
    results = {}
    for name, restore in methods.items():
        accuracy, f1 = [], []
        for index, original in enumerate(originals):
            restored = restore(wire_form(original), index)
            accuracy.append(case_accuracy(restored, original))
            f1.append(shingle_prf(restored, original)[2])
        results[name] = {"case_accuracy": statistics.fmean(accuracy), "f1": statistics.fmean(f1)}
    return results


def _leave_one_out(counts: list[dict], left_out: int) -> dict:
    merged: dict = {}
    for index, casings in enumerate(counts):
        if index != left_out:
            merge_casings(merged, casings)
    return merged


# Held-out pages: enough English prose to be an article, and mostly cased (not a shouted or
# lowercased page, whose "truth" says nothing about casing).
MIN_PAGE_WORDS = 150


def english_page_texts(directory: pathlib.Path) -> list[str]:
    """The cased main text of each English HTML page of `directory`, by trafilatura."""
    import trafilatura

    from transforms.text.language import detect_language

    texts = []
    for path in sorted(directory.glob("*.htm*")):
        html = path.read_text(encoding="utf-8", errors="replace")
        text = trafilatura.extract(html, include_comments=False, include_tables=False) or ""
        if len(text.split()) < MIN_PAGE_WORDS:
            continue
        if detect_language(text)[0] == "en":  # as the pipeline would tell
            texts.append(text)
    return texts


def time_restore_case(originals: list[str]) -> tuple[float, float]:
    """(seconds to load the packaged tables, mean ms of restore_case per article)."""
    from transforms.text import truecase

    for cached in (
        truecase._packaged_tables,
        truecase.packaged_phrases,
        truecase.packaged_names,
        truecase._packaged_surnames,
        truecase._packaged_phrase_prefixes,
    ):
        cached.cache_clear()
    started = time.perf_counter()
    restore_case("warm up.")
    load_seconds = time.perf_counter() - started
    wires = [detokenize(wire_form(text)) for text in originals]
    started = time.perf_counter()
    for wire in wires:
        restore_case(wire)
    per_article = (time.perf_counter() - started) * 1000 / max(len(wires), 1)
    return load_seconds, per_article


def print_table(title: str, count: int, results: dict) -> None:
    print(f"{title}: {count} English articles")
    print(f"{'method':<28}{'case accuracy':>14}{'4-gram F1':>11}")
    for name, row in results.items():
        print(f"{name:<28}{row['case_accuracy']:>14.3f}{row['f1']:>11.3f}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readability", type=pathlib.Path, required=True)
    parser.add_argument("--pages", type=pathlib.Path, help="held-out HTML pages (any language)")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--timing", action="store_true")
    args = parser.parse_args(argv)
    if args.timing:
        # Before anything loads the tables.
        load_seconds, _ = time_restore_case([])
    truth = readability_ground_truth(args.readability)
    originals = [
        page["articleBody"]
        for _, page in sorted(truth.items())
        if page.get("lang", "en").lower().startswith("en") and page["articleBody"].strip()
    ][: args.limit]
    results = evaluate(originals)
    print_table("readability", len(originals), results)
    pages: list[str] = []
    if args.pages:
        pages = english_page_texts(args.pages)[: args.limit]
        held_out = evaluate(pages) if pages else {}
        print()
        print_table(f"held-out ({args.pages.name})", len(pages), held_out)
        results = {**results, **{f"held-out {name}": row for name, row in held_out.items()}}
    if args.timing:
        _, per_article = time_restore_case(originals + pages)
        print()
        print(f"table load {load_seconds * 1000:.0f} ms; restore_case {per_article:.2f} ms/article")
    return results


if __name__ == "__main__":
    main()
