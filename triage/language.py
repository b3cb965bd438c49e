"""Which language an opener is written in (py3langid ships its model inside the package)."""

from __future__ import annotations

import re
from functools import lru_cache

# Languages people at a Dutch helpline plausibly write in. Restricting the set avoids absurd answers
# for short chat text (Afrikaans and Frisian are left out: they would swallow typo-ridden Dutch).
CANDIDATES = ["nl", "en", "de", "fr", "tr", "ar", "pl", "es", "pt", "it", "ro", "bg", "uk", "ru", "so",
              "fa", "id"]
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Short openers ("hoi", "hallo?") carry too little signal to call them anything but Dutch.
MIN_WORDS = 3
MIN_CONFIDENCE = 0.9
# Frequent Dutch function words that are not words of English, German or French. An opener in
# which they make up a fifth of the words is Dutch without asking the classifier (most openers;
# the classifier costs more than the rest of the post-processing together).
DUTCH_MARKERS = frozenset({"ik", "het", "een", "niet", "mijn", "mn", "hij", "zij", "ze", "dat", "wat", "zijn",
                           "heeft", "ben", "weet", "maar", "ook", "nog", "moet", "wil", "kan", "naar", "bij",
                           "heb", "niks", "geen", "zo", "echt", "thuis", "omdat", "hoe", "waarom", "jullie",
                           "hem", "haar", "wordt", "word", "dit", "als", "dan", "er", "zich", "mij", "nu",
                           "vader", "moeder", "mama", "papa", "wel", "goed", "vriend", "vriendin", "weer"})


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
    identifier.set_languages(CANDIDATES)
    return identifier


def detect_language(text: str) -> tuple[str, float]:
    """(ISO 639-1 code, confidence). Dutch unless another language is clearly more likely."""
    words = _WORD.findall(text.lower())
    if len(words) < MIN_WORDS:
        return "nl", 0.0
    if sum(w in DUTCH_MARKERS for w in words) >= max(2, len(words) // 5):
        return "nl", 1.0
    lang, prob = _identifier().classify(text)
    if lang != "nl" and prob < MIN_CONFIDENCE:
        return "nl", float(1 - prob)
    return lang, float(prob)
