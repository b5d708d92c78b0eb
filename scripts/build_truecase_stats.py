"""Build transforms/data/truecase_en.tsv.gz: lowercase word -> casing, from SCOWL.

Source: Debian's `wamerican-large` (SCOWL word list, Kevin Atkinson; licence: "Permission to
use, copy, modify, distribute and sell these word lists, the associated scripts, the output
created from the scripts ... for any purpose", notice kept in
transforms/data/TRUECASE_SOURCES.md). Words the list spells with capitals and never in
lowercase get that casing ("moscow" -> "Moscow", "nato" -> "NATO"); words it has in lowercase
map to themselves ("trump", "may", "international"), which tells the truecaser to capitalize
them only on strong evidence from the run.

    apt-get install wamerican-large
    python scripts/build_truecase_stats.py /usr/share/dict/american-english-large
"""

from __future__ import annotations

import argparse
import gzip
import pathlib

OUTPUT = (
    pathlib.Path(__file__).resolve().parent.parent / "transforms" / "data" / "truecase_en.tsv.gz"
)


def casing_table(words: list[str]) -> dict[str, str]:
    """{lower: form} for names; {lower: lower} for common words (so the run's evidence must be
    strong to capitalize them)."""
    lowercase_words = {word for word in words if word.islower() and word.isalpha()}
    table: dict[str, str] = {word: word for word in lowercase_words}
    for word in words:
        if "'" in word or word.islower() or not word.isalpha():
            continue
        lower = word.lower()
        if lower in lowercase_words:
            continue
        # Two spellings differing in case only (e.g. "Mac"/"MAC"): keep the first, sorted.
        if lower not in table:
            table[lower] = word
    return table


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("word_list", type=pathlib.Path)
    parser.add_argument("--output", type=pathlib.Path, default=OUTPUT)
    args = parser.parse_args(argv)
    words = sorted(args.word_list.read_text(encoding="utf-8").split())
    table = casing_table(words)
    # mtime=0: the same input gives the same bytes.
    with gzip.GzipFile(args.output, "wb", mtime=0) as handle:
        handle.write(
            "".join(f"{lower}\t{form}\n" for lower, form in sorted(table.items())).encode()
        )
    print(f"{len(table)} casings -> {args.output} ({args.output.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
