"""The embedded store of what outlives one run, shared by live ingestion, replay and waves.

One SQLite file (WAL mode) under the output, `_state/state.sqlite` by default:
- `feeds`: per feed, validators (ETag, Last-Modified), next poll, failures, last outcome;
- `seen_entries`: feed entries already taken (by guid and by canonical URL), with an expiry;
- `seen_content`: the dedup index, one row per article text written (content_sha256);
- `source_documents` and `source_lines`: per-source statistics for learned boilerplate;
- `counters`: running totals per scope (a feed URL, or "run").

Local runs use it directly. On Dataflow the same facts live in Beam state (a worker has no
shared disk), see pipeline/live.py. Every method is one short transaction, so a killed run
leaves the store as of its last finished step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator

STATE_DIR = "_state"
STATE_FILE = "state.sqlite"
# Entries seen are forgotten after this long (a feed rarely re-lists an entry that old).
DEFAULT_SEEN_HORIZON = dt.timedelta(days=30)
# Bounds of the per-source line statistics: lines seen once are pruned past this many.
MAX_LINES_PER_SOURCE = 200_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    title TEXT,
    etag TEXT,
    last_modified TEXT,
    last_polled_at TEXT,
    last_success_at TEXT,
    next_poll_at TEXT,
    interval_seconds REAL,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    failing_since TEXT,
    last_status TEXT,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS seen_entries (
    key TEXT PRIMARY KEY,
    feed_url TEXT,
    first_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_entries_expiry ON seen_entries (expires_at);
CREATE TABLE IF NOT EXISTS seen_content (
    content_sha256 TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    url TEXT,
    first_seen_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_entries (
    key TEXT PRIMARY KEY,
    feed_url TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_content (
    content_sha256 TEXT PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS indexed_files (
    path TEXT PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS source_documents (
    source_key TEXT NOT NULL,
    text_digest TEXT NOT NULL,
    PRIMARY KEY (source_key, text_digest)
);
CREATE TABLE IF NOT EXISTS source_lines (
    source_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    documents INTEGER NOT NULL,
    PRIMARY KEY (source_key, fingerprint)
);
CREATE TABLE IF NOT EXISTS counters (
    scope TEXT NOT NULL,
    name TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (scope, name)
);
"""


@dataclasses.dataclass
class FeedState:
    """What is remembered of one feed between polls and runs (Miniflux keeps the same)."""

    url: str
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_polled_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    next_poll_at: dt.datetime | None = None
    interval_seconds: float | None = None
    consecutive_failures: int = 0
    failing_since: dt.datetime | None = None
    # "ok", "not_modified" or "failing"; None before the first poll.
    last_status: str | None = None
    last_error: str | None = None


_FEED_FIELDS = [field.name for field in dataclasses.fields(FeedState)]
_FEED_TIMES = {
    "last_polled_at",
    "last_success_at",
    "next_poll_at",
    "failing_since",
}


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.timezone.utc).isoformat()


