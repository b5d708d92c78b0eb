from transforms.detokenize import detokenize_line, looks_tokenized
from transforms.truecase import best_casings, count_casings, is_lowercased, restore_case

NAMES = {"vladimir": "Vladimir", "putin": "Putin", "russian": "Russian"}


def test_sentence_starts_and_i_are_capitalized():
    assert (
        restore_case("the talks ended. then i left! why?") == "The talks ended. Then I left! Why?"
    )


def test_abbreviation_periods_do_not_start_sentences():
    assert restore_case("by nov. talks had ended.") == "By Nov. talks had ended."


def test_dotted_initials_are_upper_except_times():
    assert restore_case("the u.s. and u.n. met at 5 p.m.") == "The U.S. and U.N. met at 5 p.m."


def test_titles_are_capitalized_only_before_names():
    text = "russian president vladimir putin said the president would go."
    assert (
        restore_case(text, NAMES) == "Russian President Vladimir Putin said the president would go."
    )


def test_learned_casings_and_hyphenated_words():
    learned = {"asia": "Asia", "pacific": "Pacific", "apec": "APEC"}
    assert restore_case("the asia-pacific apec summit", learned) == "The Asia-Pacific APEC summit"


def test_casings_learned_from_cased_text_ignore_sentence_starts():
    counts = count_casings("The Kremlin said. Putin met aides in the Kremlin.")
    assert best_casings(counts) == {"kremlin": "Kremlin"}  # "Putin" only opens a sentence


def test_shape_detectors_reject_normal_prose():
    prose = "Moscow (Reuters) - Russian President Vladimir Putin said on Friday, in Danang."
    assert not is_lowercased(prose * 3)
    assert is_lowercased(prose.lower() * 3)
    assert not looks_tokenized(prose * 3)
    assert looks_tokenized("moscow ( reuters ) - he said , then left . and , again .")


def test_detokenize_contractions_brackets_quotes_numbers():
    line = (
        'moscow ( reuters ) - " we do n\'t know , " he said . it s 1 , 000 $ 5 . mueller s office'
    )
    assert detokenize_line(line) == (
        "moscow (reuters) - \"we don't know,\" he said. it's 1,000 $5. mueller's office"
    )


def test_packaged_table_knows_names_and_leaves_common_words_alone():
    from transforms.truecase import packaged_casings

    table = packaged_casings()
    assert sum(form != word for word, form in table.items()) > 10_000
    assert (table["moscow"], table["nato"], table["friday"]) == ("Moscow", "NATO", "Friday")
    assert (table["trump"], table["may"], table["white"]) == ("trump", "may", "white")
    assert restore_case("talks in moscow on friday.") == "Talks in Moscow on Friday."


def test_run_learned_casing_wins_over_the_packaged_one():
    assert restore_case("the nato summit.", {"nato": "Nato"}) == "The Nato summit."


def test_common_words_need_strong_run_evidence_to_be_capitalized():
    once = count_casings("They met with International partners and Danang officials.")
    assert best_casings(once) == {"danang": "Danang"}  # an unknown name: one sighting is enough
    twice = count_casings("The International said it. Later the International agreed.")
    assert best_casings(twice) == {"international": "International"}
    mixed = count_casings("Ask US officials. Ask us again. Tell us more. US aid. US law.")
    assert "us" not in best_casings(mixed)  # 3 of 5 capitalized: below the share required
