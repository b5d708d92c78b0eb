"""The run report: its figures against the Parquet and the dead letters, the page in Chromium."""

from __future__ import annotations

import collections
import datetime as dt
import html
import json
import os
import re
import shutil
import subprocess
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import report
from schemas import ARTICLE_SCHEMA
from tests.helpers import READABILITY, REPO, SEED_PROSE, SEEDS, needs_shared
from transforms.state.store import FeedState, StateStore, state_path

PAGES = ("bbc-1", "cnn", "folha", "guardian-1", "lemonde-1", "nytimes-1", "wapo-1", "ars-1")
WIRE_FOOTER = "Harbour Gazette, 14 Quay Street, Portwick, printed by the Quayside Press."
WIRE_STORIES = [
    "The harbour council approved a new ferry timetable on Monday after months of debate "
    "between residents, shop owners and the operators of the island routes.",
    "Fishermen reported the largest herring catch in a decade this week, and the market "
    "hall stayed open late to sell the surplus to restaurants across the region.",
    "A storm closed the coastal road for six hours on Tuesday; crews cleared fallen trees "
    "and the police asked drivers to avoid the cliff section until Friday morning.",
    "The town library will open on Sundays from next month, the mayor said, after a "
    "petition signed by more than two thousand readers reached the council chamber.",
]


def make_corpus(root):
    """Seeds, a few real pages, a folder of local news sharing a footer, a duplicate, bad files."""
    pages = root / "pages"
    for name in PAGES:
        if (READABILITY / name / "source.html").exists():
            (pages / name).mkdir(parents=True)
            shutil.copy(READABILITY / name / "source.html", pages / name / "source.html")
    wire = root / "gazette"
    wire.mkdir()
    for index, story in enumerate(WIRE_STORIES):
        (wire / f"story-{index}.txt").write_text(
            f"date 2024-03-0{index + 1}\n\nHarbour story {index}\n\n{story}\n\n{WIRE_FOOTER}\n"
        )
    shutil.copy(SEEDS / SEED_PROSE, wire / "copy-of-seed.txt")  # a duplicate of a seed
    bad = root / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "blob.bin").write_bytes(bytes(range(256)) * 8)
    (bad / "records.jsonl").write_text(
        '{"url": "https://example.com/a", "text": "Far too short."}\n{not json\n'
    )
    return [SEEDS, pages, wire, bad]


