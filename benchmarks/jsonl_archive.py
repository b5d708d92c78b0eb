"""A large JSON-lines archive through the pipeline in waves: does it finish, in how much memory?

    .venv/bin/python benchmarks/jsonl_archive.py [--records 1000000] [--workers 2]
        [--wave-size 1000] [--gzip] [--work-dir benchmarks/_work]

Builds (once, reused while its manifest matches) one `.jsonl` file (`--gzip`: `.jsonl.gz`, not
splittable: one stream) of N distinct short news records: url, title, published date and
2-6 sentences of real prose from `../shared` (the seeds and the readability articles, in
several languages), each record made distinct by a numeric marker. 40 sites, so the per-source
statistics have work to do; about one record in fifty repeats an earlier text on another site,
so dedup does too.

Then runs `python -m pipeline --input FILE --output OUT --wave_size K` (with `--workers` > 1:
`--direct_num_workers N --direct_running_mode multi_processing`) as its own process and prints
wall and CPU seconds, documents per second and per CPU-second, peak RSS of the process tree
(sum over processes, sampled) and the run summary's rows, duplicates and dead letters.
The issue's goal: a 1,000,000-article archive to completion under 4 GB. No timing is asserted.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.throughput import WORK_DIR, run_measured  # noqa: E402
from benchmarks.throughput_corpus import SHARED, html_to_text  # noqa: E402

GOAL_PEAK_MB = 4096
SITES = 40
REPEAT_EVERY = 50  # one record in this many repeats an earlier text (a syndicated copy)
_SEED = 20261202


def sentence_pool(shared: Path = SHARED) -> list[str]:
    """Cased prose sentences of the seeds and the readability articles (40 to 400 chars)."""
    texts = [path.read_text(encoding="utf-8") for path in sorted((shared / "seeds").glob("*.txt"))]
    for expected in sorted((shared / "corpora" / "html" / "readability").glob("*/expected.html")):
        texts.append(html_to_text(expected.read_text(encoding="utf-8")))
    sentences = []
    for text in texts:
        for line in text.splitlines():
            for sentence in line.replace("? ", "?\n").replace(". ", ".\n").splitlines():
                sentence = sentence.strip()
                if 40 <= len(sentence) <= 400 and sentence[:1].isupper():
                    sentences.append(sentence)
    return sentences


def records(n: int, pool: list[str]):
    """N records; record i is made from the pool by a seeded generator, marked `#i`."""
    rng = random.Random(_SEED)
    earlier: list[str] = []
    for index in range(n):
        site = index % SITES
        if index % REPEAT_EVERY == REPEAT_EVERY - 1 and earlier:
            text = earlier[rng.randrange(len(earlier))]
        else:
            sentences = rng.sample(pool, rng.randint(2, 6))
            text = " ".join(sentences) + f" #{index}"
            if len(earlier) < 10_000:
                earlier.append(text)
        yield {
            "url": f"https://site{site:02d}.example/news/{index}",
            "title": rng.choice(pool)[:90],
            "published": f"2026-{1 + index % 12:02d}-{1 + index % 28:02d}",
            "text": text,
        }


def build_archive(n: int, directory: Path, compress: bool) -> Path:
    name = f"archive-{n}.jsonl" + (".gz" if compress else "")
    path = directory / name
    manifest = directory / f"{name}.manifest"
    expected = json.dumps({"records": n, "seed": _SEED, "sites": SITES})
    if path.is_file() and manifest.is_file() and manifest.read_text() == expected:
        return path
    directory.mkdir(parents=True, exist_ok=True)
    pool = sentence_pool()
    partial = path.with_suffix(path.suffix + ".part")
    opener = gzip.open if compress else open
    with opener(partial, "wt", encoding="utf-8") as out:
        for record in records(n, pool):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    partial.rename(path)
    manifest.write_text(expected)  # last: a half-built archive is never reused
    return path


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--wave-size", type=int, default=1000)
    parser.add_argument("--gzip", action="store_true", help="a .jsonl.gz archive (one stream)")
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR)
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="pipeline flags")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    archive = build_archive(args.records, args.work_dir / "jsonl", args.gzip)
    out = args.work_dir / f"out-jsonl-{args.records}"
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "pipeline", "--input", str(archive), "--output", str(out)]
    command += [f"--wave_size={args.wave_size}", "--quiet", *args.extra]
    if args.workers > 1:
        command += [
            f"--direct_num_workers={args.workers}",
            "--direct_running_mode=multi_processing",
        ]
    load = os.getloadavg()
    measured = run_measured(command, args.work_dir)
    if measured.returncode != 0:
        print(measured.stderr[-3000:], file=sys.stderr)
        return 1
    summary = json.loads((out / "_run_summary.json").read_text())
    figures = {
        "records": args.records,
        "archive_mb": round(archive.stat().st_size / 2**20, 1),
        "workers": args.workers,
        "wall_s": round(measured.wall_seconds, 1),
        "cpu_s": round(measured.cpu_seconds, 1),
        "docs_per_s": round(args.records / measured.wall_seconds, 1),
        "docs_per_cpu_s": round(args.records / measured.cpu_seconds, 1),
        "peak_rss_mb": round(measured.peak_rss_mb),
        "hwm_mb": [round(mb) for mb in measured.hwm_mb],
        "inputs": summary["inputs"],
        "rows": summary["rows"],
        "duplicates": summary["duplicates"],
        "dead_letters": summary["dead_letters"],
        "balanced": summary["balanced"],
    }
    print(f"nproc {os.cpu_count()}  load {' '.join(f'{x:.2f}' for x in load)}")
    print(json.dumps(figures))
    verdict = "MET" if measured.peak_rss_mb <= GOAL_PEAK_MB and summary["balanced"] else "NOT MET"
    print(
        f"{args.records} records: peak RSS {measured.peak_rss_mb:.0f} MB "
        f"(goal < {GOAL_PEAK_MB} MB, every input accounted for) -> {verdict}"
    )
    shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
