"""The language benchmark on a few texts, so it cannot rot. No timing is asserted."""

from benchmarks import language
from tests.helpers import needs_shared


@needs_shared
def test_every_setting_is_scored_against_the_whole_text(capsys):
    rows = language.main(["--limit", "4", "--starts-every", "2000"])
    labels = [row[0] for row in rows]
    assert labels == [setting[0] for setting in language.SETTINGS] + ["pipeline"]
    whole_text = rows[0]
    articles, inner = whole_text[1].split("/"), whole_text[2].split("/")
    # The reference agrees with itself on every article; inner starts are other texts.
    assert articles == ["4", "4"] and int(inner[1]) > 0
    assert "4 articles in" in capsys.readouterr().out
