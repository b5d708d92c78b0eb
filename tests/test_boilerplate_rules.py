"""Each rule of transforms/data/boilerplate_rules.tsv: a line it removes, and prose it keeps."""

import pytest

from transforms.boilerplate import default_rules, remove_repeated_title, strip_boilerplate_line

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
}


def test_every_rule_has_an_example():
    assert {rule.rule_id for rule in RULES} == set(EXAMPLES)


@pytest.mark.parametrize("rule_id", sorted(EXAMPLES))
def test_rule_removes_its_boilerplate(rule_id):
    boilerplate, _ = EXAMPLES[rule_id]
    remaining, fired = strip_boilerplate_line(boilerplate, RULES)
    assert fired == rule_id
    if rule_id == "promo_image_suffix":
        assert remaining == "Putin Will Meet With Trump"
    else:
        assert remaining == ""


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
