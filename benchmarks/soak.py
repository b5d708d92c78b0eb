"""Soak: a live job polls many feeds over and over while pages and polls fail at random
(seeded, so every run fails the same way), new entries appear between polls, and the job is
restarted; then nothing may be lost or duplicated.

    python benchmarks/soak.py --minutes 5 [--feeds 50 --entries 20 --fault-rate 0.1 --seed 7]

A server on 127.0.0.1 serves N feeds x M entries (RSS, conditional GETs answered with 304),
each entry linking to its own small page of distinct text. A share `--fault-rate` of pages
fail: half of them recover on the fetcher's retry (500 then OK, 429 with Retry-After then
OK), half never do (500 always, 404). The same share of feed requests fail: half with a 503
the fetcher retries, half with a 503 whose Retry-After is too long to wait for (the poll
fails and the feed is polled again later). Entries are added while the job runs, and the job
runs as `--restarts + 1` consecutive `python -m pipeline --duration` processes on one output.

Checked at the end (`SoakReport.problems`, empty when all is well):
- every entry a feed listed (in a 200 answer) whose page was answered 200 at least once is
  exactly one row (DuckDB, count by `source_uri`), and has no dead letter;
- every other entry listed has a dead letter, and no row;
- no `content_sha256` twice, no row from anywhere else, no page fetched again once it gave
  a row (a re-fetch would show as a duplicate);
- every run's summary balances, and the runs' rows and dead letters add up to the output's.

Prints entries, rows, dead letters by reason, duplicates, polls, 304s and the job's peak RSS.
tests/test_live_soak.py runs the same, bounded to about a minute.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import email.utils
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.fault_server import FaultServer  # noqa: E402

# Page faults: the first two recover on the fetcher's retry, the last two never do.
RECOVERING_PAGE_FAULTS = ("500_then_ok", "429_then_ok")
FAILING_PAGE_FAULTS = ("500_always", "404")
PAGE_FAULTS = RECOVERING_PAGE_FAULTS + FAILING_PAGE_FAULTS
# A Retry-After longer than the fetcher waits (60 s): the poll fails at once.
TOO_LONG_RETRY_AFTER = "120"

# A live run against this machine's test server: reach 127.0.0.1 only, no politeness delay.
LOCAL_SERVER_FLAGS = [
    "--allowed_networks",
    "127.0.0.0/8",
    "--per_host_delay",
    "0",
    "--per_host_concurrency",
    "16",
    "--fetch_concurrency",
    "16",
]
LIVE_FLAGS = [
    *LOCAL_SERVER_FLAGS,
    "--request_timeout",
    "10",
    "--tick_seconds",
    "1",
    "--poll_interval",
    "1",
    "--min_poll_interval",
    "1",
    "--max_poll_interval",
    "2",
    "--max_entries_per_poll",
    "1000",
    "--quiet",
]

# Plain words, so that language detection says English and no line recurs across pages.
VOCABULARY = """
council budget transport harbour railway village minister school hospital river bridge
farmers market weather storm festival museum library factory workers union election
mayor court judge police station airport tunnel energy wind solar prices rents housing
teachers students nurses doctors bakery fishermen coast mountain forest valley road
traffic cyclists buses trams ferry island port warehouse shipping grain coffee steel
timber copper oil gas water drought flood harvest orchard vineyard cheese bread wool
approved rejected announced delayed opened closed repaired expanded reduced doubled
debated criticised praised welcomed questioned promised planned funded built restored
yesterday tonight quickly slowly finally recently again early late together instead
""".split()


def article_text(key: str, paragraphs: int = 3, sentences: int = 3) -> list[str]:
    """Paragraphs of distinct plain prose, the same for the same key."""
    rng = random.Random(f"article:{key}")
    result = []
    for number in range(paragraphs):
        parts = []
        for _ in range(sentences):
            words = [rng.choice(VOCABULARY) for _ in range(rng.randint(9, 15))]
            parts.append(" ".join(words).capitalize() + ".")
        if number == 0:
            parts.append(f"This is report {key}.")
        result.append(" ".join(parts))
    return result


def article_html(key: str, paragraphs: int = 3) -> bytes:
    """A small news page of distinct text (cheap to extract)."""
    body = "".join(f"<p>{paragraph}</p>" for paragraph in article_text(key, paragraphs))
    return (
        f"<html><head><title>Report {key}</title></head><body><article>"
        f"<h1>Report {key}</h1>{body}</article></body></html>"
    ).encode()


def chance(*key: object) -> float:
    """A number in [0, 1) fixed by its key: the same faults on every run."""
    digest = hashlib.sha256(":".join(map(str, key)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclasses.dataclass
class SoakEntry:
    entry_id: str
    feed: int
    path: str
    fault: str | None  # one of PAGE_FAULTS, or None for a healthy page
    published: float  # time.time()


class SoakSite:
    """Feeds and pages on a FaultServer, faults seeded, with a record of what was served."""

    def __init__(self, server: FaultServer, feeds: int, entries: int, fault_rate: float, seed):
        self.server = server
        self.fault_rate = fault_rate
        self.seed = seed
        self.lock = threading.Lock()
        self.entries: dict[str, SoakEntry] = {}
        self.feed_entries: dict[int, list[str]] = {feed: [] for feed in range(feeds)}
        self.feed_requests: collections.Counter[int] = collections.Counter()
        self.page_requests: collections.Counter[str] = collections.Counter()
        # Entries listed in a feed answered 200; pages answered 200.
        self.listed: set[str] = set()
        self.served_ok: set[str] = set()
        self.feed_faults: collections.Counter[str] = collections.Counter()
        self.feed_answers: collections.Counter[int] = collections.Counter()
        self.next_entry = 0
        started = time.time() - 3600
        for feed in range(feeds):
            for number in range(entries):
                self.publish(feed, when=started + number * 60)
            server.add(f"/feeds/{feed}.xml", self._feed_handler(feed))

    @property
    def feed_urls(self) -> list[str]:
        return [self.server.url(f"/feeds/{feed}.xml") for feed in self.feed_entries]

    def url(self, entry_id: str) -> str:
        return self.server.url(self.entries[entry_id].path)

    def publish(self, feed: int, when: float | None = None) -> SoakEntry:
        """A new entry at the top of `feed`, with its page (healthy or faulty, seeded)."""
        with self.lock:
            entry_id = f"e{self.next_entry}"
            self.next_entry += 1
            draw = chance(self.seed, "page", entry_id)
            fault = None
            if draw < self.fault_rate:
                fault = PAGE_FAULTS[int(draw / self.fault_rate * len(PAGE_FAULTS))]
            entry = SoakEntry(entry_id, feed, f"/pages/{entry_id}.html", fault, when or time.time())
            self.entries[entry_id] = entry
            self.feed_entries[feed].append(entry_id)
        self.server.add(entry.path, self._page_handler(entry))
        return entry

    def publish_some(self, rng: random.Random, count: int) -> None:
        for _ in range(count):
            self.publish(rng.randrange(len(self.feed_entries)))

    def feed_xml(self, feed: int) -> bytes:
        items = "".join(
            f"<item><guid isPermaLink='false'>{entry_id}</guid>"
            f"<title>Report {entry_id}</title><link>{self.url(entry_id)}</link>"
            f"<pubDate>{email.utils.formatdate(self.entries[entry_id].published, usegmt=True)}"
            "</pubDate></item>"
            for entry_id in reversed(self.feed_entries[feed])
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Soak feed {feed}</title><link>{self.server.base_url}/</link>"
            f"{items}</channel></rss>"
        ).encode()

    def _feed_handler(self, feed: int):
        def answer(request):
            with self.lock:
                number = self.feed_requests[feed]
                self.feed_requests[feed] += 1
                draw = chance(self.seed, "feed", feed, number)
                if draw < self.fault_rate / 2:
                    self.feed_faults["503_retried"] += 1
                    return 503, {}, b"busy"
                if draw < self.fault_rate:
                    self.feed_faults["503_retry_after_too_long"] += 1
                    return 503, {"Retry-After": TOO_LONG_RETRY_AFTER}, b"busy"
                body = self.feed_xml(feed)
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if request.header("If-None-Match") == etag:
                    return 304, {"ETag": etag}, b""
                self.listed.update(self.feed_entries[feed])
                self.feed_answers[feed] += 1
            return 200, {"ETag": etag, "Content-Type": "application/rss+xml"}, body

        return answer

    def _page_handler(self, entry: SoakEntry):
        def answer(request):
            with self.lock:
                self.page_requests[entry.entry_id] += 1
                first = self.page_requests[entry.entry_id] == 1
                if entry.fault == "500_always" or (entry.fault == "500_then_ok" and first):
                    return 500, {}, b"server error"
                if entry.fault == "429_then_ok" and first:
                    return 429, {"Retry-After": "1"}, b"slow down"
                if entry.fault == "404":
                    return 404, {}, b"not found"
                self.served_ok.add(entry.entry_id)
            return 200, {}, article_html(entry.entry_id)

        return answer


@dataclasses.dataclass
class SoakReport:
    entries_published: int = 0
    entries_listed: int = 0
    entries_served_ok: int = 0
    rows: int = 0
    dead_letters_by_reason: dict[str, int] = dataclasses.field(default_factory=dict)
    duplicates: int = 0
    polls: int = 0
    not_modified: int = 0
    feed_faults: dict[str, int] = dataclasses.field(default_factory=dict)
    page_faults: dict[str, int] = dataclasses.field(default_factory=dict)
    runs: list[dict] = dataclasses.field(default_factory=list)
    peak_rss_mb: float = 0.0
    wall_seconds: float = 0.0
    problems: list[str] = dataclasses.field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"entries published {self.entries_published}, listed in a feed "
            f"{self.entries_listed}, pages served OK {self.entries_served_ok}",
            f"page faults (of entries listed) {self.page_faults}",
            f"feed faults {self.feed_faults}",
            f"rows {self.rows}, duplicates {self.duplicates}",
            f"dead letters by reason {self.dead_letters_by_reason}",
            f"polls {self.polls}, 304s {self.not_modified}",
            "runs: "
            + "; ".join(
                f"{run['seconds']:.0f} s, {run['rows']} rows, {run['dead_letters']} dead letters, "
                f"balanced {run['balanced']}"
                for run in self.runs
            ),
            f"peak RSS of the job {self.peak_rss_mb:.0f} MB, wall {self.wall_seconds:.0f} s",
            f"problems ({len(self.problems)}): " + ("none" if not self.problems else ""),
            *[f"  {problem}" for problem in self.problems[:50]],
        ]


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_job(feeds_file: Path, output: Path, seconds: float, timeout: float) -> tuple[dict, float]:
    """One `python -m pipeline --duration` process: (its exit info, its peak RSS in MB)."""
    command = [
        sys.executable, "-m", "pipeline", "--feeds", str(feeds_file), "--output", str(output),
        *LIVE_FLAGS, "--duration", str(seconds),
    ]  # fmt: skip
    started = time.monotonic()
    peak = 0.0
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr, text=True
        )
        try:
            while process.poll() is None:
                if time.monotonic() - started > timeout:
                    process.kill()
                    process.wait()
                    break
                peak = max(peak, _peak_rss_mb(process.pid) or 0.0)
                time.sleep(0.2)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        stderr.seek(0)
        error_tail = stderr.read()[-3000:].decode(errors="replace")
    return {
        "returncode": process.returncode,
        "seconds": time.monotonic() - started,
        "stderr": error_tail,
    }, peak


def _dead_letters(output: Path) -> list[dict]:
    records = []
    for path in sorted((output / "_dead_letter").glob("*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines() if line]
    return records


def _rows(output: Path) -> list[tuple[str, str]]:
    if not list(output.glob("date=*/**/*.parquet")):
        return []
    source = f"read_parquet('{output}/**/*.parquet', hive_partitioning=true, union_by_name=true)"
    return duckdb.connect().sql(f"SELECT source_uri, content_sha256 FROM {source}").fetchall()


def check_output(site: SoakSite, output: Path, report: SoakReport) -> None:
    """Fill the report's figures and problems from the output and what the site served."""
    rows = _rows(output)
    rows_by_uri = collections.Counter(uri for uri, _ in rows)
    by_hash = collections.Counter(sha for _, sha in rows)
    dead = _dead_letters(output)
    dead_by_uri = collections.defaultdict(list)
    for record in dead:
        dead_by_uri[record["source_uri"]].append(record["error_type"])
    problems = report.problems
    with site.lock:
        entries = dict(site.entries)
        listed, served_ok = set(site.listed), set(site.served_ok)
        page_requests = dict(site.page_requests)
        report.feed_faults = dict(site.feed_faults)
    report.entries_published = len(entries)
    report.entries_listed = len(listed)
    report.entries_served_ok = len(served_ok & listed)
    report.page_faults = dict(collections.Counter(entries[e].fault or "none" for e in listed))
    report.rows = len(rows)
    report.dead_letters_by_reason = dict(
        sorted(collections.Counter(record["error_type"] for record in dead).items())
    )
    page_uris = {site.url(entry_id): entry_id for entry_id in entries}
    for entry_id in sorted(listed, key=lambda e: int(e[1:])):
        uri = site.url(entry_id)
        fault = entries[entry_id].fault
        if entry_id in served_ok:
            if rows_by_uri[uri] != 1:
                problems.append(f"{entry_id} ({fault}): served OK, {rows_by_uri[uri]} rows")
            if dead_by_uri.get(uri):
                problems.append(f"{entry_id} ({fault}): a row and dead letters {dead_by_uri[uri]}")
            if fault is None and page_requests.get(entry_id, 0) != 1:
                problems.append(f"{entry_id}: fetched {page_requests.get(entry_id, 0)} times")
        else:
            if not dead_by_uri.get(uri):
                problems.append(f"{entry_id} ({fault}): never served OK and no dead letter")
            if rows_by_uri[uri]:
                problems.append(f"{entry_id} ({fault}): never served OK, yet a row")
    for uri in rows_by_uri.keys() - page_uris.keys():
        problems.append(f"a row from {uri}, no entry's page")
    for uri in rows_by_uri.keys() & page_uris.keys():
        if page_uris[uri] not in listed:
            problems.append(f"a row from {uri}, never listed in a feed answer")
    twice = [sha for sha, count in by_hash.items() if count > 1]
    if twice:
        problems.append(f"{len(twice)} content_sha256 values on more than one row")
    for number, run in enumerate(report.runs, 1):
        if run["returncode"] != 0 or not run["balanced"]:
            problems.append(
                f"run {number}: exit {run['returncode']}, balanced {run['balanced']}: "
                f"{run['stderr'][-1500:]}"
            )
    if sum(run["rows"] for run in report.runs) != len(rows):
        problems.append(f"runs' summaries say {sum(run['rows'] for run in report.runs)} rows")
    if sum(run["dead_letters"] for run in report.runs) != len(dead):
        problems.append(
            f"runs' summaries say {sum(run['dead_letters'] for run in report.runs)} dead letters"
        )
    report.duplicates = sum(run["duplicates"] for run in report.runs)
    if report.duplicates:
        problems.append(f"{report.duplicates} duplicates: a page was fetched again")


