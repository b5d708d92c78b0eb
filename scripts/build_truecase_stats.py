"""Build the truecaser's tables: word casings and name phrases, from redistributable lists.

Outputs (sources and licences in transforms/data/TRUECASE_SOURCES.md):

- transforms/data/truecase_en.tsv.gz, `lowercase word <TAB> casing`: names get their casing
  ("moscow" -> "Moscow", "xbox" -> "Xbox"); common words map to themselves ("trump", "may"),
  which tells the truecaser to capitalize them only on strong evidence from the run.
  * spaCy's cased word probabilities (spacy-lookups-data, MIT): a word gets its most probable
    casing when that casing is more probable than the lowercase one. Common words often
    capitalized ("mark", "island") get a third column, their capitalized form: the truecaser
    uses it next to a name ("Mark Zuckerberg", "Stewart Island").
  * SCOWL (Debian's wamerican-large): words it spells only with capitals, for words spaCy's
    table is silent on.
- transforms/data/truecase_names_en.tsv.gz, `lowercase word <TAB> given|surname`: the US
  Census 1990 given names, and the Census surnames that are also rarer common words ("forte",
  "parry"), from the PyPI package `names` 0.3.0 (MIT; the Census lists are public domain):
  the truecaser capitalizes such a surname right after a given name ("Tom Forte").
- transforms/data/truecase_phrases_en.tsv.gz, `lowercase phrase <TAB> casing`: multiword names
  from WordNet 3.0 nouns ("new york" -> "New York", "white house" -> "White House"), and the
  names its glosses use mid-sentence ("Civil War", "Department of Health"), that word casings
  alone would get wrong. WordNet also tells which common words are nouns (names are).

    apt-get install wamerican-large wordnet-base
    pip download --no-deps spacy-lookups-data==1.0.5 names==0.3.0   # build only
    python scripts/build_truecase_stats.py /usr/share/dict/american-english-large \\
        --spacy-lookups spacy_lookups_data-1.0.5-py2.py3-none-any.whl \\
        --wordnet /usr/share/wordnet --names names-0.3.0.tar.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import pathlib
import re
import tarfile
import zipfile

DATA = pathlib.Path(__file__).resolve().parent.parent / "transforms" / "data"
OUTPUT = DATA / "truecase_en.tsv.gz"
PHRASES_OUTPUT = DATA / "truecase_phrases_en.tsv.gz"
NAMES_OUTPUT = DATA / "truecase_names_en.tsv.gz"
NAMES_LISTS = {
    "given": ("names/dist.male.first", "names/dist.female.first"),
    "surname": ("names/dist.all.last",),
}
# A surname that is also a common word ("hunt", "forte") is capitalized after a given name
# only when it is a rarer word (spaCy log-probability below this): "Tom Forte", "Ellen
# Fetter", but "Anna said", "John will".
MAX_SURNAME_WORD_LOG_PROB = -10.0
SPACY_PROBS = "spacy_lookups_data/data/en_lexeme_prob.json.gz"

# A casing other than lowercase wins when it is more probable. Capitals at sentence starts
# inflate every capitalized form, but only to a fraction of a common word's lowercase form
# (about one occurrence in ten opens a sentence), while a name's capitalized form dominates.
CASED_MARGIN = 1.0
# SCOWL, a curated dictionary, spells some words in lowercase only ("thanks", "united", "oh"
# next to "OH"): their capitalized forms are mostly sentence starts ("Thanks!", "Oh") or part
# of a phrase ("United States"), so they are capitalized only when that form is overwhelmingly
# more probable ("HD").
LOWERCASE_ONLY_MARGIN = 10.0
# A common word capitalized this often relative to its lowercase form ("mark", "island",
# "council") is a name part too: the truecaser capitalizes it next to a name ("Mark
# Zuckerberg", "Stewart Island"). Stored as a third column.
NAME_PART_SHARE = 0.4
# Words capitalized mostly inside names ("North Korea", "King Charles", "Pope Francis"): the
# truecaser's phrase and title rules case them there; alone they stay lowercase ("the north",
# "the king"). Single letters are too ambiguous to case from word counts.
LOWERCASE_ALONE = frozenset(
    "north south east west northern southern eastern western northeast northwest southeast "
    "southwest central king queen prince princess captain pope premier president minister "
    "chancellor senator governor mayor general judge justice".split()
)
# Job descriptions stay lowercase before a name in news style ("security chief Emmerson
# Mnangagwa", "coach Bill Belichick"), so they are no name parts.
JOB_DESCRIPTIONS = frozenset(
    "chief executive officer director spokesman spokeswoman spokesperson inspector "
    "commissioner commander leader secretary ambassador coach manager chairman founder".split()
)
# Rarer forms are mostly noise (typos, handles); below this log-probability they are left out.
MIN_LOG_PROB = -19.0
# A word the truecaser may case: letters, hyphens or digits ("G7", "Wi-Fi"). Not contractions:
# spaCy splits "don't" into "do" + "n't", so its "don't" forms are mostly shouted ("DON'T").
_WORD = re.compile(r"[^\W\d_][\w\-]*")


def scowl_casings(words: list[str]) -> dict[str, str]:
    """{lower: form} for names; {lower: lower} for common words."""
    lowercase_words = {word for word in words if word.islower() and word.isalpha()}
    table: dict[str, str] = {word: word for word in lowercase_words}
    for word in sorted(words):
        if "'" in word or word.islower() or not word.isalpha():
            continue
        lower = word.lower()
        if lower in lowercase_words:
            continue
        # Two spellings differing in case only (e.g. "Mac"/"MAC"): keep the first, sorted.
        if lower not in table:
            table[lower] = word
    return table


# Kept as the old name: tests and callers build a SCOWL-only table with it.
casing_table = scowl_casings


def probability_casings(
    log_probs: dict[str, float], lowercase_only: frozenset[str] = frozenset()
) -> tuple[dict[str, str], dict[str, str]]:
    """{lower: most probable casing}, lowercase unless another casing clearly wins (the
    `lowercase_only` words need an overwhelming win), and {lower: capitalized form} for the
    lowercase words often capitalized."""
    by_lower: dict[str, dict[str, float]] = {}
    for form, log_prob in log_probs.items():
        if log_prob < MIN_LOG_PROB or not _WORD.fullmatch(form) or form.endswith("-"):
            continue
        by_lower.setdefault(form.lower(), {})[form] = math.exp(log_prob)
    table, name_parts = {}, {}
    for lower, forms in by_lower.items():
        if lower in LOWERCASE_ALONE or len(lower) == 1:
            table[lower] = lower  # and no name part: titles have their own rule
            continue
        cased = [(prob, form) for form, prob in forms.items() if form != lower]
        best_prob, best_form = max(cased) if cased else (0.0, lower)
        lower_prob = forms.get(lower, 0.0)
        margin = LOWERCASE_ONLY_MARGIN if lower in lowercase_only else CASED_MARGIN
        table[lower] = best_form if best_prob > margin * lower_prob else lower
        capitalized = lower[:1].upper() + lower[1:]
        if (
            table[lower] == lower
            and lower not in JOB_DESCRIPTIONS
            and forms.get(capitalized, 0.0) >= NAME_PART_SHARE * lower_prob
        ):
            name_parts[lower] = capitalized
    return table, name_parts


# Lowercase words a name may have inside ("Department of Defense", "Leonardo da Vinci").
PHRASE_CONNECTORS = frozenset("of the and for on upon de du da del la le von van der".split())


def _is_name(words: list[str]) -> bool:
    """Capitalized words, or connectors between them: "Bank of England", not "A level"."""
    return all(
        word[0].isupper() or (0 < index < len(words) - 1 and word in PHRASE_CONNECTORS)
        for index, word in enumerate(words)
    )


def wordnet_phrases(wordnet_dir: pathlib.Path) -> dict[str, str]:
    """{lower phrase: casing} of WordNet's multiword names ("New_York", "Bank_of_England")."""
    phrases: dict[str, str] = {}
    for line in (wordnet_dir / "data.noun").read_text(encoding="utf-8").splitlines():
        if line.startswith(" "):  # licence header
            continue
        fields = line.split(" ")
        word_count = int(fields[3], 16)
        for index in range(word_count):
            lemma = re.sub(r"\(\w+\)$", "", fields[4 + 2 * index])  # "(p)" position markers
            words = lemma.split("_")
            if not 2 <= len(words) <= 4 or not all(map(_WORD.fullmatch, words)):
                continue
            if not _is_name(words):
                continue
            phrases.setdefault(lemma.lower().replace("_", " "), " ".join(words))
    return phrases


