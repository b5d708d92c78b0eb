"""A small corpus run as several waves and as one: identical rows and dead letters."""

import itertools
import json

import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.graph import run
from pipeline.options import NewsPipelineOptions
from pipeline.waves import (
    SpillWriter,
    plan_waves,
    read_spill,
    share_out,
    spill_files,
)
from transforms.read import jsonl_ranges

PROSE = (
    "The harbour authority said on {day} that the new ferry line to the northern islands would "
    "start in spring, after a long dispute over landing fees with the operators of the old pier."
)
TEMPLATE = ["Subscribe to our newsletter", "Share this story", "Read more local news"]


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    for index, day in enumerate(days):  # one source whose template lines must be learned
        body = [f"Ferry news {index}", TEMPLATE[0], PROSE.format(day=day), *TEMPLATE[1:]]
        _write(root / "harbour" / f"{index}.txt", "\n".join(body))
    copy = PROSE.format(day="Sunday") + " The same story was syndicated word for word."
    _write(root / "a_wire" / "story.txt", copy)  # one text in two files, far apart in order
    _write(root / "z_mirror" / "story.txt", copy)
    _write(root / "broken" / "empty.txt", "")
    _write(root / "broken" / "short.txt", "Too short to be an article.")
    cased = "Moscow and Washington traded words again on Friday, Reuters reported. " * 3
    lowered = "moscow and washington said little on saturday , reuters reported . " * 3
    records = [{"title": "Cased", "text": cased}, {"title": "lowered", "text": lowered}]
    _write(
        root / "feed.jsonl",
        "\n".join([*(json.dumps(r) for r in records), "{not json"]) + "\n",
    )
    return root


def _rows(output):
    rows = []
    for path in sorted(output.rglob("*.parquet")):
        rows += pq.read_table(path).to_pylist()
    for row in rows:
        row.pop("ingested_at")  # the time of each run
    return sorted(rows, key=lambda row: row["doc_id"])


def _article_files(output):
    return sorted(
        str(path.relative_to(output))
        for path in output.rglob("*.parquet")
        if not str(path.relative_to(output)).startswith("_")
    )


def _dead_letters(output):
    records = []
    for path in (output / "_dead_letter").glob("*.jsonl"):
        records += map(json.loads, path.read_text(encoding="utf-8").splitlines())
    for record in records:
        record.pop("failed_at")  # the time of each run
    return sorted(records, key=lambda record: (record["source_uri"], record["stage"]))


@pytest.fixture(scope="module")
def runs(corpus, tmp_path_factory):
    outputs = {}
    # 10 files in 2 waves of 5, and feed.jsonl as 3 line-aligned ranges, one wave each; the
    # same over 2 worker processes.
    waves = ["--wave_size=5", "--split_bytes=150"]
    pool = [*waves, "--direct_num_workers=2", "--direct_running_mode=multi_processing"]
    with pytest.MonkeyPatch.context() as patch:
        # Buckets by article count (the corpus's few kilobytes would fit one bucket by bytes).
        patch.setattr("pipeline.waves.WRITE_BUCKET_BYTES", 1)
        for name, extra in [("one", []), ("waves", waves), ("pool", pool)]:
            output = tmp_path_factory.mktemp(name)
            summary = run(["--input", str(corpus), "--output", str(output), *extra])
            outputs[name] = (output, summary)
    return outputs


def test_waves_give_the_rows_and_dead_letters_of_one_run(runs):
    (one, one_summary), (waves, waves_summary) = runs["one"], runs["waves"]
    # 2 shares of files and one per range; 11 articles in buckets of 5.
    assert waves_summary["waves"] == 5 and waves_summary["dedup_buckets"] == 3
    assert _rows(waves) == _rows(one)
    assert _dead_letters(waves) == _dead_letters(one)
    assert _article_files(waves) == _article_files(one)  # buckets merged: one file a partition
    for key in ("inputs", "rows", "duplicates", "dead_letters", "balanced", "fixes", "formats"):
        assert waves_summary[key] == one_summary[key], key


