import pytest

from benchmarks.extraction import (
    evaluate,
    format_pages,
    format_table,
    halves,
    main,
    summarize,
)
from benchmarks.make_readability_ground_truth import html_to_text
from benchmarks.metrics import case_accuracy, shingle_prf, shingles
from tests.helpers import READABILITY, needs_shared


def test_shingles_are_case_sensitive_4_grams_of_words():
    assert shingles("A b, c d e") == {("A", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1}
    assert shingles("a b") == {("a", "b"): 1}
    assert not shingles("  ")


def test_shingle_prf():
    assert shingle_prf("one two three four five", "one two three four five") == (1.0, 1.0, 1.0)
    precision, recall, f1 = shingle_prf("one two three four five six", "one two three four five")
    assert (precision, recall) == (2 / 3, 1.0) and f1 == pytest.approx(0.8)
    assert shingle_prf("", "") == (1.0, 1.0, 1.0)
    assert shingle_prf("", "one two three four") == (0.0, 0.0, 0.0)
    assert shingle_prf("One two three four", "one two three four")[2] == 0.0


def test_case_accuracy_aligns_on_words():
    assert case_accuracy("Putin met Trump", "Putin met Trump") == 1.0
    assert case_accuracy("putin met trump", "Putin met Trump") == pytest.approx(1 / 3)
    assert case_accuracy("Putin met with Trump", "Putin met Trump") == 1.0


def test_html_to_text_puts_blocks_on_lines():
    assert html_to_text("<div><p>One <b>two</b></p><p>Three</p></div>") == "One two\nThree"


@needs_shared
def test_benchmark_runs_on_three_pages(capsys):
    results = main(["--readability", str(READABILITY), "--limit", "3", "--halves"])
    assert set(results) == {
        "pipeline",
        "pipeline extraction",
        "trafilatura.extract",
        "defaults + metadata",
    }
    assert all(row["pages"] == 3 and 0 <= row["f1"] <= 1 for row in results.values())
    out = capsys.readouterr().out
    assert "pipeline" in out and "second half" in out
    assert format_table(results).count("\n") == 4
    assert evaluate(READABILITY, {}, None) == {}


def test_summarize_averages_pages_and_halves_split_sorted_ids():
    scores = {"x": {"b": (1.0, 0.5, 0.6, 0.002), "a": (0.5, 1.0, 0.8, 0.004), "c": (1, 1, 1, 0)}}
    assert halves(scores) == ({"a", "b"}, {"c"})
    row = summarize(scores, {"a", "b"})["x"]
    assert row["pages"] == 2 and row["f1"] == pytest.approx(0.7)
    assert row["precision"] == pytest.approx(0.75) and row["ms_per_page"] == pytest.approx(3.0)
    assert summarize(scores, set()) == {}


def test_format_pages_lists_the_worst_page_first():
    scores = {"pipeline": {"good": (1.0, 1.0, 1.0, 0.01), "bad": (0.5, 0.25, 1 / 3, 0.02)}}
    lines = format_pages(scores).splitlines()
    assert lines[1].split() == ["bad", "0.333", "0.500", "0.250", "20.0"]
    assert lines[2].startswith("good") and len(lines) == 3
