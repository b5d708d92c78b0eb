from transforms.text.words import count_words


def test_spaced_scripts_count_whitespace_words():
    assert count_words("Putin and Trump met at APEC.") == 6
    assert count_words("대통령이 회담을 가졌다") == 3  # Korean is written with spaces


def test_unspaced_scripts_count_characters():
    assert count_words("普京与特朗普在亚太经合组织会议上会面") == 18
    assert count_words("プーチン大統領は会談した") == 12
    # Mixed: the Latin words and each ideograph.
    assert count_words("APEC 峰会 in Da Nang") == 6
