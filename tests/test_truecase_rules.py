from transforms.text.detokenize import detokenize_line, looks_tokenized
from transforms.text.truecase import (
    best_casings,
    count_casings,
    is_lowercased,
    lowercased_vocabulary,
    restore_case,
    restrict_casings,
)

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
    counts = count_casings("The Zorvath said. Kelmaro met aides in the Zorvath.")
    assert best_casings(counts) == {"zorvath": "Zorvath"}  # "Kelmaro" only opens a sentence


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
    from transforms.text.truecase import packaged_casings

    table = packaged_casings()
    assert sum(form != word for word, form in table.items()) > 10_000
    assert (table["moscow"], table["nato"], table["friday"]) == ("Moscow", "NATO", "Friday")
    assert (table["trump"], table["may"], table["white"]) == ("trump", "may", "white")
    assert restore_case("talks in moscow on friday.") == "Talks in Moscow on Friday."


def test_run_learned_casing_wins_over_the_packaged_one():
    assert restore_case("the nato summit.", {"nato": "Nato"}) == "The Nato summit."


def test_common_words_need_strong_run_evidence_to_be_capitalized():
    once = count_casings("They met with International partners and Quelvaro officials.")
    assert best_casings(once) == {"quelvaro": "Quelvaro"}  # an unknown name: one is enough
    twice = count_casings("The International said it. Later the International agreed.")
    assert best_casings(twice) == {"international": "International"}
    mixed = count_casings("Ask US officials. Ask us again. Tell us more. US aid. US law.")
    assert "us" not in best_casings(mixed)  # 3 of 5 capitalized: below the share required


def test_a_common_word_is_never_learned_as_an_acronym():
    # The run only ever writes "US" and "WHO", yet "help us" and "who said" stay words; a
    # name that is no common word is still learned from one sighting.
    news = "Ask US officials. Then US aid came. The WHO said so, and WHO staff met Zorvath."
    assert best_casings(count_casings(news)) == {"zorvath": "Zorvath"}
    learned = best_casings(count_casings(news))
    assert restore_case("they can help us with syria", learned) == "They can help us with Syria"


def test_packaged_word_probabilities_case_names_the_dictionary_also_has_lowercase():
    from transforms.text.truecase import packaged_casings

    table = packaged_casings()
    # SCOWL has "yahoo" and "amazon" as words too; cased forms are more probable.
    assert (table["yahoo"], table["amazon"], table["xbox"]) == ("Yahoo", "Amazon", "Xbox")
    # Sentence-start capitals ("Thanks!", "Lets go"), shouting ("CANNOT"), compass points,
    # titles and single letters do not make a common word a name.
    for word in ["thanks", "lets", "cannot", "north", "king", "x"]:
        assert table[word] == word


def test_packaged_phrases_case_words_that_are_common_alone():
    text = "she flew to new york and met the new mayor at the white house."
    assert restore_case(text) == "She flew to New York and met the new mayor at the White House."


def test_possessives_keep_the_casing_of_their_word_and_phrase():
    assert restore_case("yahoo's sale in new zealand's capital.") == (
        "Yahoo's sale in New Zealand's capital."
    )


def test_words_missing_from_the_vocabulary_are_names_unless_built_from_known_words():
    assert restore_case("said tyler besecker, a nontax expert from the harbourside.") == (
        "Said Tyler Besecker, a nontax expert from the harbourside."
    )


def test_name_parts_are_capitalized_before_a_name_only():
    assert restore_case("mark zuckerberg went to the nato summit by lake michigan.") == (
        "Mark Zuckerberg went to the NATO summit by Lake Michigan."
    )
    assert restore_case("the security chief emmerson mnangagwa.") == (
        "The security chief Emmerson Mnangagwa."  # a job description, no name part
    )


def test_learned_common_words_do_not_case_compounds():
    assert restore_case("the co-workers met.", {"co": "Co"}) == "The co-workers met."


def test_learned_phrases_need_two_sightings_and_no_function_words():
    text = "We shop at Whole Foods. Later the Whole Foods stores said."
    learned = best_casings(count_casings(text))
    assert learned["whole foods"] == "Whole Foods"
    assert "whole foods" not in best_casings(count_casings("We shop at Whole Foods."))
    title = best_casings(count_casings("He read The New Rules. She read The New Rules."))
    assert "new rules" in title and "the new" not in title  # headline title case
    assert restore_case("the whole foods market.", learned) == "The Whole Foods market."
    assert restore_case("the whole foods market.") == "The whole foods market."


def test_casing_counts_merge_and_pickle():
    import pickle

    from transforms.text.truecase import merge_casings

    merged = merge_casings(count_casings("Ask US officials."), count_casings("ask us again."))
    merged = pickle.loads(pickle.dumps(merged))
    assert merged["us"] == {"US": 1} and merged[""]["us"] == 1
    assert "us" not in best_casings(merged)  # one capitalized of two: lowercase wins ties


def test_is_lowercased_judges_the_start_of_a_text():
    assert is_lowercased("lowercase words here. " * 100 + "Capital Letters Later. " * 200)
    assert not is_lowercased("Capital Letters First. " * 100 + "lowercase words here. " * 200)


def test_may_is_a_month_next_to_a_day_or_year():
    assert restore_case("talks on may 5 and in may 2016; it may rain.") == (
        "Talks on May 5 and in May 2016; it may rain."
    )


