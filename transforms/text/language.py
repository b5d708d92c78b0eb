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
    if quick_chars:
        quick = _best_language(text[:quick_chars], quick_trials)
        if quick is not None and quick[1] >= UNANIMOUS:
            return quick
    sample = text if chars is None else text[:chars]
    return _best_language(sample, trials) or (UNKNOWN_LANGUAGE, None)
