from transforms.unicode_fix import fix_unicode, normalize_whitespace


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