def test_capitals_inside_names_make_common_words_name_parts_not_casings():
    learned = best_casings(count_casings("He met President Bill Clinton in Ohio."))
    assert "bill" not in learned  # one "Bill": a common word alone needs two
    assert learned["+bill"] == "Bill"  # a name part, next to a name
    assert restore_case("a new bill from bill gates.", learned) == ("A new bill from Bill Gates.")
    # Learned name parts go after a name too; function words are never name parts.
    assert restore_case("the vision pro launched.", {"vision": "Vision", "+pro": "Pro"}) == (
        "The Vision Pro launched."
    )
    assert "+the" not in best_casings(count_casings("We saw Of The Year. Of The Year won."))
    learned = {"playstation": "PlayStation", "+pro": "Pro"}
    assert restore_case("the playstation 4 pro is out. pro players.", learned) == (
        "The PlayStation 4 Pro is out. Pro players."  # a model number between
    )
    assert restore_case("he went pro in 2004.", learned) == "He went pro in 2004."


def test_title_case_lines_teach_no_casings():
    headline = "A Battle Against Winter Potholes\nCity crews said the Winter was hard."
    assert "winter" not in best_casings(count_casings(headline))
    names = "Zorvath Kelmaro met Quelvaro Brindt in Da Nang.\nKelmaro left."
    learned = best_casings(count_casings(names))
    assert learned["kelmaro"] == "Kelmaro"  # a sentence full of names, not a title


def test_surnames_that_are_common_words_follow_a_given_name():
    assert restore_case("analyst tom forte said so. later forte added: a forte of his.") == (
        "Analyst Tom Forte said so. Later Forte added: a forte of his."
    )
    # Frequent words that are also surnames stay common: "said", "will".
    assert restore_case("then anna said that tom will go.") == ("Then Anna said that Tom will go.")


def test_units_glued_to_numbers_keep_their_symbol_casing():
    assert restore_case("a 4k tv with 12gb and a 3ghz chip, 5km away at 10am on the 2nd.") == (
        "A 4K TV with 12GB and a 3GHz chip, 5km away at 10am on the 2nd."
    )


def test_government_bodies_named_by_their_field():
    assert restore_case("the department of conservation said on monday.") == (
        "The Department of Conservation said on Monday."
    )
    assert restore_case("the ministry of defence, which denied it.") == (
        "The Ministry of Defence, which denied it."
    )
    # Not after "a", nor when the words after "of" run on into the clause.
    assert restore_case("a department of ten staff.") == "A department of ten staff."
    assert restore_case("the department of ten people works well.") == (
        "The department of ten people works well."
    )


def test_newspaper_heads_after_a_place_name():
    assert restore_case("she told the new york times and the chicago tribune.") == (
        "She told the New York Times and the Chicago Tribune."
    )
    assert restore_case("hard times in the journal.") == "Hard times in the journal."
    assert restore_case("a facebook post.") == "A Facebook post."


def test_us_after_an_article_or_opening_a_sentence_is_the_country():
    assert restore_case("the us economy grew, a us official told us. us troops left.") == (
        "The US economy grew, a US official told us. US troops left."
    )
    assert restore_case("give it to us.\nus, too.") == "Give it to us.\nUs, too."


def _build_script():
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parent.parent / "scripts" / "build_truecase_stats.py"
    spec = importlib.util.spec_from_file_location("build_truecase_stats", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_build_takes_names_from_wordnet_glosses_not_their_fragments(tmp_path):
    gloss = (
        "00000001 03 n 01 agency 0 000 | a part of the Department of Housing and Urban "
        'Development; "he served in World War II"\n'
    )
    (tmp_path / "data.noun").write_text("  licence header\n" + gloss)
    for name in ("data.verb", "data.adj", "data.adv"):
        (tmp_path / name).write_text("")
    casings = {word: word for word in "department housing urban development world war".split()}
    phrases = _build_script().wordnet_gloss_phrases(tmp_path, casings)
    assert phrases["department of housing"] == "Department of Housing"
    assert phrases["world war ii"] == "World War II" and phrases["world war"] == "World War"
    assert "urban development" not in phrases  # starts inside a longer name with a common word
    assert restore_case("he fought in world war ii.") == "He fought in World War II."


def test_build_keeps_surnames_that_are_rarer_words_only():
    names = {"given": {"tom", "anna"}, "surname": {"forte", "said", "zuckerberg"}}
    table = {"forte": "forte", "said": "said", "tom": "Tom"}
    probs = {"forte": -13.9, "said": -7.3}
    kinds = _build_script().name_kinds(names, table, probs)
    assert kinds == {"tom": "given", "anna": "given", "forte": "surname"}


def test_unknown_words_are_taken_for_names_only_in_text_the_table_mostly_knows():
    # English: the one word no table knows is a name.
    assert restore_case("officials met zembrowski on monday .") == (
        "Officials met Zembrowski on Monday ."
    )
    # Czech: most words are unknown to the English table, and they are no names for that.
    czech = (
        "vláda ve středu oznámila , že sníží daně z pohonných hmot . "
        "ministr financí řekl , že opatření bude stát miliardy korun ročně ."
    )
    restored = restore_case(czech)
    for word in ("vláda", "středu", "oznámila", "pohonných", "financí", "opatření", "korun"):
        assert f" {word} " in f" {restored.lower()} " and word.capitalize() not in restored[1:]


def test_casings_are_kept_only_for_the_words_lowercased_text_uses():
    wire = "putin met trump in danang on friday , and the white house said nothing more ."
    vocabulary = lowercased_vocabulary(wire)
    assert {"putin", "white", "house"} <= vocabulary
    assert lowercased_vocabulary("Putin met Trump in Danang on Friday, the Kremlin said.") == set()
    kept = restrict_casings(
        count_casings("Yesterday Putin met Zembrano at the White House."), vocabulary
    )
    assert "putin" in kept and "white house" in kept
    assert "zembrano" not in kept  # no lowercased text uses it
