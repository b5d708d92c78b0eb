"""Casing of all-lowercase text: sentence starts, titles, initials, and word casings.

Word casings come from a packaged table (`transforms/data/truecase_en.tsv.gz`, made by
`scripts/build_truecase_stats.py`) overridden by what the run learned: `count_casings` over
every cased article (sentence-initial words excluded: their capital says nothing), merged
with `merge_casings` and reduced to one form per word by `best_casings`.
"""

from __future__ import annotations

import collections
import gzip
import re
from collections import Counter
from functools import lru_cache
from importlib import resources

STATS_FILE = "truecase_en.tsv.gz"

# A dotted abbreviation ("u.s.", "a.m.") or a word with inner apostrophes/hyphens.
_TOKEN = re.compile(r"[^\W\d_](?:\.[^\W\d_])+\.?|\w+(?:['\-]\w+)*")
# Abbreviations after which a period does not end the sentence.
_NON_FINAL_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof gen sen rep gov lt col sgt capt st jr sr vs no jan feb mar apr jun jul aug "
    "sep sept oct nov dec inc corp co ltd".split()
)


def is_lowercased(text: str, max_upper_ratio: float = 0.005, min_letters: int = 40) -> bool:
    """True for text that lost its casing: almost no capital letters among many letters."""
    letters = upper = 0
    for char in text:
        if char.isalpha():
            letters += 1
            upper += char.isupper()
    return letters >= min_letters and upper <= max_upper_ratio * letters


_DOTTED_INITIALS = re.compile(r"(?:[a-z]\.){2,}")
_LOWERCASE_DOTTED = frozenset(["a.m.", "p.m.", "e.g.", "i.e.", "etc."])
_GAP_ENDS_SENTENCE = re.compile(r"['\")\]]*[.!?]")


def _word_tokens(line: str) -> list[tuple[int, int, str, bool]]:
    """(start, end, token, starts_sentence) for each word of one line.

    A sentence starts a line, or follows [.!?] unless the period belongs to an abbreviation
    ("nov. 8", "u.s. president").
    """
    tokens = []
    starts_sentence = True
    previous: re.Match | None = None
    for match in _TOKEN.finditer(line):
        if previous is not None:
            gap = line[previous.end() : match.start()]
            starts_sentence = (
                _GAP_ENDS_SENTENCE.match(gap) is not None
                and not previous.group().endswith(".")
                and previous.group().lower() not in _NON_FINAL_ABBREVIATIONS
            )
        tokens.append((match.start(), match.end(), match.group(), starts_sentence))
        previous = match
    return tokens


def count_casings(text: str) -> dict[str, Counter]:
    """{lowercase word: Counter(casing -> count)} over the non-sentence-initial words of text."""
    counts: dict[str, Counter] = {}
    for line in text.split("\n"):
        for _start, _end, token, initial in _word_tokens(line):
            if initial or token.isdigit():
                continue
            counts.setdefault(token.lower(), Counter())[token] += 1
    return counts


def merge_casings(into: dict[str, Counter], other: dict[str, Counter]) -> dict[str, Counter]:
    for word, forms in other.items():
        if word in into:
            into[word].update(forms)
        else:
            into[word] = Counter(forms)
    return into


# A word the packaged table knows as a common lowercase word ("us", "international") is
# capitalized from the run's evidence only when it is seen capitalized this often and this
# consistently; a name the table does not know needs a single sighting.
STRONG_EVIDENCE_COUNT = 2
STRONG_EVIDENCE_SHARE = 0.8


def best_casings(counts: dict[str, Counter], min_count: int = 1) -> dict[str, str]:
    """{lowercase word: its most frequent casing}, keeping only words not best left lowercase."""
    packaged = packaged_casings()
    best: dict[str, str] = {}
    for word, forms in counts.items():
        form, count = max(forms.items(), key=lambda item: (item[1], item[0] == word))
        if form == word or count < min_count:
            continue
        if packaged.get(word) == word and (
            count < STRONG_EVIDENCE_COUNT or count < STRONG_EVIDENCE_SHARE * sum(forms.values())
        ):
            continue
        best[word] = form
    return best


@lru_cache(maxsize=1)
def packaged_casings() -> dict[str, str]:
    """The shipped casing table, or an empty one when the package has none."""
    resource = resources.files("transforms.data").joinpath(STATS_FILE)
    if not resource.is_file():
        return {}
    table: dict[str, str] = {}
    with gzip.open(resource.open("rb"), "rt", encoding="utf-8") as lines:
        for line in lines:
            word, _, form = line.rstrip("\n").partition("\t")
            if form:
                table[word] = form
    return table


def _case_token(token: str, casings: dict[str, str]) -> str:
    lower = token.lower()
    form = casings.get(lower)
    if form is not None and form != lower:  # a lowercase entry only marks a common word
        return form
    if "-" in lower:
        return "-".join(_case_token(part, casings) for part in token.split("-"))
    if _DOTTED_INITIALS.fullmatch(lower) and lower not in _LOWERCASE_DOTTED:
        return token.upper()  # u.s. -> U.S., u.n. -> U.N.
    if lower == "i" or lower.startswith("i'"):
        return "I" + token[1:]
    return token


def _capitalize(token: str) -> str:
    return token[:1].upper() + token[1:]


# Formal titles are capitalized right before a name ("President Donald Trump"), lowercase
# elsewhere ("the president said"): news style guides agree on this.
_TITLES_BEFORE_NAMES = frozenset(
    [
        "president",
        "vice",
        "secretary",
        "minister",
        "premier",
        "chancellor",
        "senator",
        "governor",
        "mayor",
        "general",
        "king",
        "queen",
        "prince",
        "princess",
        "pope",
        "judge",
        "justice",
        "prime",
        "sen",
        "rep",
        "gov",
        "gen",
        "dr",
        "prof",
    ]
)


def _capitalize_titles_before_names(tokens: list[list]) -> None:
    """tokens: [cased_token, is_sentence_start] pairs of one line, edited in place."""
    for index in range(len(tokens) - 2, -1, -1):
        word, following = tokens[index][0], tokens[index + 1][0]
        if word.lower() not in _TITLES_BEFORE_NAMES or not following[:1].isupper():
            continue
        # A name follows (capitalized, not a new sentence), or a title already capitalized
        # before one ("prime Minister" -> "Prime Minister").
        if following.lower() in _TITLES_BEFORE_NAMES or not tokens[index + 1][1]:
            tokens[index][0] = _capitalize(word)


def restore_case(text: str, learned: dict[str, str] | None = None) -> str:
    """Casing restored from the packaged and learned tables, sentence starts capitalized."""
    # Learned casings win; looked up before the packaged table rather than merged into a
    # copy of it (130k entries) on every call.
    casings = collections.ChainMap(learned or {}, packaged_casings())
    out_lines = []
    for line in text.split("\n"):
        words = _word_tokens(line)
        cased = [[_case_token(token, casings), initial] for _s, _e, token, initial in words]
        _capitalize_titles_before_names(cased)
        pieces = []
        previous_end = 0
        for (start, end, _token, initial), (form, _) in zip(words, cased, strict=True):
            pieces.append(line[previous_end:start])
            pieces.append(_capitalize(form) if initial else form)
            previous_end = end
        pieces.append(line[previous_end:])
        out_lines.append("".join(pieces))
    return "\n".join(out_lines)
