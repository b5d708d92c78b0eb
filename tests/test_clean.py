import pytest

from tests.helpers import SEED_PROSE, SEED_SCRAPED, SEED_WIRE, sample_text, text_document
from transforms.clean import CorpusStatistics, clean_article
from transforms.extract import extract_article
from transforms.records import PipelineError
from transforms.text.boilerplate import line_fingerprint
from transforms.text.truecase import count_casings, merge_casings

SEED_002_BOILERPLATE = {
    "Skip to main content",
    "Russia: Putin Will Meet With Trump During Asia Trip Promo Image",
    "Image placeholder title",
    "Popular Video",
}


def cleaned(name, statistics=None):
    return clean_article(extract_article(text_document(sample_text(name), name)), statistics)


def run_statistics(*names):
    casings = {}
    for name in names:
        merge_casings(
            casings, count_casings(extract_article(text_document(sample_text(name))).text)
        )
    return CorpusStatistics(casings=casings)


def test_seed_002_loses_exactly_its_boilerplate_lines():
    raw_lines = [line.strip() for line in sample_text(SEED_SCRAPED).split("\n") if line.strip()]
    article = cleaned(SEED_SCRAPED)
    assert article.title == "Russia: Putin Will Meet With Trump During Asia Trip"
    removed = set(raw_lines) - set(article.text.split("\n"))
    sources_line = next(line for line in raw_lines if line.startswith("Sources:"))
    assert removed == SEED_002_BOILERPLATE | {article.title, sources_line}
    assert "Featured Image" not in article.text and "Popular Video" not in article.text
    assert article.text.startswith("Russian President Vladimir Putin's spokesperson")
    assert "boilerplate_lines_removed:5" in article.fixes
    assert "repeated_title_removed" in article.fixes


def test_seed_001_is_detokenized_and_cased_with_what_the_run_learned():
    article = cleaned(SEED_WIRE, run_statistics(SEED_PROSE, SEED_SCRAPED))
    assert article.text.startswith(
        "Moscow (Reuters) - Russian President Vladimir Putin and U.S. President Donald Trump"
    )
    assert "Mueller's office" in article.text
    assert "It's hard to overestimate" in article.text
    assert " ," not in article.text and "( " not in article.text
    assert {"detokenized", "truecased"} <= set(article.fixes)


def test_seed_000_keeps_its_prose_and_has_no_title():
    article = cleaned(SEED_PROSE)
    assert article.title is None
    assert article.text.startswith("Prospects for a meeting between Russian President")
    assert "\u201c" not in article.text and "quotes_unified" in article.fixes
    assert "detokenized" not in article.fixes and "truecased" not in article.fixes


def test_learned_boilerplate_lines_of_the_source_are_removed():
    statistics = CorpusStatistics(
        boilerplate_lines={
            "mem:": frozenset({line_fingerprint("Download the Port News app for alerts")})
        }
    )
    document = text_document(
        "A first paragraph with enough words to count as a real article body here.\n"
        "Download the Port News app for alerts\n"
        "A second paragraph that is also plain prose about the same news event today.",
        "mem://doc.txt",
    )
    article = extract_article(document)
    article.source_key = "mem:"
    result = clean_article(article, statistics)
    assert "Port News app" not in result.text
    assert "learned_boilerplate_lines_removed:1" in result.fixes
    other_source = extract_article(document)
    other_source.source_key = "elsewhere"
    assert "Port News app" in clean_article(other_source, statistics).text


@pytest.mark.parametrize(
    ("text", "error_type"),
    [
        ("Skip to main content\nPopular Video", "empty_after_cleaning"),
        ("Too few words.", "too_short"),
    ],
)
def test_nothing_left_is_an_error(text, error_type):
    with pytest.raises(PipelineError) as error:
        clean_article(extract_article(text_document(text)))
    assert error.value.error_type == error_type


def test_min_words_is_configurable():
    article = extract_article(text_document("Three short words."))
    assert clean_article(article, min_words=3).text == "Three short words."
