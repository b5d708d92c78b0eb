"""Restoring lowercased, tokenized wire text: case accuracy and 4-gram F1 vs the original.

Cased articles (the English readability `expected.html` texts) are lowercased and tokenized
the way wire archives come (seed 001: `moscow ( reuters ) - ... mueller s office .`, one
sentence per line, quotes dropped), restored by the pipeline (detokenize + restore_case), and
compared with the original next to two baselines, in one run. "learned" also gives
restore_case the casings the pipeline would learn from the run's other cased articles
(leave-one-out), as it does in a real run.

    python benchmarks/truecase.py --readability ../shared/corpora/html/readability
"""

from __future__ import annotations

import argparse
import pathlib
import re
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from benchmarks.make_readability_ground_truth import build as readability_ground_truth
from benchmarks.metrics import case_accuracy, shingle_prf
from transforms.detokenize import detokenize
from transforms.truecase import best_casings, count_casings, merge_casings, restore_case

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[\"'(]?[A-Z0-9])")
_PUNCTUATION = re.compile(r"([,.;:!?()\[\]]|\s-\s)")


def wire_form(text: str) -> str:
    """Lowercased, tokenized, one sentence per line, apostrophes and quotes dropped."""
    sentences = []
    for paragraph in text.split("\n"):
        for sentence in _SENTENCE_SPLIT.split(paragraph):
            lowered = sentence.lower().replace("\u2019", "'").replace("'", " ")
            lowered = re.sub(r"[\"\u201c\u201d]", " ", lowered)
            tokens = _PUNCTUATION.sub(r" \1 ", lowered).split()
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


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readability", type=pathlib.Path, required=True)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    truth = readability_ground_truth(args.readability)
    originals = [
        page["articleBody"]
        for _, page in sorted(truth.items())
        if page.get("lang", "en").lower().startswith("en") and page["articleBody"].strip()
    ][: args.limit]
    results = evaluate(originals)
    print(f"{len(originals)} English articles")
    print(f"{'method':<28}{'case accuracy':>14}{'4-gram F1':>11}")
    for name, row in results.items():
        print(f"{name:<28}{row['case_accuracy']:>14.3f}{row['f1']:>11.3f}")
    return results


if __name__ == "__main__":
    main()
