"""Typing slips corrected before the encoder reads a prompt: "pls remvoe the rian" is read as "pls remove the
rain". The encoder splits a misspelt word into pieces that mean nothing ("rian" is not "rain" to it), and a
short prompt of two misspelt words is then read as nothing at all.

Only a word that is neither English (pyspellchecker's English word list) nor in the task head's corpus is
corrected, so a photographer's words ("bokeh", "denoise", "jpg") and any correctly spelt word stay as typed.
Its correction is looked for first among the corpus's correctly spelt words (the prompts not written with
typos on purpose): one edit away (a letter left out, added, changed, or two swapped), or two for a word of
seven letters or more; the word the corpus uses most wins ("grany" is "grainy", not "granny"). A word with no
such neighbour gets the English list's correction one edit away ("beign" -> "being"), or stays as it is.
Names are left alone (engine.instructions.spelling.correct).
"""

from __future__ import annotations

import functools
import re
import threading
from collections import Counter

from engine.instructions.corpus import WORD, corpus_texts

#: Shorter words are left alone: one edit from a three-letter word is almost any other.
SHORTEST = 4
#: From this length a correction may be two edits away (up to TWO_EDITS_UP_TO: two edits of a long word are
#: hundreds of thousands of candidates, a fraction of a second each).
TWO_EDITS_FROM = 7
TWO_EDITS_UP_TO = 12
#: At most so many words of one prompt are looked up; the rest stay as typed (a prompt with more unknown
#: words than this is not English the head could read anyway, and each look-up costs up to 0.3 s).
MOST_LOOKED_UP = 12

_lock = threading.Lock()


@functools.cache
def corpus_counts() -> Counter[str]:
    """How often each word occurs in the corpus's prompts that are not misspelt on purpose, lower-cased."""
    return Counter(
        word for text, register in corpus_texts() if register != "typo" for word in WORD.findall(text)
    )


@functools.cache
def english():  # type: ignore[no-untyped-def]
    """pyspellchecker's English word list, corrections one edit away (`word in english()`: English)."""
    from spellchecker import SpellChecker

    return SpellChecker(language="en", distance=1, case_sensitive=False)


@functools.cache
def _checkers():  # type: ignore[no-untyped-def]
    """(English word list, one edit; the corpus's words, one edit; the corpus's words, two edits)."""
    from spellchecker import SpellChecker

    corpus = []
    for distance in (1, 2):
        checker = SpellChecker(language=None, distance=distance, case_sensitive=False)
        checker.word_frequency.load_json(dict(corpus_counts()))
        corpus.append(checker)
    return english(), *corpus


@functools.lru_cache(maxsize=4096)
def correction(word: str) -> str | None:
    """The word `word` (lower case) was probably meant to be, or None when it is a word or has no fix."""
    counts = corpus_counts()
    if len(word) < SHORTEST or word in counts or "'" in word:
        return None
    with _lock:  # pyspellchecker's caches are not documented as thread-safe
        words, near, far = _checkers()
        if word in words:
            return None
        candidates = near.candidates(word)
        if not candidates and TWO_EDITS_FROM <= len(word) <= TWO_EDITS_UP_TO:
            candidates = far.candidates(word)
        if candidates:
            return max(sorted(candidates), key=counts.__getitem__)
        return words.correction(word)


def correct(text: str) -> str:
    """`text` with its misspelt words replaced by their corrections (lower case), the rest as typed. A name
    is left alone: a word with a capital letter, unless it is the first of a sentence ("Notting Hill", "USB",
    "GoPro")."""

    looked_up = 0

    def fixed(match: re.Match[str]) -> str:
        nonlocal looked_up
        word = match.group(0)
        before = text[: match.start()].rstrip()
        opening = not before or before[-1] in ".!?"
        if any(c.isupper() for c in word[1:]) or (word[0].isupper() and not opening):
            return word
        lower = word.lower()
        if lower in corpus_counts() or looked_up >= MOST_LOOKED_UP:
            return word
        looked_up += 1
        return correction(lower) or word

    return WORD.sub(fixed, text)
