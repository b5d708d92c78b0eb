from benchmarks.truecase import main, wire_form
from tests.helpers import READABILITY, needs_shared


def test_wire_form_looks_like_seed_001():
    text = "Moscow (Reuters) - \"We may meet,\" Mueller's office said. It's late."
    assert wire_form(text) == (
        "moscow ( reuters ) - we may meet , mueller s office said .\nit s late ."
    )


@needs_shared
def test_benchmark_runs_on_two_articles(capsys):
    results = main(["--readability", str(READABILITY), "--limit", "2"])
    assert set(results) == {
        "lowercase (baseline)",
        "sentence starts (baseline)",
        "pipeline",
        "pipeline + learned",
    }
    assert all(0 <= row["case_accuracy"] <= 1 and 0 <= row["f1"] <= 1 for row in results.values())
    assert results["pipeline"]["case_accuracy"] > results["lowercase (baseline)"]["case_accuracy"]
    assert "2 English articles" in capsys.readouterr().out