# A run of capitalized words inside a WordNet gloss (not opening it), joined by connectors:
# "... the Department of Health and Human Services", "... in World War II".
_GLOSS_RUN = re.compile(
    r"(?<=[a-z0-9,;:(] )[A-Z][\w\-]*(?:(?: of| and| the| de| for)? [A-Z][\w\-]*)+"
)
MAX_PHRASE_WORDS = 4


def wordnet_gloss_phrases(
    wordnet_dir: pathlib.Path, casings: dict[str, str] | None = None
) -> dict[str, str]:
    """{lower phrase: casing} of the names WordNet's glosses and examples use mid-sentence
    ("Civil War", "Department of Health"): every span of 2 to 4 words of a run of capitals
    that starts and ends with a capital, and does not start inside the run with a common
    word (`casings` maps it to itself): "Urban Development" is only a fragment of "Department
    of Housing and Urban Development"."""
    casings = casings or {}
    phrases: dict[str, str] = {}
    for name in ("data.noun", "data.verb", "data.adj", "data.adv"):
        for line in (wordnet_dir / name).read_text(encoding="utf-8").splitlines():
            if line.startswith(" ") or "|" not in line:  # licence header
                continue
            for run in _GLOSS_RUN.findall(line.split("|", 1)[1]):
                words = run.split(" ")
                for start in range(len(words)):
                    for end in range(start + 2, min(len(words), start + MAX_PHRASE_WORDS) + 1):
                        span = words[start:end]
                        first = span[0].lower()
                        if start > 0 and casings.get(first, first) == first:
                            break
                        if span[-1][0].isupper() and _is_name(span):
                            phrases.setdefault(" ".join(span).lower(), " ".join(span))
    return phrases