def test_worker_processes_give_the_rows_and_dead_letters_of_one_run(runs):
    (one, one_summary), (pool, pool_summary) = runs["one"], runs["pool"]
    assert pool_summary["waves"] == 5 and "2 worker processes" in pool_summary["runner"]
    assert _rows(pool) == _rows(one)
    assert _dead_letters(pool) == _dead_letters(one)
    assert _article_files(pool) == _article_files(one)
    for key in ("inputs", "rows", "duplicates", "dead_letters", "balanced", "fixes", "formats"):
        assert pool_summary[key] == one_summary[key], key


def test_dedup_buckets_hold_wave_size_articles_or_write_bucket_bytes():
    from pipeline.waves import MAX_BUCKETS, WRITE_BUCKET_BYTES, dedup_buckets

    # Pages: a bucket per 1,000 articles while they spill under the byte bound.
    assert dedup_buckets(20_000, 20 * WRITE_BUCKET_BYTES, 1000) == 20
    # Short records: buckets of WRITE_BUCKET_BYTES, however many articles that is.
    assert dedup_buckets(1_000_000, 40 * WRITE_BUCKET_BYTES, 1000) == 40
    assert dedup_buckets(1_000_000, 40 * WRITE_BUCKET_BYTES + 1, 1000) == 41
    assert dedup_buckets(10**9, 10**6 * WRITE_BUCKET_BYTES, 1000) == MAX_BUCKETS
    assert dedup_buckets(0, 0, 1000) == 1


def test_share_out_gives_each_worker_its_shares_within_the_bounds():
    items = list(range(10))
    assert share_out(items, 100, 1) == [items]
    assert share_out(items, 100, 2) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert share_out(items, 2, 2) == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
    assert share_out(items, 100, 2, min_per_share=6) == [items[:6], items[6:]]
    assert share_out([], 5, 2) == []
    assert share_out(items, 100, 2, per_worker=1) == [items[:5], items[5:]]


def test_the_corpus_exercises_what_waves_must_carry_over(runs):
    output, summary = runs["waves"]
    rows = _rows(output)
    fixes = [fix for row in rows for fix in row["fixes"]]
    # Template lines learned from the whole input, though no wave holds 3 of its documents.
    assert any(fix.startswith("learned_boilerplate_lines_removed") for fix in fixes)
    assert "truecased" in fixes
    assert [row["duplicate_count"] for row in rows].count(1) == 1  # copies in distinct waves
    assert summary["dead_letters"] == 3  # empty file, too short, invalid JSON line
    assert not list(output.glob("_state/waves-*"))  # spill removed


def test_spill_files_round_trip_and_rotate(tmp_path):
    writer = SpillWriter(str(tmp_path), "t", max_items=2)
    for item in range(5):
        writer.write({"item": item})
    writer.close()
    files = spill_files(str(tmp_path))
    assert len(files) == 3
    assert sorted(item["item"] for path in files for item in read_spill(path)) == list(range(5))


def test_jsonl_ranges_cut_at_line_ends_and_number_lines(tmp_path):
    path = tmp_path / "big.jsonl"
    lines = [f'{{"text": "{"x" * (index * 7 % 40)}"}}\n'.encode() for index in range(30)]
    path.write_bytes(b"".join(lines))
    size = path.stat().st_size
    ranges, line_count = jsonl_ranges(str(path), size, 100)
    assert len(ranges) > 3 and line_count == 30
    assert ranges[0].start == 0 and ranges[-1].end == size
    data = path.read_bytes()
    for piece, following in itertools.pairwise(ranges):
        assert piece.end == following.start and data[piece.end - 1 : piece.end] == b"\n"
        assert following.first_line == piece.first_line + data[piece.start : piece.end].count(b"\n")