@pytest.fixture(scope="module")
def run_output(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    inputs = make_corpus(root)
    output = root / "out"
    args = [sys.executable, "-m", "pipeline", "--output", str(output), "--quiet"]
    for path in inputs:
        args += ["--input", str(path)]
    completed = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert f"report        {output / report.REPORT_FILE}" in completed.stderr
    return output


def duckdb_rows(output, sql):
    source = f"read_parquet('{output}/**/*.parquet', hive_partitioning = true)"
    return duckdb.sql(sql.replace("ARTICLES", source)).fetchall()


def dead_letter_records(output):
    return [
        json.loads(line)
        for path in sorted((output / "_dead_letter").glob("*.jsonl"))
        for line in path.read_text().splitlines()
        if line.strip()
    ]


def page_figures(page: str) -> dict[str, int]:
    """{data-figure name: value} of the rendered page."""
    return {
        name: int(value.replace(",", ""))
        for name, value in re.findall(r'data-figure="(\w+)">([\d,]+)<', page)
    }


@needs_shared
def test_report_figures_match_the_parquet_and_dead_letters(run_output):
    data = report.collect(str(run_output))
    articles = data["articles"]
    ((rows, duplicates, words),) = duckdb_rows(
        run_output, "SELECT count(*), sum(duplicate_count), sum(word_count) FROM ARTICLES"
    )
    assert (articles["rows"], articles["duplicates"], articles["words"]) == (
        rows,
        duplicates,
        words,
    )
    assert duplicates >= 1  # the copied seed
    assert dict(articles["by_language"]) == dict(
        duckdb_rows(run_output, "SELECT lang, count(*) FROM ARTICLES GROUP BY ALL")
    )
    by_day = dict(
        duckdb_rows(
            run_output,
            "SELECT coalesce(CAST(date AS VARCHAR), 'unknown'), count(*) FROM ARTICLES "
            "GROUP BY ALL",
        )
    )
    assert dict(articles["by_day"]) == by_day
    assert by_day["2024-03-01"] == 1 and by_day["unknown"] >= 1
    assert sum(count for _, count in articles["word_count_bins"]) == rows
    (fixes,) = duckdb_rows(
        run_output, "SELECT count(*) FROM ARTICLES WHERE list_contains(fixes, 'quotes_unified')"
    )[0]
    assert dict(articles["fixes"]).get("quotes_unified", 0) == fixes
    # publishers by name; without one, the URL's host or the file's folder
    top = {source: count for source, count, _ in articles["top_sources"]}
    publishers = duckdb_rows(
        run_output, "SELECT source, count(*) FROM ARTICLES WHERE source IS NOT NULL GROUP BY ALL"
    )
    assert publishers and all(top.get(name, count) == count for name, count in publishers)
    gazette = [count for source, count in top.items() if source.endswith("/gazette")]
    assert gazette and gazette[0] >= len(WIRE_STORIES)
    # the gazette's footer was learned as its boilerplate; its articles are the examples
    learned = {
        source: (count, lines, examples)
        for source, count, lines, examples in articles["learned_boilerplate"]
    }
    assert learned, articles["learned_boilerplate"]
    assert any("gazette" in uri for _, _, examples in learned.values() for uri in examples)
    (texts_with_footer,) = duckdb_rows(
        run_output, f"SELECT count(*) FROM ARTICLES WHERE contains(text, '{WIRE_FOOTER}')"
    )[0]
    assert texts_with_footer == 0

    records = dead_letter_records(run_output)
    dead = data["dead_letters"]
    assert dead["total"] == len(records) >= 3
    expected = collections.Counter((r["stage"], r["error_type"]) for r in records)
    assert {(e["stage"], e["reason"]): e["count"] for e in dead["by_reason"]} == expected
    for entry in dead["by_reason"]:
        assert 1 <= len(entry["examples"]) <= report.EXAMPLES_PER_REASON
        uris = {
            r["source_uri"]
            for r in records
            if (r["stage"], r["error_type"]) == (entry["stage"], entry["reason"])
        }
        assert {example["source_uri"] for example in entry["examples"]} <= uris

    summary = json.loads((run_output / "_run_summary.json").read_text())
    assert summary["rows"] == rows and summary["dead_letters"] == len(records)
    page = (run_output / report.REPORT_FILE).read_text()
    assert page_figures(page) == {
        "inputs": rows + duplicates + len(records),
        "rows": rows,
        "duplicates": duplicates,
        "dead_letters": len(records),
        "words": words,
        "run_inputs": summary["inputs"],
        "run_rows": summary["rows"],
        "run_duplicates": summary["duplicates"],
        "run_dead_letters": summary["dead_letters"],
    }
    for entry in dead["by_reason"]:
        assert html.escape(entry["examples"][0]["source_uri"]) in page
    assert 'id="feeds"' not in page  # no live state: no feed section


@needs_shared
def test_report_page_needs_no_network(run_output):
    page = (run_output / report.REPORT_FILE).read_text()
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", page, re.IGNORECASE)
    assert page.count("<svg") >= 4


def find_browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


# Injected before the page's own code: collects errors and console.error calls.
COLLECT_ERRORS = """<script>
window.__errors = [];
window.addEventListener("error", function (event) {
  window.__errors.push("error: " + (event.message || (event.target && event.target.outerHTML)));
}, true);
window.addEventListener("unhandledrejection", function (event) {
  window.__errors.push("unhandled rejection: " + event.reason);
});
["error", "warn"].forEach(function (level) {
  var original = console[level];
  console[level] = function () {
    window.__errors.push("console." + level + ": " + Array.prototype.join.call(arguments, " "));
    original.apply(console, arguments);
  };
});
</script>"""
# Injected after it: sorts every table both ways (runs the page's script), reports.
REPORT_ERRORS = """<script>
document.querySelectorAll("th").forEach(function (th) { th.click(); th.click(); });
document.body.setAttribute("data-errors", JSON.stringify(window.__errors));
document.body.setAttribute("data-svgs", String(document.querySelectorAll("svg rect").length));
</script>"""


@needs_shared
def test_report_loads_in_headless_chromium_without_errors(run_output, tmp_path):
    browser = find_browser()
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and no Chromium found: .ci/run installs Debian's chromium")
        pytest.skip("no Chromium on this machine (apt-get install -y chromium)")
    page = (run_output / report.REPORT_FILE).read_text()
    instrumented = page.replace("<head>", "<head>" + COLLECT_ERRORS, 1).replace(
        "</body>", REPORT_ERRORS + "</body>", 1
    )
    path = tmp_path / "page.html"
    path.write_text(instrumented)
    completed = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # nothing may be fetched
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    match = re.search(r'<body data-errors="([^"]*)" data-svgs="(\d+)"', completed.stdout)
    assert match, completed.stdout[:2000]
    assert json.loads(html.unescape(match.group(1))) == []
    assert int(match.group(2)) > 10  # the charts were drawn
    assert "Uncaught" not in completed.stderr
    assert "Balance of the output folder" in completed.stdout


# --- a folder written by earlier runs, and live state --------------------------------------


def article_row(doc_id: str, language: str, words: int, fixes=(), source="Example News"):
    return {
        "doc_id": doc_id,
        "source_uri": f"/archive/{doc_id}.html",
        "source": source,
        "text": "word " * words,
        "word_count": words,
        "char_count": 5 * words,
        "language": language,
        "fixes": list(fixes),
        "content_sha256": doc_id * 64,
        "input_format": "html",
        "duplicate_count": 0,
        "also_seen_at": [],
        "ingested_at": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        "pipeline_version": "test",
    }


def write_partition(output, date, language, rows, name):
    folder = output / f"date={date}" / f"lang={language}"
    folder.mkdir(parents=True, exist_ok=True)
    full = [{field.name: row.get(field.name) for field in ARTICLE_SCHEMA} for row in rows]
    pq.write_table(pa.Table.from_pylist(full, schema=ARTICLE_SCHEMA), folder / name)


def test_report_covers_every_run_in_the_folder_and_live_feeds(tmp_path, capsys):
    output = tmp_path / "out"
    # an earlier run, then a later one, each its own files
    write_partition(output, "2025-12-30", "en", [article_row("a", "en", 120)], "part-1.parquet")
    write_partition(
        output,
        "2026-01-02",
        "de",
        [
            article_row("b", "de", 40, ["learned_boilerplate_lines_removed:2"]),
            article_row("c", "de", 5000, ["learned_boilerplate_lines_removed:3"]),
        ],
        "part-2.parquet",
    )
    write_partition(
        output, "__HIVE_DEFAULT_PARTITION__", "en", [article_row("d", "en", 90)], "p.parquet"
    )
    (output / "_dead_letter").mkdir()
    (output / "_dead_letter" / "dead_letters-1.jsonl").write_text(
        "\n".join(
            json.dumps(
                {
                    "source_uri": f"/archive/bad{i}.txt",
                    "stage": "read",
                    "error_type": "empty_file",
                    "error": "empty",
                    "payload_preview": "",
                }
            )
            for i in (3, 1, 2, 4)
        )
        + "\n"
    )
    assert report.main([str(output)]) == 0
    assert capsys.readouterr().out.strip() == str(output / report.REPORT_FILE)
    page = (output / report.REPORT_FILE).read_text()
    assert page_figures(page) == {
        "inputs": 8,
        "rows": 4,
        "duplicates": 0,
        "dead_letters": 4,
        "words": 5250,
    }
    assert 'id="feeds"' not in page and "Last run" not in page  # no summary, no live state

    data = report.collect(str(output))
    articles = data["articles"]
    assert dict(articles["by_day"]) == {"2025-12-30": 1, "2026-01-02": 1 + 1, "unknown": 1}
    bars, unit = report.calendar_bars(articles["by_day"])
    assert unit == "day" and [label for label, _ in bars] == [
        "2025-12-30",
        "2025-12-31",
        "2026-01-01",
        "2026-01-02",
        "unknown",
    ]
    assert dict(bars)["2025-12-31"] == 0
    assert articles["learned_boilerplate"] == [
        ("Example News", 2, 5, ["/archive/b.html", "/archive/c.html"])
    ]
    assert dict(articles["word_count_bins"])["3200+"] == 1
    assert dict(articles["word_count_bins"])["0-49"] == 1
    (reason,) = data["dead_letters"]["by_reason"]
    assert reason["count"] == 4
    assert [e["source_uri"] for e in reason["examples"]] == [
        "/archive/bad1.txt",
        "/archive/bad2.txt",
        "/archive/bad3.txt",
    ]

    # live state: the feed section appears with each feed's counters
    store = StateStore(state_path(str(output)))
    store.save_feed(
        FeedState(url="https://news.example/feed.xml", title="Example", last_status="ok")
    )
    store.save_feed(
        FeedState(url="https://down.example/rss", last_status="failing", last_error="HTTP 503")
    )
    store.add_counters(
        "https://news.example/feed.xml",
        {"polls": 4, "not_modified": 3, "new_entries": 9, "rows": 8},
    )
    store.add_counters("https://down.example/rss", {"polls": 2, "failures": 2})
    store.add_counters("run:1", {"inputs": 9})  # a run scope, not a feed
    store.close()
    feeds = {feed["url"]: feed for feed in report.collect(str(output))["feeds"]}
    assert set(feeds) == {"https://news.example/feed.xml", "https://down.example/rss"}
    assert (
        feeds["https://news.example/feed.xml"]["not_modified"],
        feeds["https://down.example/rss"]["failures"],
    ) == (3, 2)
    report.write_report(str(output))
    page = (output / report.REPORT_FILE).read_text()
    assert 'id="feeds"' in page and "HTTP 503" in page and "304 not modified" in page


def test_report_command_refuses_a_missing_folder(tmp_path, capsys):
    assert report.main([str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_an_empty_folder_still_gets_a_page(tmp_path):
    path = report.write_report(str(tmp_path))
    with open(path) as handle:
        page = handle.read()
    assert page_figures(page)["rows"] == 0 and "Nothing to show" in page
