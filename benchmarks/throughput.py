"""Throughput: documents per second per core, against the cost of the libraries we call.

    .venv/bin/python benchmarks/throughput.py [--n 2000] [--corpus html|text|both]
        [--skip-multi] [--skip-memory] [--skip-beam-only] [--skip-floor] [--skip-peers]
        [--memory-n 500] [--memory-large N] [--memory-workers 1] [--workers 2]
        [--wave-size 1000] [--peers-python /work/peers-venv/bin/python]
        [--json FILE] [--sources K] [--work-dir benchmarks/_work]

For each corpus (see benchmarks/throughput_corpus.py for how N distinct documents are made),
one table, every run a separate process measured from outside (wall time includes startup):

- floor: a plain loop calling only the libraries the pipeline needs per document, as the
  pipeline calls them (trafilatura through `documents.html_extract.extract_html`: its options
  and its retry with fallbacks; langdetect with the samples and trials of
  `transforms.enrich.detect_language`; sha256; one zstd Parquet file), single process, no Beam;
- bare extract (HTML): a plain loop of `trafilatura.extract(page)` with its defaults, nothing
  else: the floor the issue sets the whole pipeline against (goal: at least 0.8 of its rate);
- bare extract Np (HTML, with a multi run): the same loop over N processes of a pool (forked
  after importing trafilatura): what N processes get from this machine with no pipeline at
  all, the ceiling of the pipeline's Nw / 1w;
- peers (HTML, with --peers-python, a separate venv): datatrove, news-please and newspaper4k
  on the same pages through benchmarks/peers.py, each writing one Parquet file;
- pipeline 1w: `python -m pipeline --input ... --output ... --wave_size K` on the local
  (FnApiRunner) runner (`--wave-size 0`: the unbounded graph, everything in memory);
- pipeline Nw: the same with `--direct_num_workers N --direct_running_mode multi_processing`;
- pipeline at --memory-n and at --memory-large documents (default N; --memory-workers
  workers): is peak memory flat in N (goal: at most 1.15x)? With --memory-large unset its
  time also gives the marginal rate (startup excluded).
- beam only 1w (and at --memory-n): the same pipeline with every library call and cleaning
  step replaced by a trivial one: what Beam's local runner, reading, dedup and writing cost
  alone, and how its memory grows with N.

Memory: `peak RSS` is the peak of the sum of the RSS of the process and all its descendants,
sampled every SAMPLE_SECONDS; `HWM` lists each process's own high-water mark (VmHWM), main
process first (multi-process runs: the runner, then its workers and their `sh` wrappers). CPU
is user+system time of the whole tree. Run nothing else heavy meanwhile: the `load` column
is the 1-minute load average when each run started. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: import the repo's packages and the helper
    sys.path.insert(0, str(REPO))

from benchmarks.throughput_corpus import (  # noqa: E402
    SHARED,
    build_corpus,
    html_sources,
    text_sources,
)

WORK_DIR = REPO / "benchmarks" / "_work"
SAMPLE_SECONDS = 0.05
HTML_SUFFIXES = (".html", ".htm")
# Goals of the issue.
GOAL_FLOOR_RATIO = 0.9
GOAL_BARE_RATIO = 0.8  # whole pipeline against a bare trafilatura.extract loop
GOAL_MEMORY_GROWTH = 0.15  # "flat": at most this much more peak RSS at N than at memory_n
GOAL_SPEEDUP = 1.8
GOAL_TEXT_DOCS_PER_CORE = 500
BEAM_ONLY = "beam only 1w"
BEAM_ONLY_ARTICLE_BYTES = 6000
BARE = "bare extract"
PEERS_PYTHON = Path("/work/peers-venv/bin/python")
PEERS = ("datatrove", "news-please", "newspaper4k")


# ---------------------------------------------------------------- the floor (a child process)


def floor_loop(paths: list[str], output_file: str) -> dict:
    """Extract, detect language, hash, write Parquet: the libraries alone, in a plain loop."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    # trafilatura and langdetect exactly as the pipeline calls them: trafilatura's options and
    # its second, thorough pass on pages where the fast one finds little text; langdetect on
    # the pipeline's samples. Neither module imports Beam.
    from transforms.documents.html_extract import extract_html
    from transforms.records import PipelineError
    from transforms.text.language import detect_language

    started = time.perf_counter()
    rows, empty = [], 0
    for path in paths:
        payload = Path(path).read_bytes()
        if path.endswith(HTML_SUFFIXES):
            try:
                text = extract_html(payload).text
            except PipelineError:
                text = ""
        else:
            text = payload.decode("utf-8", errors="replace")
        if not text.strip():
            empty += 1
            continue
        language, score = detect_language(text)
        rows.append(
            {
                "source_uri": path,
                "text": text,
                "language": language,
                "language_score": score,
                "word_count": len(text.split()),
                "content_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
            }
        )
    pq.write_table(pa.Table.from_pylist(rows), output_file, compression="zstd")
    return {"rows": len(rows), "empty": empty, "loop_seconds": time.perf_counter() - started}


