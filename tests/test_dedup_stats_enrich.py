import datetime as dt

from transforms.corpus_stats import is_learned_boilerplate, short_line_fingerprints
from transforms.dedup import merge_duplicates
from transforms.enrich import content_sha256, enrich_article
from transforms.records import Article
from transforms.text.language import detect_language

UTC = dt.timezone.utc


def article(uri, **fields):
    return Article(doc_id=uri[-1] * 32, source_uri=uri, input_format="text", text="t", **fields)


def test_merge_duplicates_keeps_the_richest_copy_and_lists_the_others():
    copies = [
        article("file:///c"),
        article("file:///b", title="T"),
        article("file:///a", title="T", published_at=dt.datetime(2020, 1, 1, tzinfo=UTC)),
    ]
    merged = merge_duplicates(copies)
    assert merged.source_uri == "file:///a"
    assert merged.duplicate_count == 2
    assert merged.also_seen_at == ["file:///b", "file:///c"]


def test_merge_duplicates_is_order_independent_and_single_copies_untouched():
    copies = [article("file:///x"), article("file:///y")]
    assert merge_duplicates(copies) == merge_duplicates(copies[::-1])
    single = merge_duplicates([article("file:///z")])
    assert (single.duplicate_count, single.also_seen_at) == (0, [])


def test_learned_boilerplate_never_from_a_single_document():
    assert not is_learned_boilerplate(1, 1, min_docs=1, min_share=0.0)
    assert not is_learned_boilerplate(1, 100, min_docs=0, min_share=0.0)
    assert is_learned_boilerplate(2, 2, min_docs=2, min_share=0.5)


def test_learned_boilerplate_needs_count_and_share():
    assert is_learned_boilerplate(30, 100, min_docs=3, min_share=0.3)
    assert not is_learned_boilerplate(29, 100, min_docs=3, min_share=0.3)
    assert not is_learned_boilerplate(2, 4, min_docs=3, min_share=0.3)


def test_only_short_lines_are_candidates():
    text = "Popular Video\n" + "long " * 100
    assert len(short_line_fingerprints(text)) == 1


def test_language_detection_is_deterministic():
    english = "The government announced on Thursday that the new rules would take effect."
    french = "Le gouvernement a annoncé jeudi que les nouvelles règles entreraient en vigueur."
    german = "Die Regierung kündigte am Donnerstag an, dass die neuen Regeln in Kraft treten."
    assert detect_language(english)[0] == "en"
    assert detect_language(french)[0] == "fr"
    assert detect_language(german)[0] == "de"
    assert detect_language(french) == detect_language(french)
    assert detect_language("12345 67890 !!!") == ("und", None)


def test_enrich_article_fills_counts_hash_and_time():
    ingested_at = dt.datetime(2026, 1, 1, tzinfo=UTC)
    text = "The government announced on Thursday that the new rules would take effect soon."
    enriched = enrich_article(
        Article(doc_id="d" * 32, source_uri="u", input_format="text", text=text), ingested_at
    )
    assert enriched.language == "en" and 0 < enriched.language_score <= 1
    assert enriched.word_count == 13 and enriched.char_count == len(text)
    assert enriched.content_sha256 == content_sha256(text) and len(enriched.content_sha256) == 64
    assert enriched.ingested_at == ingested_at
