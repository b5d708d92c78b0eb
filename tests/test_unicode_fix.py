from transforms.text.unicode_fix import fix_unicode, normalize_whitespace


def test_mojibake_is_repaired_and_reported():
    text, fixes = fix_unicode("The Mona Lisa doesnÃ¢â‚¬â„¢t have eyebrows.")
    assert text == "The Mona Lisa doesn't have eyebrows."
    assert "mojibake" in fixes


def test_quotes_and_dashes_are_unified():
    text, fixes = fix_unicode("\u201cYes,\u201d he said \u2014 it\u2019s 5\u20136\u2026")
    assert text == '"Yes," he said - it\'s 5-6...'
    assert fixes == ["quotes_unified", "dashes_unified"]


def test_nfc_and_invisible_characters():
    text, _ = fix_unicode("cafe\u0301 soft\u00adhyphen zero\u200bwidth")
    assert text == "caf\u00e9 softhyphen zerowidth"


def test_clean_text_reports_no_fix():
    assert fix_unicode("Plain ASCII text.") == ("Plain ASCII text.", [])


def test_normalize_whitespace():
    assert normalize_whitespace("  a \t b\u00a0\u00a0c  ") == "a b c"


# The fast path must give exactly what running every ftfy step gives.
def _reference_fix(text: str) -> str:
    import unicodedata

    import ftfy

    from transforms.text import unicode_fix

    fixed = ftfy.fix_and_explain(text, uncurl_quotes=False)[0]
    for table in (unicode_fix._QUOTES, unicode_fix._DASHES, unicode_fix._INVISIBLE):
        fixed = fixed.translate(str.maketrans(table))
    return unicodedata.normalize("NFC", fixed)


def _sample_texts() -> list[str]:
    import pathlib

    shared = pathlib.Path(__file__).resolve().parents[2] / "shared"
    texts = [path.read_text(encoding="utf-8") for path in sorted(shared.glob("seeds/*.txt"))]
    texts += [
        path.read_bytes().decode("utf-8", "replace")[:5000]
        for path in sorted(shared.glob("corpora/html/readability/*/source.html"))[:4]
    ]
    texts += [
        "\ufb01ne \uff26\uff35\uff2c\uff2c width\x07bell",
        "a\x1b[31mred\x1b[0m",
        "caf\u00c3\u00a9 \u2014 ok",
        "Fish &amp; chips",
        "\u00e9t\u00e9 \u00e0 Paris \u00ab oui \u00bb",
    ]
    garbled = []
    for text in texts:
        for wrong_encoding in ("latin-1", "cp1252", "macroman", "cp1251"):
            garbled.append(text.encode("utf-8").decode(wrong_encoding, errors="replace"))
    return texts + garbled


def test_fast_path_gives_what_every_ftfy_step_gives():
    texts = _sample_texts()
    assert len(texts) > 40
    mismatches = [t[:60] for t in texts if fix_unicode(t)[0] != _reference_fix(t)]
    assert mismatches == []


def test_mojibake_check_agrees_with_ftfy():
    from ftfy import badness

    from transforms.text.unicode_fix import could_be_mojibake

    texts = _sample_texts()
    assert any(badness.is_bad(t) for t in texts)
    assert [could_be_mojibake(t) for t in texts] == [badness.is_bad(t) for t in texts]


def test_fixes_that_need_a_rare_character_still_run():
    assert fix_unicode("\ufb01ne")[0] == "fine"  # ligature
    assert fix_unicode("\uff26\uff35\uff2c\uff2c")[0] == "FULL"  # full width
    assert fix_unicode("bell\x07")[0] == "bell"  # control character