def bare_extract_loop(paths: list[str]) -> dict:
    """trafilatura.extract with its defaults over the pages, nothing else."""
    import trafilatura

    started = time.perf_counter()
    rows = empty = 0
    for path in paths:
        text = trafilatura.extract(Path(path).read_bytes())
        if text and text.strip():
            rows += 1
        else:
            empty += 1
    return {"rows": rows, "empty": empty, "loop_seconds": time.perf_counter() - started}


def _bare_extract_one(path: str) -> bool:
    import trafilatura

    text = trafilatura.extract(Path(path).read_bytes())
    return bool(text and text.strip())


def bare_extract_pool(paths: list[str], workers: int) -> dict:
    """bare_extract_loop over `workers` forked processes, a few pages per task."""
    import multiprocessing

    import trafilatura  # noqa: F401 - imported once, before the fork, as the pipeline does

    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        found = list(pool.imap_unordered(_bare_extract_one, paths, chunksize=4))
    rows = sum(found)
    return {"rows": rows, "empty": len(found) - rows, "loop_seconds": time.perf_counter() - started}


def beam_only(argv: list[str]) -> None:
    """The pipeline with every per-document library call and cleaning step replaced by a
    trivial one (text kept as read, no language, no statistics): what the runner, reading,
    dedup and writing cost on their own."""
    from pipeline import graph
    from transforms import clean, corpus_stats, enrich, extract
    from transforms.documents.html_extract import HtmlArticle

    # A page's first characters stand in for its article: as long as the articles the real
    # extraction finds in these pages (5,700 characters on average), not the whole page; the
    # page's digest keeps distinct pages distinct, as their articles are.
    def stand_in_article(payload: bytes, url=None) -> HtmlArticle:
        head = payload[:BEAM_ONLY_ARTICLE_BYTES].decode("utf-8", errors="replace")
        return HtmlArticle(text=f"{head}\n{hashlib.sha256(payload).hexdigest()}", url=url)

    extract.extract_html = stand_in_article
    clean.clean_article = lambda article, statistics=None, min_words=0: article
    enrich.detect_language = lambda text: ("und", None)
    corpus_stats.count_casings = lambda text: {}
    corpus_stats.short_line_fingerprints = lambda text: set()
    summary = graph.run(argv)
    sys.exit(0 if summary["balanced"] else 1)


# ---------------------------------------------------------------- measuring a process tree


@dataclasses.dataclass
class Measured:
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float  # sampled peak of the sum over the process tree
    hwm_mb: list[float]  # VmHWM of each process seen, main process first
    returncode: int
    stdout: str
    stderr: str


def _descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                children = Path(f"/proc/{parent}/task/{task}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                frontier.append(child)
    return found


def _status_kb(pid: int) -> dict[str, int]:
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    except (OSError, ValueError):
        pass
    return values


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_measured(command: list[str], scratch: Path, cwd: Path = REPO) -> Measured:
    """Run a command to completion, sampling the memory and CPU of its process tree."""
    scratch.mkdir(parents=True, exist_ok=True)
    out_path = scratch / f".out-{os.getpid()}"
    err_path = scratch / f".err-{os.getpid()}"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err)
        peak = [0]
        hwm: dict[int, int] = {}
        cpu: dict[int, float] = {}
        done = threading.Event()

        def sample():
            while not done.is_set():
                total = 0
                for pid in [process.pid, *_descendants(process.pid)]:
                    status = _status_kb(pid)
                    total += status.get("VmRSS", 0)
                    if "VmHWM" in status:
                        hwm[pid] = max(hwm.get(pid, 0), status["VmHWM"])
                    if (seconds := _cpu_seconds(pid)) is not None:
                        cpu[pid] = seconds
                peak[0] = max(peak[0], total)
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        # wait4 rather than Popen.wait: it returns the rusage of this child (and its waited
        # descendants), whatever else this process has run before.
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    main_hwm = usage.ru_maxrss  # KiB on Linux; exact, unlike the samples
    hwm[process.pid] = max(hwm.get(process.pid, 0), main_hwm)
    hwm_list = [hwm.pop(process.pid)] + [hwm[pid] for pid in sorted(hwm)]
    # rusage holds the main process and the children it waited for; the samples also hold
    # children nobody waited for (they lag by at most one sampling interval).
    rusage_cpu = usage.ru_utime + usage.ru_stime
    result = Measured(
        wall_seconds=wall,
        cpu_seconds=max(rusage_cpu, sum(cpu.values())),
        peak_rss_mb=max(peak[0], main_hwm) / 1024,
        hwm_mb=[kb / 1024 for kb in hwm_list],
        returncode=process.returncode,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )
    out_path.unlink()
    err_path.unlink()
    return result


