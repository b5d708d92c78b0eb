"""Casing of all-lowercase text: sentence starts, titles, initials, and word casings.

Word casings come from a packaged table (`transforms/data/truecase_en.tsv.gz`, made by
`scripts/build_truecase_stats.py`) overridden by what the run learned: `count_casings` over
every cased article (sentence-initial words excluded: their capital says nothing), merged
with `merge_casings` and reduced to one form per word by `best_casings`.

Some words are cased by the phrase they are in ("New York" but "new", "White House" but
"white"): phrases come from a packaged table (`truecase_phrases_en.tsv.gz`, WordNet's multiword
names) and from runs of capitalized words in the cased articles, counted by `count_casings`
under keys with a space ("white house") next to the single words. A common word the run's
articles capitalize inside such runs ("Bill" in "President Bill Clinton") is learned as a
name part: capitalized next to a name ("Bill Gates"), not alone ("a new bill") unless the
evidence for it alone is strong. Title-case lines (headlines, menus) teach nothing.

Context rules: titles before names, name parts before names, months next to days or years,
"the us" -> "the US", units after numbers ("12GB"), and census surnames that are common words
after a given name ("Tom Forte", `truecase_names_en.tsv.gz`), then all over the article.
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from functools import lru_cache
from importlib import resources

STATS_FILE = "truecase_en.tsv.gz"
PHRASES_FILE = "truecase_phrases_en.tsv.gz"
NAMES_FILE = "truecase_names_en.tsv.gz"
MAX_PHRASE_WORDS = 4

# A dotted abbreviation ("u.s.", "a.m.") or a word with inner apostrophes/hyphens.
_TOKEN = re.compile(r"[^\W\d_](?:\.[^\W\d_])+\.?|\w+(?:['\-]\w+)*")
# Abbreviations after which a period does not end the sentence.
_NON_FINAL_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof gen sen rep gov lt col sgt capt st jr sr vs no jan feb mar apr jun jul aug "
    "sep sept oct nov dec inc corp co ltd".split()
)


def is_lowercased(
    text: str, max_upper_ratio: float = 0.005, min_letters: int = 40, sample_chars: int = 2000
) -> bool:
    """True for text that lost its casing: almost no capital letters among many letters.

    Judged on the first `sample_chars` characters: casing is lost for a whole text, not for
    part of it, and counting with map() runs in C.
    """
    sample = text[:sample_chars]
    try:
        # Most text is Windows-1252 (English, Western European): its letters and capitals
        # are counted in C, on bytes, with str.isalpha / str.isupper's answers per byte.
        encoded = sample.encode("cp1252")
    except UnicodeEncodeError:
        letters = sum(map(str.isalpha, sample))
        return letters >= min_letters and sum(map(str.isupper, sample)) <= max_upper_ratio * letters
    letters = len(encoded) - len(encoded.translate(None, _CP1252_LETTERS))
    if letters < min_letters:
        return False
    return (
        len(encoded) - len(encoded.translate(None, _CP1252_CAPITALS)) <= max_upper_ratio * letters
    )


def _cp1252_bytes_where(test) -> bytes:
    """The bytes whose Windows-1252 character passes `test` (bytes the codec leaves undefined
    never come out of an encoding)."""
    found = bytearray()
    for byte in range(256):
        try:
            char = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            continue
        if test(char):
            found.append(byte)
    return bytes(found)


_CP1252_LETTERS = _cp1252_bytes_where(str.isalpha)
_CP1252_CAPITALS = _cp1252_bytes_where(str.isupper)


_DOTTED_INITIALS = re.compile(r"(?:[a-z]\.){2,}")
_LOWERCASE_DOTTED = frozenset(["a.m.", "p.m.", "e.g.", "i.e.", "etc."])
_GAP_ENDS_SENTENCE = re.compile(r"['\")\]]*[.!?]")
_GAP_ENDS_SENTENCE_FIRST = frozenset("'\")].!?")


def _word_tokens(line: str) -> list[tuple[int, int, str, bool]]:
    """(start, end, token, starts_sentence) for each word of one line.

    A sentence starts a line, or follows [.!?] unless the period belongs to an abbreviation
    ("nov. 8", "u.s. president").
    """
    tokens = []
    previous_end, previous_token = -1, ""
    for match in _TOKEN.finditer(line):
        start, end = match.span()
        token = match.group()
        if previous_end < 0:
            starts_sentence = True
        elif line[previous_end] not in _GAP_ENDS_SENTENCE_FIRST:  # most gaps: one space
            starts_sentence = False
        else:
            starts_sentence = (
                _GAP_ENDS_SENTENCE.match(line, previous_end, start) is not None
                and not previous_token.endswith(".")
                and previous_token.lower() not in _NON_FINAL_ABBREVIATIONS
            )
        tokens.append((start, end, token, starts_sentence))
        previous_end, previous_token = end, token
    return tokens


# The word opening a sentence: its capital says nothing. After "Mr." or "Dr." no sentence
# starts; after other periods ("U.S. President") a few name sightings are lost, no harm.
# The look-behinds come after the [.!?] they guard: tried at every position, they cost more
# than the rest of the search (same matches: they look at the same characters).
_SENTENCE_INITIAL_TOKEN = re.compile(
    r"(?:^|[.!?](?<!\b(?:Mr|Dr|Ms|St|Jr|Sr)[.!?])(?<!\b(?:Mrs|Gen|Sen|Rep|Gov)[.!?]))[^\w.!?]*("
    + _TOKEN.pattern
    + ")",
    re.MULTILINE,
)
# Runs of capitalized words inside a sentence ("the White House said"), joined by "of" at most
# ("Department of Conservation"); the lookbehind keeps sentence-initial words out.
_CONNECTORS = ("of",)
# (The look-behind follows the first capital it guards: the search then skips to capitals.)
_CAPITALIZED_RUN = re.compile(r"[A-Z](?<=[a-z0-9,;:] [A-Z])[\w\-]*(?:(?: of)? [A-Z][\w\-]*)+")


# count_casings keeps the counts of lowercase forms in one Counter under this key (one C-level
# update instead of a Counter per word); merge_casings merges it like any other entry.
LOWERCASE_FORMS = ""
# Marks a learned name part: a common word the run capitalized inside runs of capitals ("Pro"
# in "Vision Pro", "State" in "Florida State University"), capitalized next to a name only.
# count_casings counts such sightings under "+Form" next to "Form" (so that they travel with
# the word's entry); best_casings returns the name part under the key "+word". No token
# holds the character.
NAME_PART_PREFIX = "+"


# A line whose content words are (almost) all capitalized is a headline, a menu or a caption
# in title case ("A Battle Against Winter"): its capitals say nothing about the words. A
# sentence full of names still has lowercase verbs ("Putin met Trump in Da Nang").
_TITLE_CASE_MIN_WORDS = 3
_TITLE_CASE_SHARE = 0.9
_CONTENT_WORD = re.compile(r"[^\W\d_][\w'\-]{2,}")


def _is_title_case(line: str) -> bool:
    words = _CONTENT_WORD.findall(line)
    if len(words) < _TITLE_CASE_MIN_WORDS:
        return False
    # Prose shows itself within a few words: stop once too many are lowercase for any share
    # of content words to be capitalized enough (every line is checked, most are prose).
    max_lowercase = len(words) - _TITLE_CASE_SHARE * len(words)  # as the final test rounds
    content = lowercase = 0
    for word in words:
        if word.lower() in _FUNCTION_WORDS:
            continue
        content += 1
        if not word[0].isupper():
            lowercase += 1
            if lowercase > max_lowercase:
                return False
    capitalized = content - lowercase
    return content >= _TITLE_CASE_MIN_WORDS and capitalized >= _TITLE_CASE_SHARE * content


def count_casings(text: str, vocabulary: frozenset[str] | None = None) -> dict[str, Counter]:
    """{lowercase word: Counter(casing -> count)} for the words text capitalizes somewhere
    (sentence-initial words not counted), {lowercase phrase: Counter(casing -> count)} for
    adjacent capitalized words, and {LOWERCASE_FORMS: Counter(word -> count)} for the rest.

    With a `vocabulary`: `restrict_casings(count_casings(text), vocabulary)`, without counting
    what it would drop."""
    text = "\n".join(line for line in text.split("\n") if not _is_title_case(line))
    tokens = Counter(_TOKEN.findall(text))
    tokens.subtract(_SENTENCE_INITIAL_TOKEN.findall(text))
    counts: dict[str, Counter] = {LOWERCASE_FORMS: tokens}
    for token in [token for token in tokens if not token.islower()]:
        count = tokens.pop(token)
        if count > 0 and not token.isdigit():
            lower = token.lower()
            if vocabulary is not None and lower not in vocabulary:
                continue
            if lower in counts:
                counts[lower][token] = count
            else:
                counts[lower] = Counter({token: count})
    in_run: Counter = Counter()
    for run in _CAPITALIZED_RUN.findall(text):
        words = run.split(" ")
        in_run.update(word for word in words if word not in _CONNECTORS)
        for phrase in _adjacent_pairs(words):
            key = phrase.lower()
            if vocabulary is None or all(part in vocabulary for part in key.split(" ")):
                counts.setdefault(key, Counter())[phrase] += 1
    # A capitalized word's sightings inside a run of capitals ("Bill" in "President Bill
    # Clinton", "States" in "United States"), next to its count, under NAME_PART_PREFIX + form:
    # for a common word, such a capital is the phrase's, not the word's.
    for word, count in in_run.items():
        forms = counts.get(word.lower())
        if forms is not None and word in forms:
            forms[NAME_PART_PREFIX + word] = count
    if vocabulary is not None:
        counts[LOWERCASE_FORMS] = Counter(
            {word: n for word, n in tokens.items() if word in vocabulary}
        )
    return counts


def lowercased_vocabulary(text: str) -> frozenset[str]:
    """The words of a lowercased text (empty for a cased one): the casings worth learning."""
    if not is_lowercased(text):
        return frozenset()
    return frozenset(_TOKEN.findall(text))


def restrict_casings(counts: dict[str, Counter], vocabulary: frozenset[str]) -> dict:
    """count_casings' output for the words (and phrases of words) of `vocabulary` only: a run
    keeps the casings it can use, not those of every word of every cased article."""
    kept = {}
    for key, forms in counts.items():
        if key == LOWERCASE_FORMS:
            kept[key] = Counter({word: n for word, n in forms.items() if word in vocabulary})
        elif all(part in vocabulary for part in key.split(" ")):
            kept[key] = forms
    return kept


# Title-cased headings ("The New Rules Of Work") capitalize function words; a learned phrase
# neither starts nor ends with one, so "the new console" stays lowercase.
_FUNCTION_WORDS = frozenset(
    "a an the and or but nor of in on at to for from by with as is are was were be it its "
    "this that these those he she they we you i his her their our your not no so if than".split()
)


def _adjacent_pairs(words: list[str]) -> list[str]:
    """Each capitalized word with the next: "A B of C" -> ["A B", "B of C"]."""
    pairs = []
    for index, word in enumerate(words[:-1]):
        if word in _CONNECTORS:
            continue
        end = index + 2 if words[index + 1] not in _CONNECTORS else index + 3
        if word.lower() in _FUNCTION_WORDS or words[end - 1].lower() in _FUNCTION_WORDS:
            continue
        pairs.append(" ".join(words[index:end]))
    return pairs


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
    """{lowercase word or phrase: its most frequent casing}, keeping only those not best left
    lowercase and not already the packaged casing."""
    packaged = packaged_casings()
    lowercase_counts = counts.get(LOWERCASE_FORMS, Counter())
    best: dict[str, str] = {}
    for word, all_forms in counts.items():
        if word == LOWERCASE_FORMS:
            continue
        forms = {form: n for form, n in all_forms.items() if form[:1] != NAME_PART_PREFIX}
        if not forms:
            continue
        form, count = max(forms.items(), key=lambda item: (item[1], item[0] == word))
        lowercase_count = lowercase_counts.get(word, 0) + forms.get(word, 0)
        if form == word or count < min_count or count <= lowercase_count:
            continue
        if " " in word:
            # Common words capitalized together ("white house") may be a headline's title case.
            parts = [part for part in word.split(" ") if part not in _CONNECTORS]
            if count < STRONG_EVIDENCE_COUNT and all(packaged.get(part) == part for part in parts):
                continue
        elif packaged.get(word) == word:
            if form.isupper() and len(word) > 1:
                # A common word that is also an acronym ("us"/"US", "who"/"WHO", "it"/"IT"):
                # the sentence, not the run's counts, tells which one is meant ("help us",
                # "the US economy"), so only context rules may make it the acronym.
                continue
            # A capital inside a run of capitals ("Bill" in "President Bill Clinton") makes
            # the word a name part, capitalized next to a name; alone it needs the strong
            # evidence below. (Not counting such capitals there too was tried: worse on both
            # benchmark sets, the run's topics capitalize the same words alone.)
            in_run = all_forms.get(NAME_PART_PREFIX + form, 0)
            if in_run >= min_count and word not in _FUNCTION_WORDS:
                best[NAME_PART_PREFIX + word] = form
            if count < STRONG_EVIDENCE_COUNT or count < STRONG_EVIDENCE_SHARE * (
                sum(forms.values()) + lowercase_count
            ):
                continue
        elif packaged.get(word) == form:
            continue
        best[word] = form
    return best


def packaged_casings() -> dict[str, str]:
    """The shipped casing table, or an empty one when the package has none."""
    return _packaged_tables()[0]


def packaged_name_parts() -> dict[str, str]:
    """{common word: capitalized form} for the common words often part of a name ("mark")."""
    return _packaged_tables()[1]


@lru_cache(maxsize=1)
def packaged_phrases() -> dict[str, str]:
    """The shipped {lowercase phrase: casing} table of multiword names."""
    return _read_table(PHRASES_FILE)[0]


@lru_cache(maxsize=1)
def packaged_names() -> dict[str, str]:
    """{lowercase word: "given" or "surname"}: given names, and surnames that are also common
    words ("forte"), from the shipped census lists."""
    return _read_table(NAMES_FILE)[0]


@lru_cache(maxsize=1)
def _packaged_surnames() -> frozenset[str]:
    return frozenset(word for word, kind in packaged_names().items() if kind == "surname")


@lru_cache(maxsize=1)
def _packaged_tables() -> tuple[dict[str, str], dict[str, str]]:
    return _read_table(STATS_FILE)


def _read_table(name: str) -> tuple[dict[str, str], dict[str, str]]:
    """{key: second column}, {key: third column where there is one}."""
    resource = resources.files("transforms.data").joinpath(name)
    table: dict[str, str] = {}
    third: dict[str, str] = {}
    if not resource.is_file():
        return table, third
    with gzip.open(resource.open("rb"), "rt", encoding="utf-8") as lines:
        for line in lines:
            key, form, *rest = line.rstrip("\n").split("\t")
            table[key] = form
            if rest:
                third[key] = rest[0]
    return table, third


def _case_token(
    token: str, learned: dict[str, str], packaged: dict[str, str], guess_names: bool = True
) -> str:
    """Learned casing first, then the packaged one; a lowercase entry only marks a common word.
    `guess_names`: a word neither table knows is taken for a name."""
    lower = token.lower()
    form = learned.get(lower) or packaged.get(lower)
    if form is not None and form != lower:
        return form
    if lower.endswith("'s") and len(lower) > 2:  # "yahoo's": the tables hold no possessives
        return _case_token(token[:-2], learned, packaged, guess_names) + token[-2:]
    if "-" in lower:
        # A common word is capitalized in a compound only by the packaged table: a run's
        # "Remain Co" must not make "co-workers" "Co-workers".
        return "-".join(
            _case_token(part, learned if packaged.get(part) != part else {}, packaged, guess_names)
            for part in lower.split("-")
        )
    if _DOTTED_INITIALS.fullmatch(lower) and lower not in _LOWERCASE_DOTTED:
        return token.upper()  # u.s. -> U.S., u.n. -> U.N.
    if lower == "i" or lower.startswith("i'"):
        return "I" + token[1:]
    quantity = _QUANTITY.fullmatch(lower)
    if quantity and quantity.group(2) in _UNITS:
        return quantity.group(1) + _UNITS[quantity.group(2)]  # "12gb" -> "12GB"
    if guess_names and packaged and _is_unknown_name(lower, packaged):
        return _capitalize(token)
    return token


# An unknown word is a name only in a text whose other words the (English) table knows: in a
# lowercased Czech or Polish text most words are unknown, and none of them is a name for that.
# (English news: 0.98 of words known.) Too few words tell nothing: a title is trusted.
MIN_KNOWN_WORDS_TO_GUESS_NAMES = 0.8
MIN_WORDS_TO_JUDGE = 20
_KNOWN_SHARE_SAMPLE_CHARS = 5000


def _mostly_known_words(text: str, packaged: dict[str, str]) -> bool:
    words = [word for word in _TOKEN.findall(text[:_KNOWN_SHARE_SAMPLE_CHARS]) if word.isalpha()]
    if len(words) < MIN_WORDS_TO_JUDGE:
        return True
    known = sum(1 for word in words if word.lower() in packaged)
    return known >= MIN_KNOWN_WORDS_TO_GUESS_NAMES * len(words)


# A number glued to a unit symbol whose casing is fixed by the SI and by usage: "12gb" ->
# "12GB", "3ghz" -> "3GHz", "4k" -> "4K" (the resolution). "5km", "10am", "2nd" stay.
_QUANTITY = re.compile(r"(\d+)([a-z]+)")
_UNITS = {
    unit.lower(): unit
    for unit in "KB MB GB TB PB Hz kHz MHz GHz kW MW GW kWh MWh GWh mAh K MP".split()
}

# The packaged table holds every word of a big vocabulary: a word missing from it is most
# likely a rare name ("besecker", "mnangagwa"), unless it is made of known words.
_PREFIXES = ("non", "un", "re", "pre", "post", "anti", "over", "under", "ultra", "multi", "semi")
_SUFFIXES = ("ness", "less", "ization", "isation", "ize", "ise", "ing", "ed", "er", "est", "ly")
_MIN_COMPOUND_PART = 4


# No name is longer (the longest place names in news run near 30 letters): a longer "word" is
# no name, and judging it would cost a slice per split point (a 9 MB one-word text hung).
MAX_NAME_CHARS = 40


def _is_unknown_name(lower: str, packaged: dict[str, str]) -> bool:
    if not 3 <= len(lower) <= MAX_NAME_CHARS or lower in packaged or not lower.isalpha():
        return False
    if any(lower.startswith(prefix) and lower[len(prefix) :] in packaged for prefix in _PREFIXES):
        return False  # "nontax", "ultralow"
    if any(lower.endswith(suffix) and lower[: -len(suffix)] in packaged for suffix in _SUFFIXES):
        return False  # "neonness"
    return not any(
        packaged.get(lower[:split]) == lower[:split]
        and packaged.get(lower[split:]) == lower[split:]
        for split in range(_MIN_COMPOUND_PART, len(lower) - _MIN_COMPOUND_PART + 1)
    )  # "harbourside"


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


@lru_cache(maxsize=1)
def _packaged_phrase_prefixes() -> frozenset[str]:
    """Every packaged phrase and its leading words ("new", "new york"): where to keep looking."""
    prefixes = set()
    for phrase in packaged_phrases():
        words = phrase.split(" ")
        prefixes.update(" ".join(words[:end]) for end in range(1, len(words) + 1))
    return frozenset(prefixes)


def _without_possessive(word: str) -> str:
    return word[:-2] if word.endswith("'s") else word


def _case_phrases(lowers: list[str], spaced: list[bool], cased: list[list], learned) -> None:
    """Gives the words of a known phrase the phrase's casing ("new york" -> "New York"),
    longest phrase first. lowers: the lowercase words of a line; spaced[i]: word i and i + 1
    are separated by a single space, as the words of a phrase are."""
    packaged, prefixes = packaged_phrases(), _packaged_phrase_prefixes()
    index = 0
    while index < len(lowers) - 1:
        if not spaced[index]:
            index += 1
            continue
        key = lowers[index] + " " + lowers[index + 1]
        form = learned.get(key) or (lowers[index] in prefixes and packaged.get(key))
        longest, forms = (2, form) if form else (0, "")
        end = index + 1
        # Longer phrases: packaged ones, and learned ones joined by a connector.
        while (
            end + 1 < len(lowers)
            and spaced[end]
            and end - index + 1 < MAX_PHRASE_WORDS
            and (key in prefixes or lowers[end] in _CONNECTORS)
        ):
            end += 1
            key += " " + lowers[end]
            form = learned.get(key) or packaged.get(key)
            if form:
                longest, forms = end - index + 1, form
        for offset, word in enumerate(forms.split(" ") if longest else ()):
            # "new zealand's" -> "New Zealand's": the possessive stays.
            cased[index + offset][0] = word + cased[index + offset][0][len(word) :]
        index += max(longest, 1)


def _capitalize_name_parts(
    cased: list[list],
    lowers: list[str],
    spaced: list[bool],
    name_parts: dict[str, str],
    learned: dict[str, str],
) -> None:
    """A common word often part of a name is capitalized before a name: "mark zuckerberg" ->
    "Mark Zuckerberg", "lake michigan" -> "Lake Michigan". Names are the words the tables
    capitalized. Not after one: "the NATO summit", "the Moscow court" stay lowercase.
    A name part learned from the run's articles goes before or after a name ("vision pro"
    -> "Vision Pro" when the run wrote "Pro" inside names)."""
    for index in range(len(lowers) - 2, -1, -1):
        part = name_parts.get(lowers[index]) or learned.get(NAME_PART_PREFIX + lowers[index])
        following = cased[index + 1][0]
        if (
            part is not None
            and spaced[index]
            and following[:1].isupper()
            and len(following) > 1
            and lowers[index] not in _TITLES_BEFORE_NAMES
            and not cased[index][0][:1].isupper()
        ):
            cased[index][0] = part + cased[index][0][len(part) :]
    if not learned:
        return
    for index in range(1, len(lowers)):
        part = learned.get(NAME_PART_PREFIX + lowers[index])
        if part is None or not spaced[index - 1] or cased[index][0][:1].isupper():
            continue
        name = index - 1
        if lowers[name].isdigit() and name > 0 and spaced[name - 1]:
            name -= 1  # a model number between: "PlayStation 4 Pro"
        previous = cased[name][0]
        # A sentence's first word is no name.
        if previous[:1].isupper() and len(previous) > 1 and not cased[name][1]:
            cased[index][0] = part + cased[index][0][len(part) :]


_ARTICLES = frozenset(["a", "an", "the"])


def _capitalize_surnames(
    cased: list[list], lowers: list[str], spaced: list[bool], names: dict[str, str]
) -> list[str]:
    """A surname that is also a common word is capitalized after a capitalized given name:
    "tom forte" -> "Tom Forte" ("forte" is a word, "Forte" a census surname). Returns the
    surnames capitalized, which the caller capitalizes in the rest of the article too."""
    found = []
    for index in range(1, len(lowers)):
        word = lowers[index]
        if (
            names.get(word) == "surname"
            and spaced[index - 1]
            and names.get(lowers[index - 1]) == "given"
            and cased[index - 1][0][:1].isupper()
            and not cased[index][0][:1].isupper()
        ):
            cased[index][0] = _capitalize(cased[index][0])
            found.append(word)
    return found


# Bodies named "<body> of <field>" ("the department of conservation", "the ministry of
# defence"): the body and its one to three field words are a name, when the phrase ends
# where a clause goes on (a function word, a reporting verb, punctuation).
_GOVERNMENT_BODIES = frozenset(["department", "ministry", "bureau"])
_MAX_FIELD_WORDS = 3
_CLAUSE_WORDS = _FUNCTION_WORDS | frozenset(
    "said says told added announced reported would will could should can may might has have "
    "had did does do who which when where after before during over into about".split()
)


def _capitalize_government_bodies(cased: list[list], lowers: list[str], spaced: list[bool]) -> None:
    """ "the department of conservation said" -> "the Department of Conservation said"; "a
    department of ten people works" stays (the field runs on)."""
    count = len(lowers)
    for index in range(count - 2):
        if (
            lowers[index] not in _GOVERNMENT_BODIES
            or lowers[index + 1] != "of"
            or not (spaced[index] and spaced[index + 1])
            or not (index == 0 or lowers[index - 1] == "the" or cased[index - 1][0][:1].isupper())
        ):
            continue
        end = index + 2
        while (
            end < count
            and end - index - 2 < _MAX_FIELD_WORDS
            and lowers[end].isalpha()
            and lowers[end] not in _CLAUSE_WORDS
            and spaced[end - 1]
        ):
            end += 1
        if end == index + 2 or not (
            end == count or lowers[end] in _CLAUSE_WORDS or not spaced[end - 1]
        ):
            continue
        for position in (index, *range(index + 2, end)):
            if cased[position][0].islower():
                cased[position][0] = _capitalize(cased[position][0])


