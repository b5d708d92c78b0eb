"""The run report: one self-contained HTML page (inline CSS, SVG and a little JS; nothing
fetched) of what an output folder holds. `python -m pipeline.report OUT` writes
`OUT/_run_report.html`; every run of `python -m pipeline` writes it too.

The figures come from the folder itself, so they cover what every run wrote there: the
Parquet (read with DuckDB), the dead letters, `_run_summary.json` (the last run's balance)
and, for live runs, the state store's per-feed counters.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import html
import json
import logging
import os
import sys
from collections.abc import Iterable
from typing import Any

from pipeline.summary import SUMMARY_FILE
from pipeline.version import PIPELINE_VERSION

REPORT_FILE = "_run_report.html"
DEAD_LETTER_DIR = "_dead_letter"
EXAMPLES_PER_REASON = 3
TOP_SOURCES = 15
REPORT_MEMORY_LIMIT = "512MB"
MAX_REPORT_FILES = 20_000
MAX_DAY_BARS = 120  # more days (months) than this are shown per month (year)
# Upper bounds of the word-count histogram's bins (the last bin is open-ended).
WORD_COUNT_BINS = (50, 100, 200, 400, 800, 1600, 3200)
LEARNED_FIX = "learned_boilerplate_lines_removed"
FEED_COLUMNS = (
    ("polls", "polls"),
    ("not_modified", "304 not modified"),
    ("new_entries", "new entries"),
    ("failures", "poll failures"),
    ("page_failures", "page failures"),
    ("rows", "rows"),
)

_LOG = logging.getLogger(__name__)


# --- figures -------------------------------------------------------------------------------


def _parquet_glob(output_dir: str) -> str:
    return os.path.join(output_dir, "**", "*.parquet")


def _has_parquet(output_dir: str) -> bool:
    return any(
        not os.path.basename(os.path.dirname(path)).startswith(("_", "."))
        for path in glob.iglob(_parquet_glob(output_dir), recursive=True)
    )


def article_figures(output_dir: str) -> dict[str, Any]:
    """Counts of the Parquet rows under output_dir, by DuckDB."""
    empty = {
        "rows": 0,
        "duplicates": 0,
        "words": 0,
        "by_day": [],
        "by_language": [],
        "top_sources": [],
        "fixes": [],
        "learned_boilerplate": [],
        "word_count_bins": [],
        "word_count_quantiles": {},
    }
    if not _has_parquet(output_dir):
        return empty
    files = sum(1 for _ in glob.iglob(_parquet_glob(output_dir), recursive=True))
    if files > MAX_REPORT_FILES:
        # DuckDB's memory limit does not hold for the schemas of that many files (8 GB for
        # 117,000): the page then shows the run summary without the row figures.
        _LOG.warning(
            "run report: %d Parquet files, over %d: no row figures", files, MAX_REPORT_FILES
        )
        return empty
    import duckdb

    # DuckDB's default is 80% of the machine's memory: the report of a run over a million
    # articles in 117,000 files took 8 GB, ten times the run's own peak.
    connection = duckdb.connect(config={"memory_limit": REPORT_MEMORY_LIMIT, "threads": 2})
    source = (
        f"read_parquet('{_parquet_glob(output_dir).replace(chr(39), chr(39) * 2)}', "
        "hive_partitioning = true, union_by_name = true)"
    )
    # A row's source: the publisher, else the URL's host, else the folder of the file (as
    # cleaning groups documents to learn their boilerplate).
    connection.execute(
        "CREATE VIEW articles AS SELECT * REPLACE (coalesce(source, "
        "nullif(regexp_extract(url, '^[a-z]+://([^/:]+)', 1), ''), "
        f"regexp_replace(source_uri, '/[^/]*$', '')) AS source) FROM {source}"
    )

    def rows(sql: str, *params) -> list[tuple]:
        return connection.execute(sql, list(params)).fetchall()

    total, duplicates, words = rows(
        "SELECT count(*), coalesce(sum(duplicate_count), 0), coalesce(sum(word_count), 0) "
        "FROM articles"
    )[0]
    by_day = rows(
        "SELECT CAST(date AS VARCHAR), count(*) FROM articles GROUP BY ALL ORDER BY 1 NULLS LAST"
    )
    by_language = rows("SELECT lang, count(*) FROM articles GROUP BY ALL ORDER BY 2 DESC, 1")
    top_sources = rows(
        "SELECT source, count(*), sum(word_count) FROM articles "
        "GROUP BY ALL ORDER BY 2 DESC, 1 LIMIT ?",
        TOP_SOURCES,
    )
    # fixes like "boilerplate_lines_removed:3": documents per fix name
    fixes = rows(
        "SELECT split_part(fix, ':', 1) AS name, count(*) FROM "
        "(SELECT unnest(fixes) AS fix FROM articles) GROUP BY ALL ORDER BY 2 DESC, 1"
    )
    learned = rows(
        "SELECT source, count(*) AS articles, "
        "sum(CAST(split_part(fix, ':', 2) AS BIGINT)) AS lines, "
        "list(source_uri ORDER BY source_uri)[1:?] AS examples FROM "
        "(SELECT source, source_uri, unnest(fixes) AS fix FROM articles) "
        "WHERE fix LIKE ? GROUP BY ALL ORDER BY lines DESC, 1",
        EXAMPLES_PER_REASON,
        LEARNED_FIX + ":%",
    )
    # bin k: WORD_COUNT_BINS[k-1] <= words < WORD_COUNT_BINS[k]
    bin_index = " + ".join(f"CAST(word_count >= {bound} AS INTEGER)" for bound in WORD_COUNT_BINS)
    bins = rows(f"SELECT {bin_index} AS bin, count(*) FROM articles GROUP BY ALL ORDER BY bin")
    quantiles = rows(
        "SELECT quantile_disc(word_count, 0.1), quantile_disc(word_count, 0.5), "
        "quantile_disc(word_count, 0.9), max(word_count) FROM articles"
    )[0]
    return {
        "rows": total,
        "duplicates": int(duplicates),
        "words": int(words),
        "by_day": [(day or "unknown", count) for day, count in by_day],
        "by_language": by_language,
        "top_sources": top_sources,
        "fixes": fixes,
        "learned_boilerplate": [
            (source, articles, int(lines), list(examples))
            for source, articles, lines, examples in learned
        ],
        "word_count_bins": [
            (_bin_label(index), dict(bins).get(index, 0))
            for index in range(len(WORD_COUNT_BINS) + 1)
        ],
        "word_count_quantiles": dict(zip(("p10", "median", "p90", "max"), quantiles, strict=True)),
    }


def _bin_label(index: int) -> str:
    """Label of histogram bin `index` (words from WORD_COUNT_BINS[index - 1] to the next)."""
    if index >= len(WORD_COUNT_BINS):
        return f"{WORD_COUNT_BINS[-1]}+"
    low = 0 if index == 0 else WORD_COUNT_BINS[index - 1]
    return f"{low}-{WORD_COUNT_BINS[index] - 1}"


def iter_dead_letters(output_dir: str) -> Iterable[dict[str, Any]]:
    for path in sorted(glob.glob(os.path.join(output_dir, DEAD_LETTER_DIR, "*.jsonl"))):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)


def dead_letter_figures(output_dir: str) -> dict[str, Any]:
    """Dead letters by stage and by (stage, reason), with the first examples by source_uri."""
    by_stage: dict[str, int] = {}
    by_reason: dict[tuple[str, str], dict[str, Any]] = {}
    total = 0
    for record in iter_dead_letters(output_dir):
        total += 1
        stage, reason = record.get("stage") or "?", record.get("error_type") or "?"
        by_stage[stage] = by_stage.get(stage, 0) + 1
        entry = by_reason.setdefault((stage, reason), {"count": 0, "examples": []})
        entry["count"] += 1
        entry["examples"].append(
            {
                "source_uri": record.get("source_uri"),
                "error": record.get("error"),
                "preview": record.get("payload_preview"),
            }
        )
        # keep the smallest source_uris only: memory stays bounded, the choice stable
        entry["examples"].sort(key=lambda example: example["source_uri"] or "")
        del entry["examples"][EXAMPLES_PER_REASON:]
    reasons = sorted(by_reason.items(), key=lambda item: (-item[1]["count"], item[0]))
    return {
        "total": total,
        "by_stage": sorted(by_stage.items(), key=lambda item: (-item[1], item[0])),
        "by_reason": [
            {"stage": stage, "reason": reason, **entry} for (stage, reason), entry in reasons
        ],
    }


def feed_figures(output_dir: str, state_dir: str | None = None) -> list[dict[str, Any]]:
    """Per feed of a live run's state store: its state and counters; [] without a store."""
    from transforms.state.store import StateStore, state_path

    try:
        path = state_path(output_dir, state_dir)
    except ValueError:
        return []
    if not os.path.exists(path):
        return []
    store = StateStore(path)
    try:
        counters = store.counters()
        feeds = store.feeds()
    finally:
        store.close()
    return [
        {
            "url": feed.url,
            "title": feed.title,
            "state": feed.last_status or "never polled",
            "last_error": feed.last_error,
            **{name: counters.get(feed.url, {}).get(name, 0) for name, _ in FEED_COLUMNS},
        }
        for feed in feeds
    ]