# ---------------------------------------------------------------- runs


@dataclasses.dataclass
class RunResult:
    corpus: str
    label: str
    docs: int
    measured: Measured
    rows: int
    duplicates: int
    dead_letters: int
    loop_seconds: float | None = None
    load_before: float = 0.0

    @property
    def docs_per_second(self) -> float:
        return self.docs / self.measured.wall_seconds

    @property
    def docs_per_cpu_second(self) -> float:
        return self.docs / self.measured.cpu_seconds if self.measured.cpu_seconds else 0.0


def _fail(run: str, measured: Measured) -> None:
    raise SystemExit(f"{run} failed (exit {measured.returncode}):\n{measured.stderr[-3000:]}")


def run_floor(
    corpus: str, paths: list[Path], out_dir: Path, label: str = "floor", command=None
) -> RunResult:
    """A loop in its own process that prints {"rows", "empty", "loop_seconds"} last."""
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    listing = out_dir / "inputs.txt"
    listing.write_text("\n".join(map(str, paths)))
    load = os.getloadavg()[0]
    if command is None:
        command = [sys.executable, str(Path(__file__).resolve()), "floor", str(listing)]
        command.append(str(out_dir / "floor.parquet"))
    else:
        command = [part.replace("{listing}", str(listing)) for part in command]
    measured = run_measured(command, out_dir)
    if measured.returncode != 0:
        _fail(label, measured)
    report = json.loads(measured.stdout.strip().splitlines()[-1])
    return RunResult(
        corpus,
        label,
        len(paths),
        measured,
        rows=report["rows"],
        duplicates=0,
        dead_letters=report["empty"],
        loop_seconds=report["loop_seconds"],
        load_before=load,
    )


def run_pipeline(
    corpus: str,
    label: str,
    docs_dir: Path,
    docs: int,
    out_dir: Path,
    extra: list[str],
    beam_alone: bool = False,
) -> RunResult:
    shutil.rmtree(out_dir, ignore_errors=True)
    load = os.getloadavg()[0]
    entry = [str(Path(__file__).resolve()), "beam-only"] if beam_alone else ["-m", "pipeline"]
    command = [sys.executable, *entry, "--input", str(docs_dir), "--output", str(out_dir)]
    measured = run_measured([*command, *extra], out_dir.parent)
    if measured.returncode != 0:
        _fail(label, measured)
    summary = json.loads((out_dir / "_run_summary.json").read_text())
    if summary["inputs"] != docs:
        raise SystemExit(f"{label}: the pipeline read {summary['inputs']} inputs, not {docs}")
    return RunResult(
        corpus,
        label,
        docs,
        measured,
        rows=summary["rows"],
        duplicates=summary["duplicates"],
        dead_letters=summary["dead_letters"],
        load_before=load,
    )


def corpus_dir(args, corpus: str, n: int) -> Path:
    limit = f"-s{args.sources}" if args.sources else ""
    return args.work_dir / f"{corpus}-{n}{limit}"


def prepare(args, corpus: str, n: int) -> list[Path]:
    sources = html_sources(args.shared) if corpus == "html" else text_sources(args.shared)
    if args.sources:
        sources = sources[: args.sources]
    return build_corpus(sources, n, corpus_dir(args, corpus, n))


def _workers(count: int) -> list[str]:
    if count == 1:
        return []
    return [f"--direct_num_workers={count}", "--direct_running_mode=multi_processing"]


