"""The per-step timing script on a tiny folder, so it cannot rot. No timing is asserted."""

from benchmarks import steps

CASED = "Putin met Trump in Danang on Friday, the Kremlin said. " * 4
WIRE = "moscow ( reuters ) - russian president vladimir putin may meet u.s. president trump . " * 3


def test_every_step_is_timed_on_the_articles_of_a_folder(tmp_path, capsys):
    (tmp_path / "cased.txt").write_text(CASED)
    (tmp_path / "wire.txt").write_text(WIRE)
    figures = steps.main([str(tmp_path)])
    assert set(figures) >= {"clean_article", "count_casings (cased only)", "  detect_language"}
    assert all(ms >= 0 for ms in figures.values())
    assert "2 articles (1 lowercased)" in capsys.readouterr().out
