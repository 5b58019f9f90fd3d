"""interpret(text): which restorations an instruction asks for, how strongly, or why it cannot be done."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from engine.instructions.encoder import EMBEDDING_DIM, encode
from engine.instructions.head import KINDS, STRENGTH_LEVELS, HeadOutput, get_task_head

TASKS = ("denoise", "deblur", "dehaze", "derain", "lowlight", "jpeg")

#: What the user reads for each task (summary, CLI, app).
TASK_LABELS = {
    "denoise": "reduce noise",
    "deblur": "remove blur",
    "dehaze": "remove haze",
    "derain": "remove rain",
    "lowlight": "brighten",
    "jpeg": "clean up JPEG artefacts",
}

GENTLE, NORMAL, STRONG = STRENGTH_LEVELS
TASK_THRESHOLD = 0.5
#: A restoration request whose best task is below TASK_THRESHOLD but above this still gets that task.
FALLBACK_THRESHOLD = 0.25
#: Longer text adds nothing (the encoder reads 256 tokens) and only costs tokenizing time.
MAX_CHARS = 2000

CAPABILITIES = (
    "PhotoMend restores photos: it can reduce noise, fix blur from camera shake or focus, remove haze, "
    "remove rain, brighten dark shots and clean up JPEG artefacts. "
    'Try: "it\'s dark and grainy", "remove the blur from camera shake" or "clean up the JPEG blocks".'
)
MESSAGE_EMPTY = (
    'Type what is wrong with the photo, e.g. "it\'s dark and grainy" — or leave it empty and '
    "PhotoMend will detect what the photo needs."
)
MESSAGE_OFFTOPIC = "That is not something PhotoMend can do. " + CAPABILITIES
MESSAGE_VAGUE = (
    "Say what is wrong with the photo (or leave the box empty to let PhotoMend detect it). " + CAPABILITIES
)

# Explicit strength words are an honest place for rules: they are a closed vocabulary, and the head
# (trained on one strength per prompt) is less sure of them than of the tasks. Gentle words win when
# both kinds appear ("very gently", "not too much").
_GENTLE_WORDS = re.compile(
    r"\b(slight(ly)?|a (little|bit|touch|tad|tiny bit)|little bit|gentl[ey]|lightly|keep it light|"
    r"subtl[ey]|mild(ly)?|somewhat|kind of|kinda|not too much|don'?t overdo|go easy|softly|"
    r"not (very|too)|only a bit|touch of)\b",
    re.IGNORECASE,
)
_STRONG_WORDS = re.compile(
    r"\b(a lot|lots of|very|extremely|really|heav(y|ily)|strong(ly)?|aggressive(ly)?|completely|"
    r"totally|max(imum|imally)?|max it out|as much as (you can|possible)|all the way|super|terribl[ey]|"
    r"horribl[ey]|incredibl[ey]|insanely|so much|tons? of|way too|pitch black|drastic(ally)?|"
    r"thorough(ly)?|crazy|massive(ly)?|seriously|big time|don'?t hold back|go all out|hard)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Interpretation:
    """What an instruction asks for. `strength` in [0, 1] scales the blend with the original."""

    text: str
    tasks: tuple[str, ...]
    strength: float
    understood: bool
    message: str
    embedding: np.ndarray = field(compare=False, repr=False)  # (384,) float32, unit length (zeros if empty)
    scores: dict[str, float] = field(compare=False, default_factory=dict)

    def summary(self) -> str:
        """One line for people: "reduce noise; brighten — strong"; "" when nothing is to be done."""
        return summarize(self.tasks, self.strength)


def summarize(tasks: tuple[str, ...], strength: float) -> str:
    if not tasks:
        return ""
    text = "; ".join(TASK_LABELS[t] for t in tasks)
    word = strength_word(strength)
    return f"{text} — {word}" if word else text


def strength_word(strength: float) -> str:
    """'gentle', '' (plain) or 'strong' for a strength value."""
    if strength <= (GENTLE + NORMAL) / 2:
        return "gentle"
    if strength >= (NORMAL + STRONG) / 2:
        return "strong"
    return ""


def explicit_strength(text: str) -> float | None:
    """The strength an explicit qualifier asks for ("slightly", "a lot"), or None."""
    if _GENTLE_WORDS.search(text):
        return GENTLE
    if _STRONG_WORDS.search(text):
        return STRONG
    return None


def _decide(
    text: str, embedding: np.ndarray, out: HeadOutput, tasks_order: tuple[str, ...]
) -> Interpretation:
    probs = {t: float(p) for t, p in zip(tasks_order, out.task_probs, strict=True)}
    kinds = {k: float(p) for k, p in zip(KINDS, out.kind_probs, strict=True)}
    scores = {**probs, "offtopic": kinds["offtopic"], "vague": kinds["vague"]}
    kind = max(kinds, key=kinds.__getitem__)
    tasks: tuple[str, ...] = ()
    if kind == "restore":
        tasks = tuple(t for t in TASKS if probs[t] >= TASK_THRESHOLD)
        if not tasks:
            best = max(probs, key=probs.__getitem__)
            if probs[best] >= FALLBACK_THRESHOLD:
                tasks = (best,)
            else:
                kind = "vague"
    if kind != "restore":
        message = MESSAGE_OFFTOPIC if kind == "offtopic" else MESSAGE_VAGUE
        return Interpretation(text, (), 0.0, False, message, embedding, scores)
    strength = explicit_strength(text)
    if strength is None:
        # The head's most likely class: an average of classes would turn "unsure" into "gentle".
        strength = STRENGTH_LEVELS[int(np.argmax(out.strength_probs))]
    strength = round(strength, 3)
    message = f"Understood: {summarize(tasks, strength)}"
    return Interpretation(text, tasks, strength, True, message, embedding, scores)


def interpret_many(texts: list[str]) -> list[Interpretation]:
    """interpret() for several instructions at once (one encoder batch)."""
    results: list[Interpretation | None] = [None] * len(texts)
    todo = [i for i, t in enumerate(texts) if t.strip()]
    for i, t in enumerate(texts):
        if not t.strip():
            empty = np.zeros(EMBEDDING_DIM, dtype=np.float32)
            results[i] = Interpretation(t, (), 0.0, False, MESSAGE_EMPTY, empty, {})
    if todo:
        cleaned = [" ".join(texts[i].split())[:MAX_CHARS] for i in todo]
        embeddings = encode(cleaned)
        embeddings.flags.writeable = False
        head = get_task_head()
        for i, emb, out in zip(todo, embeddings, head.predict(embeddings), strict=True):
            results[i] = _decide(texts[i], emb, out, head.tasks)
    return [r for r in results if r is not None]


def interpret(text: str) -> Interpretation:
    """Understand one instruction; empty text -> understood False with a message asking for one."""
    return interpret_many([text])[0]
