"""Each rule of transforms/data/boilerplate_rules.tsv: a line it removes, and prose it keeps."""

import pytest

from transforms.text.boilerplate import (
    default_rules,
    remove_boilerplate_lines,
    remove_repeated_title,
    strip_boilerplate_line,
)

RULES = default_rules()

# rule_id: (boilerplate line, prose line that looks a bit like it but must stay)
EXAMPLES = {
    "skip_link": ("Skip to main content", "They skip to the main content of the bill."),
    "promo_image_suffix": (
        "Putin Will Meet With Trump Promo Image",
        "The promo image was criticised by the agency.",
    ),
    "image_placeholder": ("Image placeholder title", "A placeholder title was used in tests."),
    "image_label": ("Featured Image", "The featured image shows the harbour at dawn."),
    "image_credit": (
        "Photo: Jane Doe/Reuters",
        "Photo: the minister said the picture was taken in 2019. It was not.",
    ),
    "source_credit": (
        "Sources: ABC News, Reuters / Featured Image: Kremlin/Wikimedia Commons",
        "Sources: officials said the talks had failed. Both sides denied it.",
    ),
    "popular_block": ("Popular Video", "Popular videos of the protest spread quickly online."),
    "share_buttons": ("Share | Tweet | Email", "Share prices fell sharply on Tuesday."),
    "newsletter_prompt": (
        "Sign up for our daily newsletter to get the news in your inbox",
        "She said she would sign up for the army.",
    ),
    "subscribe_button": ("Subscribe now", "Fewer readers subscribe now than a decade ago."),
    "cookie_notice": (
        "We use cookies to improve your experience on our site.",
        "The bakery uses flour from local mills.",
    ),
    "advertisement": ("Advertisement", "The advertisement campaign cost two million dollars."),
    "follow_us": ("Follow us on Twitter for updates", "Investors follow the central bank closely."),
    "copyright": (
        "© 2017 Example Media. All rights reserved.",
        "Copyright law was changed by parliament last year.",
    ),
    "ui_controls": ("Previous | Next | 1 of 5", "Next year the plant will close."),
    "tag_line": (
        "Topics: uber, libertarians, sharing economy",
        "Topics: the talks covered trade. Nothing was agreed.",
    ),
    "comment_count": ("941 comments", "The 941 comments were read by the panel."),
    "dateline": (
        "Posted on April 21, 2015, at 11:29 a.m.",
        "Updated guidance was published in 2019 by the agency.",
    ),
    "date_only": ("Friday, March 3, 2017 at 7:11 AM PST", "May 4 was a day to remember."),
    "tweet_signature": (
        "— Jane Doe (@janedoe) October 31, 2021",
        "Jane Doe (@janedoe) wrote on October 31, 2021 that she would resign.",
    ),
    "tweet_image_link": (
        "What a goal pic.twitter.com/BUPgYtgHaY",
        "The photo was first posted on pic.twitter.com, the agency said.",
    ),
    "related_tail": ("You might also like", "You might also like the new mayor, he said."),
    "related_label": ("Related:", "Related: the talks failed on Monday."),
    "newsletter_label": ("PC Gamer Newsletter", "The newsletter was founded in 1990."),
    "photo_label_foreign": (
        "Beitragsbild: Titelseite der FAZ vom 2.4.2019, Ausriss.",
        "Fotos: Die Polizei zeigte die Bilder. Niemand wurde erkannt.",
    ),
    "paren_image_credit": (
        "(Bild: Hersteller)",
        "(Quelle: Statistisches Bundesamt) Die Zahl der Anträge stieg weiter.",
    ),
    "courtesy_credit": (
        "Photo courtesy of the Smith family",
        "Courtesy of the new law, rents fell sharply.",
    ),
}

# What a "suffix" rule leaves of its example line.
REMAINDERS = {
    "promo_image_suffix": "Putin Will Meet With Trump",
    "tweet_image_link": "What a goal",
}


