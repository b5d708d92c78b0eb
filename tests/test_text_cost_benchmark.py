"""benchmarks/text_cost.py on a small corpus: every step is timed, and the output check finds
a changed output. No timing is asserted."""

import gzip
import json

import pytest

from benchmarks import text_cost


def test_steps_are_timed_and_a_changed_output_is_found(tmp_path, capsys):
    snapshot = tmp_path / "outputs.json.gz"
    common = ["--n", "6", "--records", "5", "--work-dir", str(tmp_path / "work")]
    figures = text_cost.main([*common, "--snapshot", str(snapshot)])
    assert set(figures) == {"text", "unmarked", "jsonl"}
    for per_doc in figures.values():
        assert set(text_cost.ROWS) <= set(per_doc)
        assert per_doc["clean (total)"] > 0 and per_doc["enrich: language"] > 0
    assert "load" in capsys.readouterr().out

    text_cost.main([*common, "--check", str(snapshot)])
    assert "0 differ" in capsys.readouterr().out

    with gzip.open(snapshot, "rt", encoding="utf-8") as handle:
        saved = json.load(handle)
    changed = next(key for key, outcome in saved.items() if "text" in outcome)
    saved[changed]["text"] += " changed"
    with gzip.open(snapshot, "wt", encoding="utf-8") as handle:
        json.dump(saved, handle)
    with pytest.raises(SystemExit):
        text_cost.main([*common, "--check", str(snapshot)])
    assert f"{changed}: text differ" in capsys.readouterr().out
