"""Live ingestion against a local server: throughput, latency, second-poll cost, memory.

    python benchmarks/live.py --feeds 20 --entries 10 [--latency-samples 10] [--soak 60]

A server on 127.0.0.1 serves N feeds x M entries, each linking to a distinct news page (the
shared HTML pages, copied distinct by benchmarks/throughput_corpus.py). It measures, each
run being `python -m pipeline` as a user runs it:

1. throughput: one `--once` poll of every feed (fetch, extract, clean, write), articles per
   second end to end, next to the batch pipeline on the same pages saved as files;
2. the cost of a second poll of unchanged feeds: requests and body bytes the server sent;
3. latency: with a running job, seconds from an entry's appearance in its feed to its row
   being readable (p50, p95);
4. memory over many polls: the running job's RSS sampled during the soak.
Prints figures; asserts nothing (goals are checked by reading them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.soak import LOCAL_SERVER_FLAGS  # noqa: E402
from benchmarks.throughput_corpus import copy_plan, html_sources, mark_html  # noqa: E402
from tests.fault_server import FaultServer  # noqa: E402

LIVE_FLAGS = [*LOCAL_SERVER_FLAGS, "--quiet"]


class Site:
    """Feeds and pages with byte accounting; feeds answer conditional GETs."""

    def __init__(self, server: FaultServer):
        self.server = server
        self.lock = threading.Lock()
        self.feeds: dict[str, list[tuple[str, str]]] = {}  # path -> [(entry id, page url)]
        self.body_bytes = 0

    def _count(self, body: bytes) -> bytes:
        with self.lock:
            self.body_bytes += len(body)
        return body

    def add_page(self, path: str, body: bytes) -> str:
        self.server.add(path, lambda request: (200, {}, self._count(body)))
        return self.server.url(path)

    def feed_xml(self, path: str) -> bytes:
        items = "".join(
            f"<item><guid>{entry_id}</guid><title>Story {entry_id}</title>"
            f"<link>{url}</link><pubDate>Tue, 01 Dec 2026 10:00:00 GMT</pubDate></item>"
            for entry_id, url in reversed(self.feeds[path])
        )
        return (
            '<?xml version="1.0"?><rss version="2.0"><channel>'
            f"<title>{path}</title><link>{self.server.base_url}</link>{items}</channel></rss>"
        ).encode()

    def add_feed(self, path: str, entries: list[tuple[str, str]]) -> str:
        self.feeds[path] = entries

        def answer(request):
            with self.lock:
                body = self.feed_xml(path)
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if request.header("If-None-Match") == etag:
                return 304, {"ETag": etag}, b""
            return 200, {"ETag": etag, "Content-Type": "application/rss+xml"}, self._count(body)

        self.server.add(path, answer)
        return self.server.url(path)

    def add_entry(self, path: str, entry_id: str, url: str) -> None:
        with self.lock:
            self.feeds[path].append((entry_id, url))


def run_pipeline(args: list[str], timeout: float = 3600) -> tuple[float, subprocess.Popen]:
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode not in (0, 1):
        raise SystemExit(completed.stderr[-3000:])
    return time.monotonic() - started, completed


def summary_of(output: Path) -> dict:
    return json.loads((output / "_run_summary.json").read_text())


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def first_round_done(output: Path, entries: int) -> bool:
    try:
        summary = summary_of(output)
    except (OSError, ValueError):
        return False
    settled = summary["rows"] + summary["duplicates"] + summary["dead_letters"]
    return summary["inputs"] >= entries and settled == summary["inputs"]


def visible_source_uris(output: Path, already: dict[Path, set]) -> set[str]:
    """source_uri of every row written so far (new files read once)."""
    for path in output.glob("date=*/**/*.parquet"):
        if path not in already:
            already[path] = set(pq.read_table(path, columns=["source_uri"]).column(0).to_pylist())
    return set().union(*already.values()) if already else set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=20)
    parser.add_argument("--entries", type=int, default=10)
    parser.add_argument("--latency-samples", type=int, default=10)
    parser.add_argument("--soak", type=float, default=60.0, help="seconds of the running job")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="live-bench-"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    total = args.feeds * args.entries
    plan = copy_plan(html_sources(), total + args.latency_samples)
    pages = [mark_html(payload, index) for index, _name, payload in plan]
    print(f"nproc {os.cpu_count()}  load {os.getloadavg()}")
    print(f"{args.feeds} feeds x {args.entries} entries = {total} pages")

    with FaultServer() as server:
        site = Site(server)
        page_urls = [site.add_page(f"/p/{i}.html", page) for i, page in enumerate(pages)]
        feed_urls = []
        for feed in range(args.feeds):
            entries = [
                (f"f{feed}-e{entry}", page_urls[feed * args.entries + entry])
                for entry in range(args.entries)
            ]
            feed_urls.append(site.add_feed(f"/feed/{feed}.xml", entries))
        feeds_file = work / "feeds.txt"
        feeds_file.write_text("\n".join(feed_urls) + "\n")
        batch_dir = work / "pages"
        batch_dir.mkdir()
        for i, page in enumerate(pages[:total]):
            (batch_dir / f"{i}.html").write_bytes(page)

        live_out = work / "live"
        base = ["--feeds", str(feeds_file), "--output", str(live_out), *LIVE_FLAGS]
        base += ["--max_entries_per_poll", str(args.entries)]
        live_s, _ = run_pipeline([*base, "--once"])
        live = summary_of(live_out)
        batch_s, _ = run_pipeline(
            ["--input", str(batch_dir), "--output", str(work / "batch"), "--quiet"]
        )
        batch = summary_of(work / "batch")
        print("\n== 1. throughput (whole process, one poll of every feed) ==")
        print(
            f"live  --once: {live['rows']} rows in {live_s:.1f} s = {live['rows'] / live_s:.1f}/s"
        )
        print(
            f"batch same pages: {batch['rows']} rows in {batch_s:.1f} s = "
            f"{batch['rows'] / batch_s:.1f}/s"
        )
        print(
            f"live / batch: {(live['rows'] / live_s) / (batch['rows'] / batch_s):.2f} (aim >= 0.8)"
        )

        server.clear_log()
        site.body_bytes = 0
        second_s, _ = run_pipeline([*base, "--once"])
        requests = server.requests
        conditional = [r for r in requests if r.header("If-None-Match")]
        print("\n== 2. second poll of unchanged feeds ==")
        print(
            f"{len(requests)} requests ({len(conditional)} conditional, "
            f"{sum(r.path == '/robots.txt' for r in requests)} robots.txt), "
            f"{site.body_bytes} body bytes, rows {summary_of(live_out)['rows']}, "
            f"{second_s:.1f} s (aim: no bodies)"
        )

        soak_out = work / "soak"
        command = [
            sys.executable, "-m", "pipeline", "--feeds", str(feeds_file),
            "--output", str(soak_out), *LIVE_FLAGS, "--tick_seconds", "1",
            "--poll_interval", "1", "--min_poll_interval", "1", "--max_poll_interval", "2",
            "--max_entries_per_poll", str(args.entries + args.latency_samples),
        ]  # fmt: skip
        process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        rss: list[tuple[float, float]] = []
        latencies: list[float] = []
        seen_files: dict[Path, set] = {}
        started = time.monotonic()
        try:
            # Wait until the first poll's entries are all accounted for (rows, duplicates or
            # dead letters), then add entries one at a time.
            while not first_round_done(soak_out, total):
                if process.poll() is not None or time.monotonic() - started > 1800:
                    raise SystemExit(process.communicate()[1][-3000:])
                time.sleep(0.5)
            print(
                f"\nsoak job: first poll's {total} entries written after "
                f"{time.monotonic() - started:.1f} s"
            )
            soak_start = time.monotonic()
            sample = 0
            while time.monotonic() - soak_start < args.soak or sample < args.latency_samples:
                if sample < args.latency_samples:
                    url = page_urls[total + sample]
                    site.add_entry(f"/feed/{sample % args.feeds}.xml", f"new-{sample}", url)
                    appeared = time.monotonic()
                    while url not in visible_source_uris(soak_out, seen_files):
                        if time.monotonic() - appeared > 120:
                            break
                        rss.append((time.monotonic() - soak_start, rss_mb(process.pid) or 0))
                        time.sleep(0.1)
                    else:
                        latencies.append(time.monotonic() - appeared)
                    sample += 1
                else:
                    rss.append((time.monotonic() - soak_start, rss_mb(process.pid) or 0))
                    time.sleep(1)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
        print("\n== 3. latency: entry in the feed -> row readable ==")
        if latencies:
            print(
                f"{len(latencies)} samples: p50 {percentile(latencies, 0.5):.1f} s, "
                f"p95 {percentile(latencies, 0.95):.1f} s, max {max(latencies):.1f} s"
            )
        print("\n== 4. memory of the running job over many polls ==")
        if rss:
            first = [mb for at, mb in rss if at <= 10] or [rss[0][1]]
            last = [mb for at, mb in rss if at >= rss[-1][0] - 10]
            summary = summary_of(soak_out)
            polls = sum(feed.get("polls", 0) for feed in summary.get("feeds", []))
            print(
                f"RSS first 10 s {statistics.mean(first):.0f} MB, last 10 s "
                f"{statistics.mean(last):.0f} MB, max {max(mb for _, mb in rss):.0f} MB over "
                f"{rss[-1][0]:.0f} s and {polls} feed polls; exit {process.returncode}"
            )
        print(f"load after {os.getloadavg()}")


if __name__ == "__main__":
    main()