# Newspapers are named "<place> <head>": "the new york times", "the chicago tribune". ("Post"
# is no such head: "a Facebook post".)
_PUBLICATION_HEADS = frozenset(
    "times journal herald tribune gazette chronicle telegraph inquirer".split()
)


def _capitalize_publications(cased: list[list], lowers: list[str], spaced: list[bool]) -> None:
    for index in range(1, len(lowers)):
        previous = cased[index - 1][0]
        if (
            lowers[index] in _PUBLICATION_HEADS
            and spaced[index - 1]
            and previous[:1].isupper()
            and len(previous) > 1
            and cased[index][0].islower()
        ):
            cased[index][0] = _capitalize(cased[index][0])


# Pronouns that are an acronym after an article ("the us" is never the pronoun) or opening a
# sentence before another word (the object pronoun seldom opens one).
_ACRONYMS_AFTER_ARTICLES = {"us": "US"}


def _capitalize_acronyms_after_articles(
    cased: list[list], lowers: list[str], spaced: list[bool]
) -> None:
    """The US: "the us economy", "a us official", "us troops left." ("told us" stays)."""
    for index, lower in enumerate(lowers):
        acronym = _ACRONYMS_AFTER_ARTICLES.get(lower)
        if acronym is None or not cased[index][0].islower():
            continue
        after_article = index > 0 and lowers[index - 1] in _ARTICLES
        opens_sentence = cased[index][1] and index + 1 < len(lowers) and spaced[index]
        if after_article or opens_sentence:
            cased[index][0] = acronym + cased[index][0][len(acronym) :]