def benchmark_corpus(corpus: str, args) -> list[RunResult]:
    paths = prepare(args, corpus, args.n)
    docs_dir = corpus_dir(args, corpus, args.n) / "docs"
    out = args.work_dir / f"out-{corpus}-{args.n}"
    waves = [f"--wave_size={args.wave_size}"] if args.wave_size else []
    results = []
    if not args.skip_floor:
        results.append(run_floor(corpus, paths, out / "floor"))
        if corpus == "html":
            bare = [sys.executable, str(Path(__file__).resolve()), "bare", "{listing}"]
            results.append(run_floor(corpus, paths, out / "bare", BARE, bare))
            if not args.skip_multi:
                pool = [*bare[:2], "bare-pool", str(args.workers), "{listing}"]
                label = f"{BARE} {args.workers}p"
                results.append(run_floor(corpus, paths, out / "bare-pool", label, pool))
    if corpus == "html" and not args.skip_peers and args.peers_python.is_file():
        for peer in PEERS:
            command = [str(args.peers_python), str(REPO / "benchmarks" / "peers.py"), peer]
            command += ["{listing}", str(out / f"peer-{peer}" / "out")]
            try:
                results.append(
                    run_floor(corpus, paths, out / f"peer-{peer}", f"peer {peer}", command)
                )
            except SystemExit as failure:  # a peer that fails is reported, not fatal
                print(f"peer {peer} failed: {str(failure)[-500:]}", file=sys.stderr)
    results.append(run_pipeline(corpus, "pipeline 1w", docs_dir, args.n, out / "1w", waves))
    if not args.skip_multi:
        multi = [*waves, *_workers(args.workers)]
        label = f"pipeline {args.workers}w"
        results.append(run_pipeline(corpus, label, docs_dir, args.n, out / "multi", multi))
    large = args.memory_large or args.n
    if not args.skip_memory and args.memory_n < large:
        memory = [*waves, *_workers(args.memory_workers)]
        for n in (args.memory_n, large):
            label = f"pipeline {args.memory_workers}w n={n}"
            if n == args.n and args.memory_workers == 1:  # the same run as "pipeline 1w"
                results.append(
                    dataclasses.replace(results[-1 - (not args.skip_multi)], label=label)
                )
                continue
            prepare(args, corpus, n)
            docs = corpus_dir(args, corpus, n) / "docs"
            memory_out = args.work_dir / f"out-{corpus}-{n}" / "memory"
            results.append(run_pipeline(corpus, label, docs, n, memory_out, memory))
    if not args.skip_beam_only:  # the unbounded graph with trivial steps
        label = BEAM_ONLY
        results.append(run_pipeline(corpus, label, docs_dir, args.n, out / "beam", [], True))
        if not args.skip_memory and args.memory_n < args.n:
            prepare(args, corpus, args.memory_n)
            small_docs = corpus_dir(args, corpus, args.memory_n) / "docs"
            label = f"{BEAM_ONLY} n={args.memory_n}"
            small_out = args.work_dir / f"out-{corpus}-{args.memory_n}" / "beam"
            results.append(
                run_pipeline(corpus, label, small_docs, args.memory_n, small_out, [], True)
            )
    return results


# ---------------------------------------------------------------- report

COLUMNS = (
    "run",
    "docs",
    "wall_s",
    "docs/s",
    "cpu_s",
    "docs/cpu_s",
    "peak_rss_mb",
    "hwm_mb",
    "x_floor",
    "rows",
    "dups",
    "dead",
    "load",
)


def table_rows(results: list[RunResult]) -> list[list[str]]:
    floor = next((r for r in results if r.label == "floor"), None)
    rows = []
    for r in results:
        m = r.measured
        rows.append(
            [
                r.label,
                str(r.docs),
                f"{m.wall_seconds:.1f}",
                f"{r.docs_per_second:.1f}",
                f"{m.cpu_seconds:.1f}",
                f"{r.docs_per_cpu_second:.1f}",
                f"{m.peak_rss_mb:.0f}",
                "+".join(f"{v:.0f}" for v in m.hwm_mb),
                f"{r.docs_per_second / floor.docs_per_second:.2f}" if floor else "-",
                str(r.rows),
                str(r.duplicates),
                str(r.dead_letters),
                f"{r.load_before:.2f}",
            ]
        )
    return rows


