from pipeline.summary import build_summary, format_summary

COUNTERS = {
    "inputs": 10,
    "write.articles.rows": 6,
    "write.articles.files": 2,
    "duplicates": 1,
    "write.dead_letters.rows": 3,
    "dead_letter.read": 1,
    "dead_letter.read.binary_content": 1,
    "dead_letter.clean": 2,
    "dead_letter.clean.too_short": 2,
    "language.en": 5,
    "language.fr": 1,
    "fix.truecased": 1,
    "fix.boilerplate_lines_removed": 2,
    "lines.boilerplate_lines_removed": 7,
    "clean.learned_boilerplate_lines./archive/wire": 4,
}


def test_summary_identity_and_breakdowns():
    summary = build_summary(COUNTERS, {"output": "out/"})
    assert (summary["inputs"], summary["rows"], summary["duplicates"], summary["dead_letters"]) == (
        10,
        6,
        1,
        3,
    )
    assert summary["balanced"] is True
    assert summary["dead_letters_by_stage"] == {"clean": 2, "read": 1}
    assert summary["dead_letters_by_reason"] == {"clean.too_short": 2, "read.binary_content": 1}
    assert summary["languages"] == {"en": 5, "fr": 1}
    assert summary["fixes"] == {"boilerplate_lines_removed": 2, "truecased": 1}
    assert summary["lines_removed"] == {"boilerplate_lines_removed": 7}
    assert summary["learned_boilerplate_lines_by_source"] == {"/archive/wire": 4}
    text = format_summary(summary, "out/_run_summary.json")
    assert "inputs = rows + duplicates + dead letters: ok" in text


def test_summary_flags_a_mismatch():
    summary = build_summary({**COUNTERS, "inputs": 11}, {"output": "out/"})
    assert summary["balanced"] is False
    assert "MISMATCH" in format_summary(summary, "x")