def _time(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def _feed_state(row: tuple) -> FeedState:
    values = dict(zip(_FEED_FIELDS, row, strict=True))
    for name in _FEED_TIMES:
        values[name] = _time(values[name])
    return FeedState(**values)


def state_path(output_dir: str, state_dir: str | None = None) -> str:
    """Where a run's store lives: `--state_dir`, else `<output>/_state/` for a local output."""
    directory = state_dir or os.path.join(output_dir, STATE_DIR)
    if "://" in directory:
        raise ValueError(
            f"the state store needs a local folder, not {directory!r}: pass --state_dir"
        )
    return os.path.join(directory, STATE_FILE)


class StateStore:
    """A SQLite file; safe to share between the threads of one process (one lock)."""

    def __init__(self, path: str):
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._db:
            yield self._db

    # Feeds

    def feed(self, url: str) -> FeedState:
        """The feed's state; a fresh one for a feed never polled."""
        with self._transaction() as db:
            row = db.execute(
                f"SELECT {', '.join(_FEED_FIELDS)} FROM feeds WHERE url = ?", (url,)
            ).fetchone()
        return FeedState(url=url) if row is None else _feed_state(row)

    def feeds(self) -> list[FeedState]:
        """Every feed's state, in one query (the live job reads them at every tick)."""
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT {', '.join(_FEED_FIELDS)} FROM feeds ORDER BY url"
            ).fetchall()
        return [_feed_state(row) for row in rows]

    def save_feed(self, state: FeedState) -> None:
        values = [
            _iso(getattr(state, name)) if name in _FEED_TIMES else getattr(state, name)
            for name in _FEED_FIELDS
        ]
        placeholders = ", ".join("?" for _ in _FEED_FIELDS)
        with self._transaction() as db:
            db.execute(
                f"INSERT OR REPLACE INTO feeds ({', '.join(_FEED_FIELDS)}) VALUES ({placeholders})",
                values,
            )

    # Entries seen

    def claim_entries(
        self,
        keys: Iterable[str],
        feed_url: str,
        now: dt.datetime,
        horizon: dt.timedelta = DEFAULT_SEEN_HORIZON,
    ) -> bool:
        """Record an entry under all its keys (guid, canonical URL); True if none was known.

        An entry known under any one key is not new: a feed that changes an entry's guid but
        not its link (or the reverse) does not make it new again.
        """
        keys = sorted({key for key in keys if key})
        if not keys:
            return True
        with self._transaction() as db:
            db.execute("DELETE FROM seen_entries WHERE expires_at < ?", (_iso(now),))
            known = db.execute(
                f"SELECT count(*) FROM seen_entries WHERE key IN ({', '.join('?' * len(keys))})",
                keys,
            ).fetchone()[0]
            db.executemany(
                "INSERT OR REPLACE INTO seen_entries VALUES (?, ?, "
                "COALESCE((SELECT first_seen_at FROM seen_entries WHERE key = ?), ?), ?)",
                [(key, feed_url, key, _iso(now), _iso(now + horizon)) for key in keys],
            )
        return known == 0

    def mark_pending(self, keys: Iterable[str], feed_url: str) -> None:
        """Entries taken in a round whose files are not written yet (see recover_pending)."""
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO pending_entries VALUES (?, ?)",
                [(key, feed_url) for key in keys if key],
            )

    def settle_pending(self) -> None:
        """The round's files are written: its entries are seen for good."""
        with self._transaction() as db:
            db.execute("DELETE FROM pending_entries")
            db.execute("DELETE FROM pending_content")

    def recover_pending(self) -> list[str]:
        """After a killed run: its pending entries are forgotten and their feeds lose their
        validators and are due, so the next poll lists those entries again; its pending texts
        leave the dedup index (re-index the output's files afterwards: texts the killed round
        did write come back from there). The feeds concerned."""
        with self._transaction() as db:
            db.execute(
                "DELETE FROM seen_content WHERE content_sha256 IN "
                "(SELECT content_sha256 FROM pending_content)"
            )
            db.execute("DELETE FROM pending_content")
            pending = db.execute("SELECT key, feed_url FROM pending_entries").fetchall()
            db.executemany("DELETE FROM seen_entries WHERE key = ?", [(k,) for k, _ in pending])
            feeds = sorted({feed_url for _, feed_url in pending})
            db.executemany(
                "UPDATE feeds SET etag = NULL, last_modified = NULL, next_poll_at = NULL "
                "WHERE url = ?",
                [(feed_url,) for feed_url in feeds],
            )
            db.execute("DELETE FROM pending_entries")
        return feeds

    def forget_entries(self, keys: Iterable[str]) -> None:
        """Undo a claim (an entry whose page must be tried again on the next poll)."""
        keys = list(keys)
        with self._transaction() as db:
            db.executemany("DELETE FROM seen_entries WHERE key = ?", [(key,) for key in keys])

    def seen_entry_count(self) -> int:
        with self._transaction() as db:
            return db.execute("SELECT count(*) FROM seen_entries").fetchone()[0]

    # Dedup index

    def claim_content(
        self,
        content_sha256: str,
        doc_id: str,
        url: str | None,
        now: dt.datetime,
        pending: bool = False,
    ) -> bool:
        """True when this text was never written before (and it is now recorded as written).
        `pending`: its file is not written yet (see settle_pending and recover_pending)."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO seen_content VALUES (?, ?, ?, ?)",
                (content_sha256, doc_id, url, _iso(now)),
            )
            new = cursor.rowcount == 1
            if new and pending:
                db.execute("INSERT OR IGNORE INTO pending_content VALUES (?)", (content_sha256,))
            return new

    def claim_contents(self, rows: Iterable[tuple[str, str, str | None, dt.datetime]]) -> int:
        """Record many texts as written, (content_sha256, doc_id, url, seen_at) each, in one
        transaction; how many were new."""
        with self._transaction() as db:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO seen_content VALUES (?, ?, ?, ?)",
                [(sha, doc_id, url, _iso(seen_at)) for sha, doc_id, url, seen_at in rows],
            )
            return db.total_changes - before

    def unindexed_files(self, paths: Iterable[str]) -> list[str]:
        """The output files whose texts are not yet in the dedup index."""
        paths = list(paths)
        with self._transaction() as db:
            indexed = {row[0] for row in db.execute("SELECT path FROM indexed_files")}
        return [path for path in paths if path not in indexed]

    def mark_indexed(self, paths: Iterable[str]) -> None:
        with self._transaction() as db:
            db.executemany("INSERT OR IGNORE INTO indexed_files VALUES (?)", [(p,) for p in paths])

    def known_contents(self, hashes: Iterable[str]) -> set[str]:
        hashes = list(hashes)
        known: set[str] = set()
        with self._transaction() as db:
            for start in range(0, len(hashes), 500):
                chunk = hashes[start : start + 500]
                known.update(
                    row[0]
                    for row in db.execute(
                        "SELECT content_sha256 FROM seen_content WHERE content_sha256 IN "
                        f"({', '.join('?' * len(chunk))})",
                        chunk,
                    )
                )
        return known

    # Per-source statistics

    def add_source_document(
        self, source_key: str, text_digest: str, fingerprints: Iterable[str]
    ) -> None:
        """Count one distinct document of a source and its short lines (a repeat is ignored)."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO source_documents VALUES (?, ?)", (source_key, text_digest)
            )
            if cursor.rowcount != 1:
                return
            db.executemany(
                "INSERT INTO source_lines VALUES (?, ?, 1) ON CONFLICT (source_key, fingerprint) "
                "DO UPDATE SET documents = documents + 1",
                [(source_key, fingerprint) for fingerprint in set(fingerprints)],
            )
            (lines,) = db.execute(
                "SELECT count(*) FROM source_lines WHERE source_key = ?", (source_key,)
            ).fetchone()
            if lines > MAX_LINES_PER_SOURCE:
                db.execute(
                    "DELETE FROM source_lines WHERE source_key = ? AND documents < 2",
                    (source_key,),
                )

    def source_line_counts(
        self, source_key: str, fingerprints: Iterable[str]
    ) -> tuple[int, dict[str, int]]:
        """(distinct documents of the source, {fingerprint: documents that had it})."""
        fingerprints = list(set(fingerprints))
        with self._transaction() as db:
            (documents,) = db.execute(
                "SELECT count(*) FROM source_documents WHERE source_key = ?", (source_key,)
            ).fetchone()
            counts: dict[str, int] = {}
            for start in range(0, len(fingerprints), 500):
                chunk = fingerprints[start : start + 500]
                counts.update(
                    db.execute(
                        "SELECT fingerprint, documents FROM source_lines WHERE source_key = ? "
                        f"AND fingerprint IN ({', '.join('?' * len(chunk))})",
                        [source_key, *chunk],
                    ).fetchall()
                )
        return documents, counts

    def add_source_documents(self, documents: Iterable[tuple[str, str, Iterable[str]]]) -> None:
        """Many (source_key, text_digest, fingerprints) in one transaction (batch waves): like
        add_source_document, without pruning, so the counts are those of the whole input."""
        with self._transaction() as db:
            for source_key, text_digest, fingerprints in documents:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO source_documents VALUES (?, ?)",
                    (source_key, text_digest),
                )
                if cursor.rowcount == 1:
                    db.executemany(
                        "INSERT INTO source_lines VALUES (?, ?, 1) ON CONFLICT "
                        "(source_key, fingerprint) DO UPDATE SET documents = documents + 1",
                        [(source_key, fingerprint) for fingerprint in set(fingerprints)],
                    )

    def source_document_counts(self) -> dict[str, int]:
        """{source_key: distinct documents counted}."""
        with self._transaction() as db:
            return dict(
                db.execute("SELECT source_key, count(*) FROM source_documents GROUP BY source_key")
            )

    def source_lines_seen(self, min_documents: int = 2) -> list[tuple[str, str, int]]:
        """(source_key, fingerprint, documents) of the lines seen in at least that many."""
        with self._transaction() as db:
            return db.execute(
                "SELECT source_key, fingerprint, documents FROM source_lines WHERE documents >= ?",
                (min_documents,),
            ).fetchall()

    # Counters

    def add_counters(self, scope: str, increments: dict[str, int]) -> None:
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO counters VALUES (?, ?, ?) ON CONFLICT (scope, name) "
                "DO UPDATE SET value = value + excluded.value",
                [(scope, name, value) for name, value in increments.items() if value],
            )

    def counters(self, scope: str | None = None) -> dict[str, dict[str, int]]:
        """{scope: {name: value}}, for one scope or all."""
        query = "SELECT scope, name, value FROM counters"
        parameters: tuple = ()
        if scope is not None:
            query, parameters = query + " WHERE scope = ?", (scope,)
        result: dict[str, dict[str, int]] = {}
        with self._transaction() as db:
            for row_scope, name, value in db.execute(query + " ORDER BY scope, name", parameters):
                result.setdefault(row_scope, {})[name] = value
        return result
