"""The embedded state store: feeds, entries seen, the dedup index, statistics, counters."""

import datetime as dt
import threading

from transforms.state.store import FeedState, StateStore, state_path

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_feed_state_round_trips_and_survives_reopening(tmp_path):
    path = state_path(str(tmp_path / "out"))
    store = StateStore(path)
    assert store.feed("http://a/feed").last_status is None
    state = FeedState(
        url="http://a/feed",
        etag='"v1"',
        last_modified="Tue, 01 Dec 2026 11:00:00 GMT",
        next_poll_at=NOW + dt.timedelta(minutes=15),
        consecutive_failures=2,
        failing_since=NOW,
        last_status="failing",
        last_error="timeout",
    )
    store.save_feed(state)
    store.close()
    reopened = StateStore(path)
    assert reopened.feed("http://a/feed") == state
    assert [feed.url for feed in reopened.feeds()] == ["http://a/feed"]


def test_an_entry_known_under_any_key_is_not_new_and_expires(tmp_path):
    store = StateStore(str(tmp_path / "s.sqlite"))
    horizon = dt.timedelta(days=1)
    assert store.claim_entries(["id:f#1", "url:http://a/1"], "f", NOW, horizon)
    assert not store.claim_entries(["id:f#1", "url:http://a/1"], "f", NOW, horizon)
    # Same link under a new guid: not new.
    assert not store.claim_entries(["id:f#changed", "url:http://a/1"], "f", NOW, horizon)
    assert store.claim_entries(["url:http://a/2"], "f", NOW, horizon)
    later = NOW + dt.timedelta(days=2)
    assert store.claim_entries(["id:f#1", "url:http://a/1"], "f", later, horizon)
    # Expired keys were removed, the state stays bounded.
    assert store.seen_entry_count() == 2


def test_content_is_claimed_once(tmp_path):
    store = StateStore(str(tmp_path / "s.sqlite"))
    assert store.claim_content("sha-a", "doc1", "http://a/1", NOW)
    assert not store.claim_content("sha-a", "doc2", "http://a/2", NOW)
    assert store.known_contents(["sha-a", "sha-b"]) == {"sha-a"}


def test_source_statistics_count_distinct_documents(tmp_path):
    store = StateStore(str(tmp_path / "s.sqlite"))
    store.add_source_document("site", "text1", {"menu", "a"})
    store.add_source_document("site", "text1", {"menu", "a"})  # same text again: ignored
    store.add_source_document("site", "text2", {"menu", "b"})
    documents, counts = store.source_line_counts("site", ["menu", "a", "zzz"])
    assert documents == 2
    assert counts == {"menu": 2, "a": 1}


def test_counters_add_up_from_several_threads(tmp_path):
    store = StateStore(str(tmp_path / "s.sqlite"))

    def add():
        for _ in range(50):
            store.add_counters("feed", {"polls": 1, "rows": 2})

    threads = [threading.Thread(target=add) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert store.counters("feed") == {"feed": {"polls": 200, "rows": 400}}


def test_live_runs_index_the_texts_an_output_already_holds(tmp_path):
    from pipeline.live import index_output_texts
    from transforms.records import Article
    from transforms.write import articles_to_parquet

    folder = tmp_path / "out" / "date=2026-12-01" / "lang=en"
    folder.mkdir(parents=True)
    rows = [
        Article(
            doc_id=f"doc{n}",
            source_uri=f"file:///a/{n}.html",
            input_format="html",
            text=f"text {n}",
            content_sha256=f"sha{n}",
            ingested_at=NOW,
        ).to_row()
        for n in range(3)
    ]
    (folder / "part-batch.parquet").write_bytes(articles_to_parquet(rows))
    store = StateStore(str(tmp_path / "s.sqlite"))
    assert index_output_texts(store, str(tmp_path / "out")) == 3
    # A text a batch run wrote is not new to live ingestion; each file is read once.
    assert not store.claim_content("sha1", "other", None, NOW)
    assert store.claim_content("sha-new", "doc-new", None, NOW)
    assert index_output_texts(store, str(tmp_path / "out")) == 0


def test_entries_of_a_killed_round_are_taken_again(tmp_path):
    store = StateStore(str(tmp_path / "s.sqlite"))
    store.save_feed(FeedState(url="f", etag='"v1"', next_poll_at=NOW + dt.timedelta(hours=1)))
    horizon = dt.timedelta(days=1)
    assert store.claim_entries(["id:f#done"], "f", NOW, horizon)
    store.mark_pending(["id:f#done"], "f")
    store.settle_pending()  # that round's files were written
    assert store.claim_entries(["id:f#lost"], "f", NOW, horizon)
    store.mark_pending(["id:f#lost"], "f")
    assert store.claim_content("sha-lost", "doc", None, NOW, pending=True)
    # The run is killed before the round's files are in; the next run starts:
    assert store.recover_pending() == ["f"]
    assert store.claim_entries(["id:f#lost"], "f", NOW, horizon)  # new again
    assert store.claim_content("sha-lost", "doc", None, NOW)  # its text too
    assert not store.claim_entries(["id:f#done"], "f", NOW, horizon)
    feed = store.feed("f")
    assert feed.etag is None and feed.next_poll_at is None  # a full poll lists it again
    assert store.recover_pending() == []