def run_soak(
    work: Path,
    *,
    feeds: int = 50,
    entries: int = 20,
    fault_rate: float = 0.1,
    seed: int = 7,
    run_seconds: tuple[float, ...] = (20.0, 15.0),
    publish_every: float = 1.0,
    publish_count: int = 2,
    job_timeout: float = 600.0,
) -> SoakReport:
    """The soak: `len(run_seconds)` consecutive jobs on one output while entries appear."""
    work.mkdir(parents=True, exist_ok=True)
    output = work / "out"
    report = SoakReport()
    started = time.monotonic()
    with FaultServer() as server:
        site = SoakSite(server, feeds, entries, fault_rate, seed)
        feeds_file = work / "feeds.txt"
        feeds_file.write_text("\n".join(site.feed_urls) + "\n")
        stop = threading.Event()

        def publisher():
            rng = random.Random(f"publish:{seed}")
            while not stop.wait(publish_every):
                site.publish_some(rng, publish_count)

        thread = threading.Thread(target=publisher, daemon=True)
        thread.start()
        try:
            for seconds in run_seconds:
                info, peak = run_job(feeds_file, output, seconds, job_timeout)
                report.peak_rss_mb = max(report.peak_rss_mb, peak)
                try:
                    summary = json.loads((output / "_run_summary.json").read_text())
                except (OSError, ValueError):
                    summary = {}
                info.update(
                    balanced=summary.get("balanced", False),
                    rows=summary.get("rows", 0),
                    dead_letters=summary.get("dead_letters", 0),
                    duplicates=summary.get("duplicates", 0),
                )
                report.runs.append(info)
                feed_totals = summary.get("feeds", [])
                # Per-feed counters are kept across runs in the state store.
                report.polls = sum(feed.get("polls", 0) for feed in feed_totals)
                report.not_modified = sum(feed.get("not_modified", 0) for feed in feed_totals)
        finally:
            stop.set()
            thread.join(timeout=10)
        check_output(site, output, report)
    report.wall_seconds = time.monotonic() - started
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="total time of the jobs")
    parser.add_argument("--restarts", type=int, default=2, help="the job is stopped and rerun")
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="soak-"))
    runs = args.restarts + 1
    print(f"nproc {os.cpu_count()}  load {os.getloadavg()}  work {work}")
    print(
        f"{args.feeds} feeds x {args.entries} entries, fault rate {args.fault_rate}, "
        f"seed {args.seed}, {runs} runs of {args.minutes * 60 / runs:.0f} s"
    )
    report = run_soak(
        work,
        feeds=args.feeds,
        entries=args.entries,
        fault_rate=args.fault_rate,
        seed=args.seed,
        run_seconds=tuple([args.minutes * 60 / runs] * runs),
        job_timeout=args.minutes * 60 + 600,
    )
    print("\n".join(report.lines()))
    print(f"load after {os.getloadavg()}")
    sys.exit(1 if report.problems else 0)


if __name__ == "__main__":
    main()