def format_table(rows: list[list[str]]) -> str:
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def _verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def _ratio_line(name: str, ratio: float, goal: float | None = None) -> str:
    verdict = f" (goal >= {goal}) -> {_verdict(ratio >= goal)}" if goal is not None else ""
    return f"{name}: {ratio:.2f}{verdict}"


def goal_lines(results: list[RunResult], args) -> list[str]:
    n, memory_n, workers = args.n, args.memory_n, args.workers
    by_label = {r.label: r for r in results}
    single = by_label["pipeline 1w"]
    corpus = single.corpus
    lines = [f"pipeline runs: --wave_size={args.wave_size} (0: the unbounded graph)"]
    floor = by_label.get("floor")
    if floor:
        ratio = single.docs_per_second / floor.docs_per_second
        lines += [
            f"floor loop alone: {floor.loop_seconds:.1f} s "
            f"({floor.docs / floor.loop_seconds:.1f} docs/s without interpreter startup)",
            _ratio_line("1w / floor (docs/s)", ratio, GOAL_FLOOR_RATIO),
        ]
    bare = by_label.get(BARE)
    if bare:
        ratio = single.docs_per_second / bare.docs_per_second
        lines.append(_ratio_line("1w / bare trafilatura.extract (docs/s)", ratio, GOAL_BARE_RATIO))
    multi = by_label.get(f"pipeline {workers}w")
    if multi:
        speedup = multi.docs_per_second / single.docs_per_second
        lines.append(_ratio_line(f"{workers}w / 1w (docs/s)", speedup, GOAL_SPEEDUP))
        bare_pool = by_label.get(f"{BARE} {workers}p")
        if bare and bare_pool:
            lines.append(
                _ratio_line(
                    f"bare trafilatura.extract {workers}p / 1p (docs/s; this machine's ceiling "
                    f"of {workers}w / 1w)",
                    bare_pool.docs_per_second / bare.docs_per_second,
                )
            )
        if bare:
            ratio = multi.docs_per_second / bare.docs_per_second
            lines.append(
                _ratio_line(
                    f"{workers}w / bare trafilatura.extract (docs/s, whole machine)",
                    ratio,
                    GOAL_BARE_RATIO,
                )
            )
    for peer in PEERS:
        measured = by_label.get(f"peer {peer}")
        if measured:
            lines.append(
                _ratio_line(
                    f"1w / peer {peer} (docs/s)", single.docs_per_second / measured.docs_per_second
                )
            )
            if multi:
                lines.append(
                    _ratio_line(
                        f"{workers}w / peer {peer} (docs/s; the peer in one process)",
                        multi.docs_per_second / measured.docs_per_second,
                    )
                )
    large = args.memory_large or n
    small_run = by_label.get(f"pipeline {args.memory_workers}w n={memory_n}")
    large_run = by_label.get(f"pipeline {args.memory_workers}w n={large}")
    if small_run and large_run:
        small_mb, large_mb = small_run.measured.peak_rss_mb, large_run.measured.peak_rss_mb
        lines.append(
            f"memory: peak RSS {small_mb:.0f} MB at n={memory_n}, {large_mb:.0f} MB at "
            f"n={large}: {large_mb / small_mb:.2f}x (goal <= {1 + GOAL_MEMORY_GROWTH:.2f}x) "
            f"-> {_verdict(large_mb / small_mb <= 1 + GOAL_MEMORY_GROWTH)}"
        )
        extra_seconds = large_run.measured.wall_seconds - small_run.measured.wall_seconds
        if extra_seconds > 0:
            marginal = (large - memory_n) / extra_seconds
            startup = small_run.measured.wall_seconds - memory_n / marginal
            lines.append(
                f"{args.memory_workers}w marginal rate (startup excluded): {marginal:.1f} docs/s;"
                f" implied fixed cost {startup:.1f} s"
            )
    beam = by_label.get(BEAM_ONLY)
    if beam:
        lines.append(
            f"{BEAM_ONLY}: {beam.docs_per_second:.1f} docs/s, {beam.measured.peak_rss_mb:.0f} MB "
            "peak: the runner, reading, dedup and writing, with no cleaning and no library call"
        )
        small_beam = by_label.get(f"{BEAM_ONLY} n={memory_n}")
        if small_beam:
            growth = beam.measured.peak_rss_mb / small_beam.measured.peak_rss_mb - 1
            per_doc = (beam.measured.peak_rss_mb - small_beam.measured.peak_rss_mb) / (n - memory_n)
            lines.append(
                f"{BEAM_ONLY} memory: {small_beam.measured.peak_rss_mb:.0f} MB at n={memory_n}, "
                f"{beam.measured.peak_rss_mb:.0f} MB at n={n} ({growth:+.0%}, "
                f"{1024 * per_doc:.0f} KB per document)"
            )
    if corpus == "text":
        per_core = single.docs_per_cpu_second
        lines.append(
            f"goal text >= {GOAL_TEXT_DOCS_PER_CORE} docs/s per core (1w, whole process): "
            f"{single.docs_per_second:.1f} docs/s wall, {per_core:.1f} docs/cpu-s "
            f"-> {_verdict(min(single.docs_per_second, per_core) >= GOAL_TEXT_DOCS_PER_CORE)}"
        )
        if multi:
            per_core = multi.docs_per_second / workers
            lines.append(
                f"text, {workers}w: {multi.docs_per_second:.1f} docs/s wall = {per_core:.1f} "
                f"per core, {multi.docs_per_cpu_second:.1f} docs/cpu-s "
                f"-> {_verdict(per_core >= GOAL_TEXT_DOCS_PER_CORE)}"
            )
    return lines