def wordnet_nouns(wordnet_dir: pathlib.Path) -> frozenset[str]:
    """Lowercase single-word nouns of WordNet that are not also adverbs ("also", "luckily")."""

    def lemmas(name: str) -> set[str]:
        text = (wordnet_dir / name).read_text(encoding="utf-8")
        return {line.split(" ", 1)[0] for line in text.splitlines() if not line.startswith(" ")}

    nouns = lemmas("index.noun") - lemmas("index.adv")
    return frozenset(noun for noun in nouns if "_" not in noun)


def useful_phrases(phrases: dict[str, str], casings: dict[str, str]) -> dict[str, str]:
    """The phrases word casings alone would get wrong."""
    return {
        lower: form
        for lower, form in phrases.items()
        if any(
            casings.get(word, word) != cased
            for word, cased in zip(lower.split(), form.split(), strict=True)
        )
    }


def combined_casings(
    words: list[str], probs: dict[str, float]
) -> tuple[dict[str, str], dict[str, str]]:
    """SCOWL's casings overridden by spaCy's most probable ones, and the name parts."""
    table = scowl_casings(words)
    spelled = set(words)
    # SCOWL's lowercase words whose most probable casing SCOWL does not spell.
    lowercase_only = frozenset(
        word
        for word, form in probability_casings(probs)[0].items()
        if form != word and table.get(word) == word and form not in spelled
    )
    # Shouted words ("CANNOT") and contractions that lost their apostrophe at sentence starts
    # ("Lets", "Hes", "Wont") are no names.
    shouted_or_contracted = {
        word
        for word in lowercase_only
        if (len(word) > 4 and probs.get(word.upper(), -99.0) > probs.get(word.title(), -99.0))
        or any(f"{word[:cut]}'{word[cut:]}" in spelled for cut in range(1, len(word)))
    }
    probable, name_parts = probability_casings(probs, lowercase_only)
    table.update(probable)
    table.update((word, word) for word in shouted_or_contracted)
    return table, name_parts