def read_summary(output_dir: str) -> dict[str, Any] | None:
    try:
        with open(os.path.join(output_dir, SUMMARY_FILE), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def collect(
    output_dir: str, summary: dict[str, Any] | None = None, state_dir: str | None = None
) -> dict[str, Any]:
    """Everything the page shows, as plain data (tests compare it with the Parquet)."""
    summary = summary if summary is not None else read_summary(output_dir)
    return {
        "output": os.path.abspath(output_dir),
        "generated_at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "summary": summary,
        "articles": article_figures(output_dir),
        "dead_letters": dead_letter_figures(output_dir),
        "feeds": feed_figures(output_dir, state_dir or (summary or {}).get("state_dir")),
    }


# --- page ----------------------------------------------------------------------------------

_CSS = """
:root { --ink: #1d2733; --muted: #5c6b7a; --line: #dde3ea; --bar: #2f6fb3; --rows: #2f8f5b;
        --dups: #c99a2e; --dead: #c4473a; --bg: #f7f9fb; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: var(--bg); margin: 0; }
header { background: #1d2733; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #c3cdd8; font-size: 13px; }
main { max-width: 1100px; margin: 0 auto; padding: 20px 28px 40px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px;
          margin: 0 0 18px; }
section h2 { margin: 0 0 12px; font-size: 17px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; }
.figure { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.figure .value { font-size: 24px; font-weight: 600; }
.figure .name { color: var(--muted); font-size: 13px; }
.ok { color: var(--rows); font-weight: 600; } .bad { color: var(--dead); font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
         vertical-align: top; }
th { color: var(--muted); font-weight: 600; cursor: pointer; user-select: none; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace;
              overflow-wrap: anywhere; }
.preview { color: var(--muted); white-space: pre-wrap; max-height: 4.2em; overflow: hidden; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
@media (max-width: 800px) { .two { grid-template-columns: 1fr; } }
svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
.note { color: var(--muted); font-size: 13px; margin: 6px 0 0; }
details summary { cursor: pointer; color: var(--bar); font-size: 13px; }
"""

# Click a table header to sort by that column (numbers as numbers).
_JS = """
document.querySelectorAll("table.sortable th").forEach(function (header, index) {
  header.addEventListener("click", function () {
    var body = header.closest("table").tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var descending = header.dataset.order !== "desc";
    header.dataset.order = descending ? "desc" : "asc";
    function key(row) {
      var text = row.cells[index] ? row.cells[index].textContent.trim() : "";
      var number = parseFloat(text.replace(/,/g, ""));
      return isNaN(number) ? text.toLowerCase() : number;
    }
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      var order = x < y ? -1 : x > y ? 1 : 0;
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else _e(value)


def figure(name: str, value: Any, key: str) -> str:
    return (
        f'<div class="figure"><div class="value" data-figure="{_e(key)}">{_n(value)}</div>'
        f'<div class="name">{_e(name)}</div></div>'
    )


def table(headers: list[str], rows: list[list[Any]], numeric: set[int] = frozenset()) -> str:
    head = "".join(
        f'<th class="num">{_e(h)}</th>' if i in numeric else f"<th>{_e(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_n(cell)}</td>' if i in numeric else f"<td>{cell}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def vertical_bars(
    items: list[tuple[str, int]], color: str = "var(--bar)", height: int = 180, width: int = 1000
) -> str:
    """Bar chart, one bar per item; every label when they fit, else the first, middle, last."""
    if not items:
        return '<p class="note">Nothing to show.</p>'
    left, bottom, top = 44, 22, 8
    peak = max(count for _, count in items) or 1
    step = (width - left) / len(items)
    bar = max(1.0, step * 0.8)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" style="max-width:{width}px">'
    ]
    for fraction in (0, 0.5, 1):
        y = top + (height - top - bottom) * (1 - fraction)
        parts.append(
            f'<line x1="{left}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e6ebf0"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_n(round(peak * fraction))}</text>"
        )
    every_label = len(items) * 55 <= width - left
    label_at = set(range(len(items))) if every_label else {0, len(items) // 2, len(items) - 1}
    for index, (label, count) in enumerate(items):
        bar_height = (height - top - bottom) * count / peak
        x = left + index * step + (step - bar) / 2
        y = height - bottom - bar_height
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{bar_height:.1f}" '
            f'fill="{color}"><title>{_e(label)}: {_n(count)}</title></rect>'
        )
        if index in label_at:
            anchor = (
                "middle"
                if every_label
                else "start"
                if index == 0
                else "end"
                if index == len(items) - 1
                else "middle"
            )
            tx = x if anchor == "start" else x + bar if anchor == "end" else x + bar / 2
            parts.append(
                f'<text x="{tx:.1f}" y="{height - 6}" text-anchor="{anchor}">{_e(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bars(items: list[tuple[str, int]], color: str = "var(--bar)") -> str:
    if not items:
        return '<p class="note">Nothing to show.</p>'
    row, width = 22, 560
    label_width = min(260, 16 + 7 * max(len(str(label)) for label, _ in items))
    peak = max(count for _, count in items) or 1
    height = row * len(items) + 4
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" style="max-width:{width}px">'
    ]
    for index, (label, count) in enumerate(items):
        y = index * row + 2
        bar = (width - label_width - 70) * count / peak
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end">{_e(label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{bar:.1f}" height="{row - 6}" '
            f'fill="{color}"><title>{_e(label)}: {_n(count)}</title></rect>'
            f'<text x="{label_width + bar + 6:.1f}" y="{y + 15}">{_n(count)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def balance_bar(rows: int, duplicates: int, dead: int) -> str:
    total = rows + duplicates + dead
    if not total:
        return ""
    parts, x = ['<svg viewBox="0 0 1000 34" width="100%" role="img">'], 0.0
    for name, count, color in (
        ("rows", rows, "var(--rows)"),
        ("duplicates", duplicates, "var(--dups)"),
        ("dead letters", dead, "var(--dead)"),
    ):
        width = 1000 * count / total
        if width:
            parts.append(
                f'<rect x="{x:.1f}" y="4" width="{width:.1f}" height="26" fill="{color}">'
                f"<title>{name}: {count:,} ({100 * count / total:.1f}%)</title></rect>"
            )
        x += width
    parts.append("</svg>")
    legend = (
        '<p class="note"><span style="color:var(--rows)">■</span> rows '
        '<span style="color:var(--dups)">■</span> duplicates '
        '<span style="color:var(--dead)">■</span> dead letters</p>'
    )
    return "".join(parts) + legend


def calendar_bars(by_day: list[tuple[str, int]]) -> tuple[list[tuple[str, int]], str]:
    """Counts per day from the first to the last date (days without articles as 0), per month
    or per year when there are too many days to draw; "unknown" (no date) last."""
    known = {dt.date.fromisoformat(day): count for day, count in by_day if day != "unknown"}
    unknown = [(day, count) for day, count in by_day if day == "unknown"]
    if not known:
        return unknown, "day"
    first, last = min(known), max(known)
    for unit, key_length in (("day", 10), ("month", 7), ("year", 4)):
        buckets: dict[str, int] = {}
        day = first
        while day <= last:
            key = day.isoformat()[:key_length]
            buckets[key] = buckets.get(key, 0) + known.get(day, 0)
            day += dt.timedelta(days=1)
        if len(buckets) <= MAX_DAY_BARS or unit == "year":
            return list(buckets.items()) + unknown, unit
    raise AssertionError("unreachable")


def _balance_section(data: dict[str, Any]) -> str:
    articles, dead = data["articles"], data["dead_letters"]
    summary = data.get("summary") or {}
    folder_inputs = articles["rows"] + articles["duplicates"] + dead["total"]
    figures = [
        figure("inputs (rows + duplicates + dead letters)", folder_inputs, "inputs"),
        figure("rows", articles["rows"], "rows"),
        figure("duplicates", articles["duplicates"], "duplicates"),
        figure("dead letters", dead["total"], "dead_letters"),
        figure("words", articles["words"], "words"),
    ]
    out = [
        '<section id="balance"><h2>Balance of the output folder</h2>',
        f'<div class="grid">{"".join(figures)}</div>',
        balance_bar(articles["rows"], articles["duplicates"], dead["total"]),
    ]
    if summary.get("inputs") is not None:
        ok = summary.get("balanced")
        verdict = '<span class="ok">ok</span>' if ok else '<span class="bad">MISMATCH</span>'
        out.append(
            "<p>Last run"
            f" ({_e(summary.get('ingested_at') or '')}, {_e(summary.get('runner') or '')}): "
            f'<span data-figure="run_inputs">{_n(summary["inputs"])}</span> inputs = '
            f'<span data-figure="run_rows">{_n(summary.get("rows"))}</span> rows + '
            f'<span data-figure="run_duplicates">{_n(summary.get("duplicates"))}</span> '
            "duplicates + "
            f'<span data-figure="run_dead_letters">{_n(summary.get("dead_letters"))}</span> '
            f"dead letters: {verdict}</p>"
        )
        patterns = summary.get("inputs_patterns") or summary.get("feeds_file")
        if patterns:
            out.append(f'<p class="note">Inputs: <code>{_e(patterns)}</code></p>')
    out.append(
        '<p class="note">Folder figures cover every run that wrote here: rows and dead '
        "letters as stored, duplicates as counted in <code>duplicate_count</code>.</p></section>"
    )
    return "".join(out)


def _articles_section(data: dict[str, Any]) -> str:
    articles = data["articles"]
    days = articles["by_day"]
    shown, unit = calendar_bars(days)
    languages = [(lang or "und", count) for lang, count in articles["by_language"]]
    quantiles = articles["word_count_quantiles"]
    spread = (
        f"median {quantiles['median']:,} words, 10% under {quantiles['p10']:,}, "
        f"10% over {quantiles['p90']:,}, longest {quantiles['max']:,}"
        if quantiles and quantiles.get("median") is not None
        else ""
    )
    return (
        f'<section id="days"><h2>Articles per publication {unit}</h2>'
        f"{vertical_bars(shown)}"
        '<p class="note">"unknown": no publication date found (partition '
        "<code>date=__HIVE_DEFAULT_PARTITION__</code>).</p></section>"
        '<div class="two"><section id="languages"><h2>Articles per language</h2>'
        f"{horizontal_bars(languages)}</section>"
        '<section id="words"><h2>Word count distribution</h2>'
        f"{vertical_bars(articles['word_count_bins'], 'var(--rows)', 170, 520)}"
        f'<p class="note">Words per article; {_e(spread)}.</p></section></div>'
        '<section id="sources"><h2>Top sources</h2>'
        + table(
            ["source", "articles", "words"],
            [
                [_e(source), count, int(words or 0)]
                for source, count, words in articles["top_sources"]
            ],
            {1, 2},
        )
        + "</section>"
    )


def _dead_letter_section(data: dict[str, Any]) -> str:
    dead = data["dead_letters"]
    if not dead["total"]:
        return '<section id="dead-letters"><h2>Dead letters</h2><p>None.</p></section>'
    stages = horizontal_bars(dead["by_stage"], "var(--dead)")
    rows = []
    for entry in dead["by_reason"]:
        examples = "".join(
            f"<li><code>{_e(example['source_uri'])}</code><br>{_e(example['error'])}"
            f'<div class="preview mono">{_e(example["preview"])}</div></li>'
            for example in entry["examples"]
        )
        rows.append(
            [
                _e(entry["stage"]),
                f"<code>{_e(entry['reason'])}</code>",
                entry["count"],
                f"<details><summary>{len(entry['examples'])} example(s)</summary>"
                f"<ul>{examples}</ul></details>",
            ]
        )
    return (
        '<section id="dead-letters"><h2>Dead letters</h2>'
        f'<div class="two"><div><h3>By stage</h3>{stages}</div><div></div></div>'
        "<h3>By reason</h3>"
        + table(["stage", "reason", "count", "examples (source_uri, error, preview)"], rows, {2})
        + "</section>"
    )


def _cleaning_section(data: dict[str, Any]) -> str:
    articles = data["articles"]
    fixes = horizontal_bars(articles["fixes"], "var(--rows)")
    learned_rows = [
        [
            _e(source),
            count,
            lines,
            "<br>".join(f"<code>{_e(uri)}</code>" for uri in examples),
        ]
        for source, count, lines, examples in articles["learned_boilerplate"]
    ]
    learned = (
        table(["source", "articles", "lines removed", "example articles"], learned_rows, {1, 2})
        if learned_rows
        else '<p class="note">No source repeated a line often enough to learn it.</p>'
    )
    return (
        '<section id="fixes"><h2>Fixes applied (articles)</h2>'
        f"{fixes}</section>"
        '<section id="learned-boilerplate"><h2>Learned boilerplate lines per source</h2>'
        f"{learned}"
        '<p class="note">Short lines that recur across a source\'s documents (navigation, '
        "sign-up prompts, bylines) and were removed from its articles.</p></section>"
    )


def _feeds_section(data: dict[str, Any]) -> str:
    feeds = data["feeds"]
    if not feeds:
        return ""
    rows = [
        [
            f"<code>{_e(feed['url'])}</code><br>{_e(feed['title'] or '')}",
            _e(feed["state"])
            + (f"<br><small>{_e(feed['last_error'])}</small>" if feed["last_error"] else ""),
            *[feed[name] for name, _ in FEED_COLUMNS],
        ]
        for feed in feeds
    ]
    headers = ["feed", "state", *[title for _, title in FEED_COLUMNS]]
    numeric = set(range(2, 2 + len(FEED_COLUMNS)))
    return (
        f'<section id="feeds"><h2>Live feeds ({len(feeds)})</h2>'
        + table(headers, rows, numeric)
        + "</section>"
    )


def render(data: dict[str, Any]) -> str:
    """The page, from collect()'s data."""
    title = f"News pipeline run report: {os.path.basename(data['output'].rstrip('/'))}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1><p>{_e(data['output'])} · generated "
        f"{_e(data['generated_at'])} · pipeline {_e(PIPELINE_VERSION)}</p></header><main>"
        + _balance_section(data)
        + _feeds_section(data)
        + _articles_section(data)
        + _dead_letter_section(data)
        + _cleaning_section(data)
        + f"</main><script>{_JS}</script></body></html>\n"
    )


def write_report(
    output_dir: str, summary: dict[str, Any] | None = None, state_dir: str | None = None
) -> str | None:
    """Write OUTPUT/_run_report.html; returns its path (None for a remote output)."""
    if "://" in output_dir:
        _LOG.info("no run report for a remote output; run python -m pipeline.report on a copy")
        return None
    page = render(collect(output_dir, summary, state_dir))
    path = os.path.join(output_dir, REPORT_FILE)
    temporary = os.path.join(output_dir, f".{REPORT_FILE}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(page)
    os.replace(temporary, path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.report",
        description=f"Write OUTPUT/{REPORT_FILE}, the run report of an output folder.",
    )
    parser.add_argument("output", help="output folder of the pipeline (local)")
    parser.add_argument("--state_dir", default=None, help="state store folder of live runs")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.output):
        print(f"{parser.prog}: error: {args.output} is not a folder", file=sys.stderr)
        return 2
    path = write_report(args.output, state_dir=args.state_dir)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