def report(results: list[RunResult], args) -> str:
    corpus = results[0].corpus
    lines = [f"== corpus {corpus}: {args.n} documents ==", format_table(table_rows(results))]
    lines += goal_lines(results, args)
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="documents per corpus")
    parser.add_argument("--corpus", choices=("html", "text", "both"), default="both")
    parser.add_argument("--workers", type=int, default=2, help="workers of the multi run")
    parser.add_argument("--skip-multi", action="store_true", help="no multi-process run")
    parser.add_argument("--skip-memory", action="store_true", help="no run at --memory-n")
    parser.add_argument("--memory-n", type=int, default=500, help="smaller N of the memory check")
    parser.add_argument("--memory-large", type=int, help="larger N of the memory check (--n)")
    parser.add_argument("--memory-workers", type=int, default=1, help="workers of memory runs")
    parser.add_argument(
        "--wave-size", type=int, default=1000, help="--wave_size of pipeline runs (0: none)"
    )
    parser.add_argument("--skip-floor", action="store_true", help="no floor, no bare extract")
    parser.add_argument("--skip-peers", action="store_true", help="no peer runs")
    parser.add_argument(
        "--peers-python",
        type=Path,
        default=PEERS_PYTHON,
        help="python of a venv holding the peers (skipped when absent)",
    )
    parser.add_argument(
        "--skip-beam-only", action="store_true", help="no run of the pipeline without its steps"
    )
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument(
        "--sources", type=int, help="use only the first K source documents (more copies of each)"
    )
    parser.add_argument(
        "--work-dir", type=Path, default=WORK_DIR, help="corpora and outputs (git-ignored)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["floor"]:  # the floor's own process: floor LISTING OUTPUT_FILE
        paths = Path(argv[1]).read_text().splitlines()
        print(json.dumps(floor_loop(paths, argv[2])))
        return 0
    if argv[:1] == ["bare"]:  # the bare extract loop's own process: bare LISTING
        print(json.dumps(bare_extract_loop(Path(argv[1]).read_text().splitlines())))
        return 0
    if argv[:1] == ["bare-pool"]:  # bare-pool WORKERS LISTING
        paths = Path(argv[2]).read_text().splitlines()
        print(json.dumps(bare_extract_pool(paths, int(argv[1]))))
        return 0
    if argv[:1] == ["beam-only"]:  # beam-only --input DOCS --output OUT
        beam_only(argv[1:])
    args = parse_args(argv)
    print(f"nproc {os.cpu_count()}  load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    corpora = ("html", "text") if args.corpus == "both" else (args.corpus,)
    everything = []
    for corpus in corpora:
        results = benchmark_corpus(corpus, args)
        everything += results
        print(report(results, args), flush=True)
    print(f"load after {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "corpus": r.corpus,
                        "run": r.label,
                        "docs": r.docs,
                        "docs_per_second": r.docs_per_second,
                        "rows": r.rows,
                        "duplicates": r.duplicates,
                        "dead_letters": r.dead_letters,
                        **dataclasses.asdict(r.measured),
                    }
                    for r in everything
                ],
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
