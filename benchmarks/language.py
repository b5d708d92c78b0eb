"""Language detection: agreement with langdetect on the whole text, and cost per article.

    python benchmarks/language.py [--shared ../shared] [--starts-every 1000]

"The obvious way" runs langdetect (7 trials) over the whole article: about 9 ms on a news
article. The pipeline detects on a sample (transforms.text.language.detect_language). This prints,
for that setting and a few others, how often the sampled answer equals the whole-text answer
and the cost per article, on the articles of ../shared (readability `expected.html` texts and
the trafilatura-cache pages as the pipeline extracts them, many languages) and on texts
starting every `--starts-every` characters inside them (a sample is not always an article's
clean opening).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: import the repo's packages
    sys.path.insert(0, str(REPO))

from benchmarks.make_readability_ground_truth import html_to_text  # noqa: E402
from benchmarks.throughput_corpus import SHARED  # noqa: E402
from transforms.text.language import detect_language  # noqa: E402

# (label, quick sample chars, quick trials, fallback sample chars, fallback trials)
SETTINGS = [
    ("whole text, 7 trials", None, None, None, 7),
    ("1000 chars, 7 trials", None, None, 1000, 7),
    ("500 chars, 3 trials", None, None, 500, 3),
    ("500 / 3, else 1000 / 7", 500, 3, 1000, 7),
    ("300 / 3, else 1000 / 7", 300, 3, 1000, 7),
    ("200 / 3, else 1000 / 7", 200, 3, 1000, 7),
    ("200 / 2, else 1000 / 7", 200, 2, 1000, 7),
    ("150 / 3, else 1000 / 7", 150, 3, 1000, 7),
]
MIN_TEXT_CHARS = 200


def load_texts(shared: Path) -> list[str]:
    """Article texts of the shared corpora: readability ground truth and extracted pages."""
    from transforms.documents.html_extract import extract_html
    from transforms.records import PipelineError

    texts = []
    for expected in sorted((shared / "corpora/html/readability").glob("*/expected.html")):
        texts.append(html_to_text(expected.read_text(encoding="utf-8")))
    for page in sorted((shared / "corpora/html/trafilatura-cache").glob("*.html")):
        try:
            texts.append(extract_html(page.read_bytes()).text)
        except PipelineError:
            continue
    texts += [path.read_text(encoding="utf-8") for path in sorted((shared / "seeds").glob("*"))]
    return [text for text in texts if len(text) >= MIN_TEXT_CHARS]


def detector(quick_chars, quick_trials, chars, trials):
    return lambda text: detect_language(text, quick_chars, quick_trials, chars, trials)[0]


def evaluate(texts: list[str], windows: list[str], reference: list[str]) -> list[list[str]]:
    rows = []
    detectors = [(label, detector(*setting)) for label, *setting in SETTINGS]
    # The pipeline's row: detect_language with its own defaults.
    detectors.append(("pipeline", lambda text: detect_language(text)[0]))
    for label, detect in detectors:
        started = time.perf_counter()
        answers = [detect(text) for text in texts]
        ms = 1000 * (time.perf_counter() - started) / len(texts)
        window_answers = [detect(window) for window, _ in windows]
        articles_agree = sum(a == r for a, r in zip(answers, reference, strict=True))
        windows_agree = sum(a == r for a, (_, r) in zip(window_answers, windows, strict=True))
        rows.append(
            [
                label,
                f"{articles_agree}/{len(texts)}",
                f"{windows_agree}/{len(windows)}",
                f"{ms:.2f}",
            ]
        )
    return rows


def main(argv=None) -> list[list[str]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--starts-every", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=None, help="first N texts only")
    args = parser.parse_args(argv)
    texts = load_texts(args.shared)[: args.limit]
    whole = detector(None, None, None, 7)
    reference = [whole(text) for text in texts]
    windows = [
        (text[start:], language)
        for text, language in zip(texts, reference, strict=True)
        for start in range(args.starts_every, len(text) - MIN_TEXT_CHARS, args.starts_every)
    ]
    languages = sorted(set(reference))
    print(
        f"{len(texts)} articles in {len(languages)} languages ({', '.join(languages)}), "
        f"median {statistics.median(map(len, texts)):.0f} characters; "
        f"{len(windows)} texts starting every {args.starts_every} characters inside them"
    )
    rows = evaluate(texts, windows, reference)
    header = ["setting", "articles", "inner starts", "ms/article"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    return rows


if __name__ == "__main__":
    main()