def test_plan_waves_bounds_files_and_bytes():
    files = [("a", 10), ("b", 10), ("c", 50), ("d", 5)]
    assert plan_waves(files, 2) == [["a", "b"], ["c", "d"]]
    assert plan_waves(files, 10, max_bytes=25) == [["a", "b"], ["c"], ["d"]]


def test_extract_shares_cut_files_and_large_json_lines_for_every_worker(tmp_path, monkeypatch):
    import pipeline.waves as waves

    big = tmp_path / "big.jsonl"
    big.write_bytes(b"".join(f'{{"text": "{index:05d}"}}\n'.encode() for index in range(1000)))
    size = big.stat().st_size
    files = [(f"f{index:02d}.txt", 10) for index in range(45)] + [(str(big), size)]
    options = PipelineOptions(["--wave_size=1000"]).view_as(NewsPipelineOptions)
    monkeypatch.setattr(waves, "MIN_RANGE_BYTES", size // 8)  # ranges of size / 4
    one = waves.plan_extract_shares(options, files, 1)
    assert one == [[path for path, _ in files]]  # one wave; the file under --split_bytes whole
    two = waves.plan_extract_shares(options, files, 2)
    assert [len(share) for share in two[:3]] == [20, 20, 5]  # MIN_SHARE_FILES each at least
    ranges = [share[0] for share in two[3:]]
    assert len(ranges) == 4 and all(len(share) == 1 for share in two[3:])
    assert ranges[0].start == 0 and ranges[-1].end == size  # line-aligned, covering the file


def test_a_file_past_the_read_limits_is_read_whole_as_the_one_graph_run_reads_it(
    tmp_path, monkeypatch
):
    import pipeline.waves as waves

    big = tmp_path / "big.jsonl"
    big.write_bytes(b"".join(f'{{"text": "{index:05d}"}}\n'.encode() for index in range(99)))
    big.write_bytes(big.read_bytes() + b'{"text": "last, no newline"}')  # 100 lines
    size = big.stat().st_size
    monkeypatch.setattr(waves, "MIN_RANGE_BYTES", size // 8)

    def shares(*flags):
        options = PipelineOptions(["--wave_size=1000", *flags]).view_as(NewsPipelineOptions)
        return waves.plan_extract_shares(options, [(str(big), size)], 2)

    assert len(shares("--max_records_per_file=100")) == 4  # within the limits: ranges
    assert jsonl_ranges(str(big), size, size // 4)[1] == 100
    assert shares("--max_records_per_file=99") == [[str(big)]]
    assert shares(f"--max_expanded_bytes_per_file={size - 1}") == [[str(big)]]


def test_a_file_cut_at_max_records_gives_the_dead_letter_of_one_run(tmp_path):
    source = tmp_path / "in" / "feed.jsonl"
    lines = [json.dumps({"title": f"Story {i}", "text": PROSE.format(day=i)}) for i in range(6)]
    _write(source, "\n".join(lines) + "\n")
    outputs = {}
    for name, extra in [("one", []), ("waves", ["--wave_size=5", "--split_bytes=300"])]:
        output = tmp_path / name
        argv = ["--input", str(source.parent), "--output", str(output), "--quiet"]
        summary = run([*argv, "--max_records_per_file=4", *extra])
        outputs[name] = (summary["rows"], _rows(output), _dead_letters(output))
    assert outputs["waves"] == outputs["one"]
    assert outputs["one"][0] == 4
    assert [dead["error_type"] for dead in outputs["one"][2]] == ["too_many_records"]


def test_waves_stage_their_files_skip_texts_written_before_and_can_overwrite(corpus, tmp_path):
    output = tmp_path / "out"
    argv = ["--input", str(corpus), "--output", str(output), "--wave_size=5", "--quiet"]
    first = run(argv)
    rows = _rows(output)
    assert first["rows"] == len(rows) > 0 and first["files_committed"] > 0
    assert (output / "_SUCCESS").is_file()
    assert not [path for path in (output / "_staging").rglob("*") if path.is_file()]

    again = run(argv)  # append: every text is in the output already
    assert again["rows"] == 0 and again["already_written"] == len(rows)
    assert again["balanced"] and _rows(output) == rows

    replaced = run([*argv, "--overwrite"])
    assert replaced["rows"] == len(rows) and replaced["output_mode"] == "overwrite"
    assert _rows(output) == rows


def test_runs_without_wave_size_go_in_waves_only_when_the_input_is_over_one_wave():
    from pipeline.waves import AUTO_WAVES_ABOVE_BYTES, DEFAULT_WAVE_SIZE, auto_wave_size

    pages = [(f"p{index}.html", 50_000) for index in range(DEFAULT_WAVE_SIZE)]
    assert auto_wave_size(pages) == 0
    assert auto_wave_size([*pages, ("one_more.html", 10)]) == DEFAULT_WAVE_SIZE
    assert auto_wave_size([("big.jsonl", AUTO_WAVES_ABOVE_BYTES + 1)]) == DEFAULT_WAVE_SIZE
    # 8.7 million short records fit in a few MB of gzip
    assert auto_wave_size([("archive.jsonl.gz", AUTO_WAVES_ABOVE_BYTES // 9)]) == DEFAULT_WAVE_SIZE
    assert auto_wave_size([("archive.jsonl", AUTO_WAVES_ABOVE_BYTES // 9)]) == 0


def test_a_large_input_without_wave_size_runs_in_waves(corpus, tmp_path, monkeypatch):
    import pipeline.waves as waves

    monkeypatch.setattr(waves, "DEFAULT_WAVE_SIZE", 5)  # 11 files: more than one wave
    summary = run(["--input", str(corpus), "--output", str(tmp_path / "out"), "--quiet"])
    assert summary["runner"].startswith("FnApiRunner in waves") and summary["waves"] == 3
    assert summary["balanced"] and summary["rows"] > 0


def test_casings_learned_over_shares_are_those_of_the_whole_input(tmp_path):
    from types import SimpleNamespace

    from pipeline.waves import count_share_casings, learn_casings

    texts = [
        "Officials in Washington said the Senate would vote.",
        "the senate met in washington on monday , and the vote was put off .",  # lowercased
        "A vote in the senate is due, Reuters said of Washington.",
        "Reuters and the Senate agreed.",
    ]
    files = []
    for index, text in enumerate(texts):
        writer = SpillWriter(str(tmp_path / str(index)), "a")
        writer.write(SimpleNamespace(text=text))
        writer.close()
        files += spill_files(str(tmp_path / str(index)))
    vocabulary = frozenset({"senate", "washington", "reuters", "vote"})
    whole = learn_casings([count_share_casings(files, vocabulary)])
    halves = learn_casings(
        [count_share_casings(files[:2], vocabulary), count_share_casings(files[2:], vocabulary)]
    )
    assert whole == halves
    casings, taught = whole
    assert taught == 3 and casings["washington"]["Washington"] == 2 and "vote" not in casings


def test_partitions_larger_than_rows_per_file_are_sharded_after_the_merge(corpus, runs, tmp_path):
    output = tmp_path / "out"
    argv = ["--input", str(corpus), "--output", str(output), "--quiet"]
    summary = run([*argv, "--wave_size=5", "--rows_per_file=2"])
    assert _rows(output) == _rows(runs["one"][0])
    by_partition: dict = {}
    for path in output.rglob("*.parquet"):
        if not str(path.relative_to(output)).startswith("_"):
            by_partition.setdefault(path.parent, []).append(pq.read_table(path).num_rows)
    assert max(sum(rows) for rows in by_partition.values()) > 2  # some partition is sharded
    for rows in by_partition.values():
        assert len(rows) <= -(-sum(rows) // 2) and max(rows) <= 2 * 2  # ceil shards, no overflow
    assert summary["parquet_files"] == sum(map(len, by_partition.values()))
