from benchmarks.truecase import english_page_texts, main, wire_form
from tests.helpers import READABILITY, needs_shared


def test_wire_form_looks_like_seed_001():
    text = "Moscow (Reuters) - \"We may meet,\" Mueller's U.S. office said. It's late."
    assert wire_form(text) == (
        "moscow ( reuters ) - we may meet , mueller s u.s. office said .\nit s late ."
    )


_PAGE = """<html><head><title>{title}</title></head><body><article><h1>{title}</h1>
{paragraphs}</article></body></html>"""


def _page(title: str, sentences: list[str]) -> str:
    paragraphs = "".join(f"<p>{sentence}</p>" for sentence in sentences)
    return _PAGE.format(title=title, paragraphs=paragraphs)


_ENGLISH = [
    f"On day {day}, the city council of Springfield met to discuss part {day} of the new "
    f"budget, and Mayor Joe Quimby said the plan would fund {day} road repairs and schools."
    for day in range(1, 9)
]


def test_held_out_pages_keep_english_prose_only(tmp_path):
    german = [
        f"Am Tag {day} hat der Stadtrat von Springfield über Teil {day} des neuen Haushalts "
        f"beraten, und der Bürgermeister sagte, der Plan bezahle {day} Straßen und Schulen."
        for day in range(1, 9)
    ]
    (tmp_path / "en.html").write_text(_page("Budget", _ENGLISH))
    (tmp_path / "de.html").write_text(_page("Haushalt", german))
    (tmp_path / "short.html").write_text(_page("Short", ["Hi there."]))
    texts = english_page_texts(tmp_path)
    assert len(texts) == 1 and "Mayor Joe Quimby" in texts[0]


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


@needs_shared
def test_benchmark_prints_a_held_out_table_and_timing(tmp_path, capsys):
    (tmp_path / "en.html").write_text(_page("Budget", _ENGLISH))
    results = main(
        ["--readability", str(READABILITY), "--limit", "1", "--pages", str(tmp_path), "--timing"]
    )
    assert "held-out pipeline" in results
    out = capsys.readouterr().out
    assert "held-out (" in out and "1 English articles" in out and "ms/article" in out