_MONTHS = frozenset(
    "january february march april may june july august september october november december".split()
)
_DAY_OR_YEAR = re.compile(r"\d{1,2}(?:st|nd|rd|th)?|\d{4}")


def _capitalize_months_in_dates(cased: list[list], lowers: list[str]) -> None:
    """A month name that is also a common word is a month next to a day or a year: "on may 5",
    "in may 2016", "5 may" -> "May"; "it may rain" stays."""
    for index, word in enumerate(lowers):
        if word not in _MONTHS or cased[index][0][:1].isupper():
            continue
        neighbours = lowers[index - 1 : index] + lowers[index + 1 : index + 2]
        if any(_DAY_OR_YEAR.fullmatch(neighbour) for neighbour in neighbours):
            cased[index][0] = _capitalize(cased[index][0])


def restore_case(text: str, learned: dict[str, str] | None = None) -> str:
    """Casing restored from the packaged and learned tables, sentence starts capitalized."""
    # Learned casings win; looked up before the packaged table rather than merged into a
    # copy of it (300k entries) on every call.
    learned = learned or {}
    packaged, name_parts, names = packaged_casings(), packaged_name_parts(), packaged_names()
    token_forms: dict[str, str] = {}  # an article repeats its words
    guess_names = _mostly_known_words(text, packaged)
    lines = []
    surnames: set[str] = set()  # common words this article uses as surnames
    for line in text.split("\n"):
        words = _word_tokens(line)
        cased = []
        for _start, _end, token, initial in words:
            form = token_forms.get(token)
            if form is None:
                form = token_forms[token] = _case_token(token, learned, packaged, guess_names)
            cased.append([form, initial])
        lowers = [_without_possessive(token.lower()) for _s, _e, token, _i in words]
        spaced = [line[words[i][1] : words[i + 1][0]] == " " for i in range(len(words) - 1)]
        _case_phrases(lowers, spaced, cased, learned)
        _capitalize_name_parts(cased, lowers, spaced, name_parts, learned)
        # The rarer rules run only on lines holding one of their words (set look-ups in C).
        present = set(lowers)
        if not present.isdisjoint(_MONTHS):
            _capitalize_months_in_dates(cased, lowers)
        if not present.isdisjoint(_GOVERNMENT_BODIES):
            _capitalize_government_bodies(cased, lowers, spaced)
        if not present.isdisjoint(_PUBLICATION_HEADS):
            _capitalize_publications(cased, lowers, spaced)
        if not present.isdisjoint(_ACRONYMS_AFTER_ARTICLES):
            _capitalize_acronyms_after_articles(cased, lowers, spaced)
        if not present.isdisjoint(_packaged_surnames()):
            surnames.update(_capitalize_surnames(cased, lowers, spaced, names))
        _capitalize_titles_before_names(cased)
        lines.append((line, words, cased, lowers))
    out_lines = []
    for line, words, cased, lowers in lines:
        pieces = []
        previous_end = 0
        previous_lower = ""
        for (start, end, _token, initial), (form, _), lower in zip(
            words, cased, lowers, strict=True
        ):
            pieces.append(line[previous_end:start])
            # "said tom forte. ... forte added": the article's surname everywhere, but for the
            # common word after an article ("a forte").
            capital = initial or (
                surnames and lower in surnames and form == lower and previous_lower not in _ARTICLES
            )
            pieces.append(_capitalize(form) if capital else form)
            previous_end, previous_lower = end, lower
        pieces.append(line[previous_end:])
        out_lines.append("".join(pieces))
    return "\n".join(out_lines)