def test_every_rule_has_an_example():
    assert {rule.rule_id for rule in RULES} == set(EXAMPLES)


@pytest.mark.parametrize("rule_id", sorted(EXAMPLES))
def test_rule_removes_its_boilerplate(rule_id):
    boilerplate, _ = EXAMPLES[rule_id]
    remaining, fired = strip_boilerplate_line(boilerplate, RULES)
    assert fired == rule_id
    assert remaining == REMAINDERS.get(rule_id, "")


@pytest.mark.parametrize("rule_id", sorted(EXAMPLES))
def test_rule_keeps_prose(rule_id):
    _, prose = EXAMPLES[rule_id]
    assert strip_boilerplate_line(prose, RULES) == (prose, None)


def test_long_lines_are_never_boilerplate():
    line = "Advertisement " * 60
    assert strip_boilerplate_line(line, RULES) == (line, None)


def test_repeated_title_is_removed_only_near_the_top():
    title = "Ships Return to Harbour"
    lines = ["Ships return to harbour!", "Body one.", "Body two.", "Body three.", title]
    kept, removed = remove_repeated_title(list(lines), title)
    assert removed == 1 and kept == lines[1:]


@pytest.mark.parametrize(
    ("line", "rule_id"),
    [
        ("- Share on Twitter", "share_buttons"),
        ("* Next", "ui_controls"),
        ("• Teilen auf", "share_buttons"),
    ],
)
def test_list_marker_does_not_hide_boilerplate(line, rule_id):
    assert strip_boilerplate_line(line, RULES) == ("", rule_id)


def test_list_item_prose_stays():
    line = "- Next year the plant will close."
    assert strip_boilerplate_line(line, RULES) == (line, None)


STORY = [
    f"Paragraph {n} of the story, long enough to count as prose in the text." for n in range(6)
]
TEASERS = ["Mayor opens bridge", "Storm hits coast", "Team wins final"]


def test_related_heading_after_the_story_cuts_the_rest():
    kept, changed = remove_boilerplate_lines([*STORY, "More Opinion Columns", *TEASERS], RULES)
    assert kept == STORY and changed == 1 + len(TEASERS)


def test_related_heading_early_removes_only_itself():
    lines = [*STORY[:2], "You might also like", *TEASERS, *STORY[2:]]
    kept, changed = remove_boilerplate_lines(lines, RULES)
    assert kept == [*STORY[:2], *TEASERS, *STORY[2:]] and changed == 1


@pytest.mark.parametrize(
    "heading",
    [
        "Editors' Recommendations:",
        "Around the web",
        "Das Thema könnte dich auch interessieren:",
        "Das könnte Sie auch interessieren",
        "A lire aussi :",
        "Leggi anche",
        "Leia também:",
        "También te puede interesar",
    ],
)
def test_related_tail_headings_in_several_languages(heading):
    assert strip_boilerplate_line(heading, RULES) == ("", "related_tail")


@pytest.mark.parametrize(
    "prose",
    [
        "Up next, the minister spoke about taxes.",
        "Editors picked the winners on Monday.",
        "Sie könnte auch interessieren, was der Rat beschloss.",
        "Il faut lire aussi le rapport de la Cour des comptes.",
    ],
)
def test_related_tail_keeps_prose(prose):
    assert strip_boilerplate_line(prose, RULES) == (prose, None)


@pytest.mark.parametrize(
    "line", ["(Credit: Clayton Aldern / Grist)", "Image credit: NASA", "Sources: ABC News"]
)
def test_credit_lines_with_or_without_parentheses(line):
    assert strip_boilerplate_line(line, RULES)[0] == ""


def test_credit_in_parentheses_inside_a_sentence_stays():
    line = "The dam burst in 1978 (credit: the city archive has the photos)."
    assert strip_boilerplate_line(line, RULES) == (line, None)