def census_names(path: pathlib.Path) -> dict[str, set[str]]:
    """{"given": lowercase given names, "surname": lowercase surnames} from the `names` sdist."""
    names: dict[str, set[str]] = {}
    with tarfile.open(path) as archive:
        for member in archive.getmembers():
            for kind, suffixes in NAMES_LISTS.items():
                if member.name.endswith(suffixes):
                    text = archive.extractfile(member).read().decode("ascii")
                    names.setdefault(kind, set()).update(
                        line.split()[0].lower() for line in text.splitlines() if line.strip()
                    )
    return names


def name_kinds(
    names: dict[str, set[str]], table: dict[str, str], probs: dict[str, float]
) -> dict[str, str]:
    """{word: "given"} for every given name, {word: "surname"} for the surnames the table
    leaves lowercase that are rarer words (the others are capitalized anyway)."""
    kinds = {name: "given" for name in names.get("given", ()) if name.isalpha()}
    for name in names.get("surname", ()):
        if (
            name not in kinds
            and table.get(name) == name
            and probs.get(name, -99.0) < MAX_SURNAME_WORD_LOG_PROB
        ):
            kinds[name] = "surname"
    return kinds


def read_spacy_probs(path: pathlib.Path) -> dict[str, float]:
    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            return json.loads(gzip.decompress(wheel.read(SPACY_PROBS)))
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def write_table(
    table: dict[str, str], path: pathlib.Path, third_column: dict[str, str] | None = None
) -> None:
    third_column = third_column or {}
    lines = (
        "\t".join([lower, form, third_column[lower]] if lower in third_column else [lower, form])
        for lower, form in sorted(table.items())
    )
    # mtime=0: the same input gives the same bytes.
    with gzip.GzipFile(path, "wb", mtime=0) as handle:
        handle.write("".join(line + "\n" for line in lines).encode())
    print(f"{len(table)} entries -> {path} ({path.stat().st_size} bytes)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("word_list", type=pathlib.Path, help="SCOWL word list")
    parser.add_argument(
        "--spacy-lookups",
        type=pathlib.Path,
        help="spacy-lookups-data wheel, or its en_lexeme_prob.json.gz",
    )
    parser.add_argument("--wordnet", type=pathlib.Path, help="WordNet dict dir (data.noun)")
    parser.add_argument("--output", type=pathlib.Path, default=OUTPUT)
    parser.add_argument("--phrases-output", type=pathlib.Path, default=PHRASES_OUTPUT)
    parser.add_argument("--names", type=pathlib.Path, help="the `names` 0.3.0 sdist (.tar.gz)")
    parser.add_argument("--names-output", type=pathlib.Path, default=NAMES_OUTPUT)
    args = parser.parse_args(argv)
    words = args.word_list.read_text(encoding="utf-8").split()
    probs = read_spacy_probs(args.spacy_lookups) if args.spacy_lookups else {}
    if probs:
        table, name_parts = combined_casings(words, probs)
    else:
        table, name_parts = scowl_casings(words), {}
    if args.wordnet:
        # Names are nouns: "if", "also" are capitalized often only at sentence starts.
        nouns = wordnet_nouns(args.wordnet)
        name_parts = {word: form for word, form in name_parts.items() if word in nouns}
    write_table(table, args.output, name_parts)
    if args.wordnet:
        phrases = wordnet_gloss_phrases(args.wordnet, table)
        phrases.update(wordnet_phrases(args.wordnet))  # a lemma's casing wins over a gloss's
        write_table(useful_phrases(phrases, table), args.phrases_output)
    if args.names:
        write_table(name_kinds(census_names(args.names), table, probs), args.names_output)


if __name__ == "__main__":
    main()
