"""Language detection with langdetect, on a sample of the text (no Beam: the benchmarks' floor
calls it as it is).

langdetect's cost per call: ~0.2 ms per random-walk trial (7 by default) plus ~1 ms per 1000
characters of n-gram extraction (pure Python). So a quick pass first: 2 trials on the first 200
characters; only when they disagree (or find no features) 7 trials on 1000 characters decide.
`python benchmarks/language.py` (150 articles of ../shared in 9 languages): the language of the
whole text for 150/150 article starts and 746/751 texts starting inside them, at 1.0 ms per
article; 500 characters and 3 trials first: 150/150, 748/751, 1.8 ms; the whole text: 9.3 ms.
"""

from __future__ import annotations

import threading

from langdetect import DetectorFactory, detector_factory
from langdetect.lang_detect_exception import LangDetectException

from schemas import UNKNOWN_LANGUAGE

QUICK_SAMPLE_CHARS = 200
QUICK_TRIALS = 2
LANGUAGE_SAMPLE_CHARS = 1000
LANGUAGE_TRIALS = 7
# Trials agree when the best language gets (nearly) all the probability.
UNANIMOUS = 0.999
_factory_lock = threading.Lock()

# A text's writing systems, counted in C (str.translate to one tag a script, then count).
# Chinese with pinyin first ("Zhongguo renmin yinhang ... 中国人民银行") gave a
# unanimous `sw` or `vi` on the 200 Latin letters of the quick sample: a sample written in
# another script than the text is no sample of its language.
SCRIPT_SAMPLE_CHARS = 2000
# Every 4th character of it is sample enough for counting scripts.
SCRIPT_SAMPLE_STEP = 4
_SCRIPT_RANGES = {
    "latin": ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F), (0x1E00, 0x1EFF)),
    "han": ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)),
    "kana": ((0x3040, 0x30FF),),
    "hangul": ((0x1100, 0x11FF), (0xAC00, 0xD7AF)),
    "cyrillic": ((0x400, 0x52F),),
    "greek": ((0x370, 0x3FF),),
    "arabic": ((0x600, 0x6FF), (0x750, 0x77F)),
    "hebrew": ((0x590, 0x5FF),),
    "devanagari": ((0x900, 0x97F),),
    "thai": ((0xE00, 0xE7F),),
}
# Tags from the private use area: a code point per script.
_SCRIPT_TAGS = {name: chr(0xF0000 + index) for index, name in enumerate(_SCRIPT_RANGES)}
_TAG_TABLE = {
    code: _SCRIPT_TAGS[name]
    for name, ranges in _SCRIPT_RANGES.items()
    for low, high in ranges
    for code in range(low, high + 1)
}


# Languages langdetect knows that are written in another script than Latin.
_LANGUAGE_SCRIPTS = {
    **dict.fromkeys(("zh-cn", "zh-tw"), "han"),
    "ja": "kana",
    "ko": "hangul",
    **dict.fromkeys(("ru", "uk", "bg", "mk"), "cyrillic"),
    "el": "greek",
    **dict.fromkeys(("ar", "fa", "ur"), "arabic"),
    "he": "hebrew",
    **dict.fromkeys(("hi", "mr", "ne"), "devanagari"),
    "th": "thai",
}


def fits_script(language: str, script: str | None) -> bool:
    """Whether `language` is written in `script` (the text's main one); a text without letters
    fits any. (Japanese without kana is written in "han" alone, and fits too.)"""
    if script is None or script not in _SCRIPT_RANGES:
        return True
    expected = _LANGUAGE_SCRIPTS.get(language, "latin")
    return expected == script or (language == "ja" and script == "han")


def main_script(text: str) -> str | None:
    """The writing system most letters of `text` are in (Japanese kana and kanji count as
    one: "kana"), None for text without letters."""
    try:
        text.encode("cp1252")  # in C: English and Western European text, most of it
        return "latin" if any(map(str.isalpha, text)) else None
    except UnicodeEncodeError:
        pass
    tagged = text.translate(_TAG_TABLE)
    counts = {name: tagged.count(tag) for name, tag in _SCRIPT_TAGS.items()}
    if counts["kana"]:
        counts["kana"] += counts.pop("han")  # kanji are Japanese next to kana
    best = max(counts, key=counts.get)
    return best if counts[best] else None


def _first_letter_of(script: str, text: str) -> int:
    tag = _SCRIPT_TAGS[script]
    tagged = text.translate(_TAG_TABLE)
    if script == "kana":
        positions = [tagged.find(tag), tagged.find(_SCRIPT_TAGS["han"])]
        return min((p for p in positions if p >= 0), default=0)
    return max(tagged.find(tag), 0)


def _language_factory():
    with _factory_lock:
        if detector_factory._factory is None:
            detector_factory.init_factory()
        DetectorFactory.seed = 0  # deterministic: same text, same answer, on every machine
    return detector_factory._factory


def _best_language(sample: str, trials: int) -> tuple[str, float] | None:
    detector = _language_factory().create()
    detector.n_trial = trials  # no setter in langdetect; read by each detection
    detector.append(sample)
    try:
        best = detector.get_probabilities()[0]
    except (LangDetectException, IndexError):
        return None
    return best.lang.lower(), round(best.prob, 4)


def detect_language(
    text: str,
    quick_chars: int | None = QUICK_SAMPLE_CHARS,
    quick_trials: int = QUICK_TRIALS,
    chars: int | None = LANGUAGE_SAMPLE_CHARS,
    trials: int = LANGUAGE_TRIALS,
) -> tuple[str, float | None]:
    """(ISO 639-1 code, probability) from langdetect, or ("und", None) when it cannot tell.

    `quick_chars=None` skips the quick pass; `chars=None` detects on the whole text (the
    language benchmark compares settings through these).
    """
    script = main_script(text[:SCRIPT_SAMPLE_CHARS:SCRIPT_SAMPLE_STEP])
    if quick_chars:
        quick = _best_language(text[:quick_chars], quick_trials)
        if (
            quick is not None
            and quick[1] >= UNANIMOUS
            and main_script(text[:quick_chars]) == script
        ):
            return quick
    start = 0
    if chars is not None and script is not None and main_script(text[:chars]) != script:
        start = _first_letter_of(script, text)  # where the main script starts
    sample = text if chars is None else text[start : start + chars]
    best = _best_language(sample, trials)
    if best is None or not fits_script(best[0], script):
        # Mixed scripts that the sample misjudged: better no language than a wrong one.
        return UNKNOWN_LANGUAGE, None
    return best
