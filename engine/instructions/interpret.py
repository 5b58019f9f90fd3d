"""interpret(text): which restorations an instruction asks for, how strongly, or why it cannot be done."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from engine.instructions.encoder import EMBEDDING_DIM, encode
from engine.instructions.head import KINDS, STRENGTH_LEVELS, HeadOutput, get_task_head
from engine.instructions.size import (
    DEFAULT_SCALE,
    asks_to_resize,
    asks_to_shrink,
    describe_target,
    requested_factor,
    requested_target,
    scale_note,
    supported_scale,
)

#: "upscale" (super-resolution ×2 or ×4) came last, so the first six keep the order that the detector and the
#: restoration network's outputs follow.
TASKS = ("denoise", "deblur", "dehaze", "derain", "lowlight", "jpeg", "upscale")

#: What the user reads for each task (summary, CLI, app).
TASK_LABELS = {
    "denoise": "reduce noise",
    "deblur": "remove blur",
    "dehaze": "remove haze",
    "derain": "remove rain",
    "lowlight": "brighten",
    "jpeg": "clean up JPEG artefacts",
    "upscale": "enlarge",
}

GENTLE, NORMAL, STRONG = STRENGTH_LEVELS
TASK_THRESHOLD = 0.5
#: A restoration request whose best task is below TASK_THRESHOLD but above this still gets that task.
FALLBACK_THRESHOLD = 0.25
#: Longer text adds nothing (the encoder reads 256 tokens) and only costs tokenizing time.
MAX_CHARS = 2000

CAPABILITIES = (
    "PhotoMend restores photos: it can reduce noise, fix blur from camera shake or focus, remove haze, "
    "remove rain, brighten dark shots, clean up JPEG artefacts and enlarge small photos ×2 or ×4. "
    'Try: "it\'s dark and grainy", "remove the blur from camera shake", "clean up the JPEG blocks" or '
    '"make it 4x bigger".'
)
MESSAGE_EMPTY = (
    'Type what is wrong with the photo, e.g. "it\'s dark and grainy" — or leave it empty and '
    "PhotoMend will detect what the photo needs."
)
MESSAGE_OFFTOPIC = "That is not something PhotoMend can do. " + CAPABILITIES
MESSAGE_RESIZE = (
    "Making a photo smaller is a resize, not a restoration: any photo editor does it (and an export setting "
    "makes the file smaller). " + CAPABILITIES
)
#: Added to an understood message when a request also asks to make the photo smaller.
NOTE_RESIZE = "Making it smaller is a resize, not a restoration: do that afterwards in any photo editor."
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
    """What an instruction asks for. `strength` in [0, 1] scales the blend with the original.

    `scale` is the enlargement: 1 unless "upscale" is among the tasks, then 2 or 4 (the factor named, or the
    next one up: "3x" -> 4, "8x" -> 4; 2 when none is named). `target` is the size the prompt asks for, as
    (kind, value) with kind in engine.instructions.size.TARGET_KINDS ("enlarge to 6000 px wide" ->
    ("width", 6000)), or None; it is set only when no factor is named, and then the engine picks the scale
    from the photo's size (engine.restorers.enlarge.plan_enlargement).
    """

    text: str
    tasks: tuple[str, ...]
    strength: float
    understood: bool
    message: str
    embedding: np.ndarray = field(compare=False, repr=False)  # (384,) float32, unit length (zeros if empty)
    scores: dict[str, float] = field(compare=False, default_factory=dict)
    scale: int = 1
    target: tuple[str, int] | None = None

    def summary(self) -> str:
        """One line for people: "reduce noise; enlarge ×2 — strong"; "" when nothing is to be done."""
        return summarize(self.tasks, self.strength, self.scale, self.target)


def task_label(task: str, scale: int = 1, target: tuple[str, int] | None = None) -> str:
    """TASK_LABELS[task], with the enlargement for "upscale": "enlarge ×4", "enlarge to 6000 px wide"."""
    label = TASK_LABELS[task]
    if task != "upscale":
        return label
    if target is not None:
        return f"{label} to {describe_target(target)}"
    return f"{label} ×{scale}" if scale > 1 else label


def summarize(
    tasks: tuple[str, ...], strength: float, scale: int = 1, target: tuple[str, int] | None = None
) -> str:
    if not tasks:
        return ""
    text = "; ".join(task_label(t, scale, target) for t in tasks)
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
    # "make it smaller" embeds next to "make it bigger": making a photo smaller is never an enlargement.
    shrink = asks_to_shrink(text)
    tasks: tuple[str, ...] = ()
    if kind == "restore":
        candidates = {t: p for t, p in probs.items() if t in TASKS and not (shrink and t == "upscale")}
        tasks = tuple(t for t in TASKS if candidates.get(t, 0.0) >= TASK_THRESHOLD)
        if not tasks and candidates:
            best = max(candidates, key=candidates.__getitem__)
            if candidates[best] >= FALLBACK_THRESHOLD:
                tasks = (best,)
        if not tasks:
            kind = "offtopic" if shrink else "vague"
    if kind != "restore":
        if shrink or asks_to_resize(text):
            message = MESSAGE_RESIZE
        else:
            message = MESSAGE_OFFTOPIC if kind == "offtopic" else MESSAGE_VAGUE
        return Interpretation(text, (), 0.0, False, message, embedding, scores)
    strength = explicit_strength(text)
    if strength is None:
        # The head's most likely class: an average of classes would turn "unsure" into "gentle".
        strength = STRENGTH_LEVELS[int(np.argmax(out.strength_probs))]
    strength = round(strength, 3)
    scale, target, notes = 1, None, []
    if "upscale" in tasks:
        factor = requested_factor(text)
        scale = DEFAULT_SCALE if factor is None else supported_scale(factor)
        target = requested_target(text) if factor is None else None
        notes.append(scale_note(factor))
    if shrink:
        notes.append(NOTE_RESIZE)
    message = f"Understood: {summarize(tasks, strength, scale, target)}"
    if any(notes):
        message = ". ".join([message, " ".join(note for note in notes if note)])
    return Interpretation(text, tasks, strength, True, message, embedding, scores, scale, target)


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
