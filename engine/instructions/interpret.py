"""interpret(text): which restorations an instruction asks for, how strongly, or why it cannot be done."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import numpy as np

from engine.instructions.compose import Reading, read, tasks_named
from engine.instructions.encoder import EMBEDDING_DIM, encode_tokens
from engine.instructions.head import KINDS, STRENGTH_LEVELS, HeadOutput, get_task_head
from engine.instructions.language import foreign_language, known_share, language_name
from engine.instructions.size import (
    DEFAULT_SCALE,
    asks_to_enlarge,
    asks_to_resize,
    asks_to_shrink,
    describe_target,
    requested_factor,
    requested_target,
    scale_note,
    supported_scale,
)
from engine.instructions.spelling import correct

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
MESSAGE_EFFECT = (
    "Adding an effect (blur, grain, rain, fog, darkness) is not a restoration: PhotoMend removes faults, it "
    "does not add them. " + CAPABILITIES
)
MESSAGE_OPPOSITE = (
    "{what} is not a restoration PhotoMend does: it undoes noise, blur, haze, rain, darkness and JPEG "
    "artefacts; an editor's exposure, sharpening or texture controls do the rest. " + CAPABILITIES
)
MESSAGE_NOTHING_LEFT = "Nothing left to do: the instruction asks not to {refused}. " + CAPABILITIES
MESSAGE_FOREIGN = (
    "PhotoMend understands instructions in English only, and this looks like {language}. "
    'Say what is wrong with the photo in English, e.g. "it\'s dark and grainy" — or leave the box empty and '
    "PhotoMend will detect what the photo needs."
)
MESSAGE_UNREADABLE = "PhotoMend could not read that as an English instruction. " + CAPABILITIES
#: A prompt of at least this many words, fewer than this share of them known to the head's corpus, and in no
#: language the identifier is sure of, is not read at all (random letters once came out as "clean up JPEG").
GIBBERISH_MIN_WORDS = 3
GIBBERISH_KNOWN_BELOW = 0.25
#: ... and one "word" longer than this is no word either (English's long ones stay under 25 letters).
LONGEST_WORD = 30
NOTE_OPPOSITE = "Not done: {what} is not a restoration."
NOTE_EFFECT = "Not done: adding an effect is not a restoration."
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
    #: (task, strength) for tasks asked for at another strength than `strength`, the strongest asked for
    #: ("brighten it a little, and remove all the grain": lowlight gentle); empty when one strength holds.
    strengths: tuple[tuple[str, float], ...] = ()

    def strength_for(self, task: str) -> float:
        """The strength `task` was asked for at."""
        return dict(self.strengths).get(task, self.strength)

    def summary(self) -> str:
        """One line for people: "reduce noise; enlarge ×2 — strong"; "" when nothing is to be done."""
        return summarize(self.tasks, self.strength, self.scale, self.target, self.strengths)


def task_label(task: str, scale: int = 1, target: tuple[str, int] | None = None) -> str:
    """TASK_LABELS[task], with the enlargement for "upscale": "enlarge ×4", "enlarge to 6000 px wide"."""
    label = TASK_LABELS[task]
    if task != "upscale":
        return label
    if target is not None:
        return f"{label} to {describe_target(target)}"
    return f"{label} ×{scale}" if scale > 1 else label


def summarize(
    tasks: tuple[str, ...],
    strength: float,
    scale: int = 1,
    target: tuple[str, int] | None = None,
    strengths: tuple[tuple[str, float], ...] = (),
) -> str:
    if not tasks:
        return ""
    if strengths:  # per task: "brighten (gentle); reduce noise (strong)"
        own = dict(strengths)
        labels = []
        for t in tasks:
            word = strength_word(own.get(t, strength))
            label = task_label(t, scale, target)
            labels.append(f"{label} ({word})" if word else label)
        return "; ".join(labels)
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


def _read_head(
    out: HeadOutput, tasks_order: tuple[str, ...], shrink: bool, enlarge: bool = False
) -> tuple[str, tuple[str, ...], dict[str, float], dict[str, float]]:
    """One head output as (kind, tasks, task probabilities, kind probabilities); kind "restore" has tasks.
    `enlarge`: the text asks in so many words for the whole photo bigger (size.asks_to_enlarge), which is
    an enlargement however the head reads it."""
    probs = {t: float(p) for t, p in zip(tasks_order, out.task_probs, strict=True)}
    kinds = {k: float(p) for k, p in zip(KINDS, out.kind_probs, strict=True)}
    kind = max(kinds, key=kinds.__getitem__)
    # "make it smaller" embeds next to "make it bigger": making a photo smaller is never an enlargement.
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
    if enlarge and "upscale" not in tasks:
        kind, tasks = "restore", tuple(t for t in TASKS if t in tasks or t == "upscale")
    return kind, tasks, probs, kinds


def _refusal(text: str, kind: str, reading: Reading | None) -> str:
    """Why nothing will run: an effect, an opposite, everything named was refused, a resize, or off-topic."""
    if reading is not None and reading.chat:
        return MESSAGE_OFFTOPIC
    if reading is not None and reading.effects:
        return MESSAGE_EFFECT
    if reading is not None and reading.opposites:
        what = reading.opposites[0]
        return MESSAGE_OPPOSITE.format(what=what[:1].upper() + what[1:])
    if reading is not None and reading.banned:
        refused = ", ".join(TASK_LABELS[t] for t in TASKS if t in reading.banned)
        return MESSAGE_NOTHING_LEFT.format(refused=refused)
    if asks_to_shrink(text) or asks_to_resize(text):
        return MESSAGE_RESIZE
    return MESSAGE_OFFTOPIC if kind == "offtopic" else MESSAGE_VAGUE


def _decide(
    text: str,
    embedding: np.ndarray,
    out: HeadOutput,
    tasks_order: tuple[str, ...],
    reading: Reading | None = None,
    clause_outs: list[HeadOutput] | None = None,
) -> Interpretation:
    """The interpretation of `text` from the head's reading of the whole (`out`) and, for a prompt with
    structure (compose.read), of each of its clauses."""
    shrink = asks_to_shrink(text)
    kind, tasks, probs, kinds = _read_head(out, tasks_order, shrink, asks_to_enlarge(text))
    scores = {**probs, "offtopic": kinds["offtopic"], "vague": kinds["vague"]}
    strength_probs = out.strength_probs
    clause_strengths: dict[str, float] = {}  # task -> the strength word of the clause that named it
    clause_heard: dict[str, float] = {}  # task -> the head's strength for the clause that named it
    if reading is not None and reading.structured:
        outs = clause_outs or []
        reads = [_read_head(o, tasks_order, shrink) for o in outs]
        # Clauses decide when the whole could not, or when parts of it must be left out; a plain prompt of
        # several clauses that the head reads as a restoration is read whole (a clause of a story alone,
        # "I can't see a thing", can suggest a fault the story does not ask for).
        plain = not (reading.negated or reading.opposites or reading.effects or reading.chat)
        by_clauses = not (plain and kind == "restore")
        named = [tasks_named(clause) for clause in reading.clauses]
        found = [] if by_clauses else _checked_by_clauses(list(tasks), named, outs, reads)
        restoring = []
        for clause, names, clause_out, (part_kind, part_tasks, part_probs, _) in zip(
            reading.clauses, named, outs, reads, strict=True
        ):
            said = explicit_strength(clause)
            for task in (*part_tasks, *names):
                if said is not None:
                    clause_strengths.setdefault(task, said)
                clause_heard.setdefault(task, STRENGTH_LEVELS[int(np.argmax(clause_out.strength_probs))])
            if reading.refusing:  # beside an opposite or an effect, a clause counts for what it names
                part_tasks = tuple(t for t in part_tasks if t in names)
                part_kind = part_kind if part_tasks else "offtopic"
            if by_clauses and part_kind == "restore":
                found.extend(part_tasks)
                restoring.append(clause_out)
                for task, p in part_probs.items():
                    scores[task] = max(scores[task], p) if kind == "restore" else p
        for task in reading.banned:
            scores[task] = 0.0
        tasks = tuple(t for t in TASKS if t in found and t not in reading.banned)
        kind = "restore" if tasks else ("vague" if kind == "restore" else kind)
        if restoring:  # the strength the clauses that ask for something were said with
            strength_probs = np.mean([o.strength_probs for o in restoring], axis=0)
    if kind != "restore":
        return Interpretation(text, (), 0.0, False, _refusal(text, kind, reading), embedding, scores)
    # The head's most likely class: an average of classes would turn "unsure" into "gentle".
    heard = STRENGTH_LEVELS[int(np.argmax(strength_probs))]
    clause_strengths = {t: v for t, v in clause_strengths.items() if t in tasks}
    if clause_strengths:  # a strength word in a clause: each task its clause's, as said or as heard
        strength, strengths = _per_task(tasks, heard, {**clause_heard, **clause_strengths})
    else:
        said_whole = explicit_strength(text)
        strength, strengths = (heard if said_whole is None else said_whole), ()
    strength = round(strength, 3)
    scale, target, notes = 1, None, []
    if "upscale" in tasks:
        factor = requested_factor(text)
        scale = DEFAULT_SCALE if factor is None else supported_scale(factor)
        target = requested_target(text) if factor is None else None
        notes.append(scale_note(factor))
    if shrink:
        notes.append(NOTE_RESIZE)
    if reading is not None:
        notes.extend(NOTE_OPPOSITE.format(what=what) for what in reading.opposites)
        if reading.effects:
            notes.append(NOTE_EFFECT)
    message = f"Understood: {summarize(tasks, strength, scale, target, strengths)}"
    if any(notes):
        message = ". ".join([message, " ".join(note for note in notes if note)])
    return Interpretation(text, tasks, strength, True, message, embedding, scores, scale, target, strengths)


#: In a prompt read whole, a clause adds a task it names in so many words when the head is this sure of both
#: the clause being a request and of the task ("... it's also full of coloured speckles").
CLAUSE_SURE = 0.8


_HeadReading = tuple[str, tuple[str, ...], dict[str, float], dict[str, float]]


def _checked_by_clauses(
    found: list[str], named: list[set[str]], outs: list[HeadOutput], reads: list[_HeadReading]
) -> list[str]:
    """A plain prompt of several clauses read whole, checked against its clauses: a task that a clause names
    and surely asks for is added (a second fault said in passing in a story), and a task that no clause
    names or leans to (p >= 0.5) is dropped (the whole's reading of a story's scene). Measured on development
    stories: +3 of 90, heldout +1 (TRAINING_LOG.md, session 19)."""
    kept = list(found)
    for out, (kind, part_tasks, probs, _), names in zip(outs, reads, named, strict=True):
        restore = float(out.kind_probs[KINDS.index("restore")])
        if kind == "restore" and restore >= CLAUSE_SURE:
            kept += [t for t in part_tasks if probs[t] >= CLAUSE_SURE and t in names and t not in kept]
    support = {t for (_, _, probs, _) in reads for t, p in probs.items() if p >= TASK_THRESHOLD}
    support |= set().union(*named) if named else set()
    return [t for t in kept if t in support]


def _per_task(
    tasks: tuple[str, ...], strength: float, said: dict[str, float]
) -> tuple[float, tuple[tuple[str, float], ...]]:
    """(the prompt's strength, per-task exceptions) when clauses name different strengths for their tasks
    ("brighten it slightly, and remove the noise completely"); a task whose clause named none keeps
    `strength`, and the prompt's strength becomes the strongest asked for."""
    own = {task: said.get(task, strength) for task in tasks}
    if len(set(own.values())) <= 1:
        return next(iter(own.values()), strength), ()
    top = max(own.values())
    return top, tuple((task, value) for task, value in own.items() if value != top)


def _not_english(text: str, embedding: np.ndarray) -> Interpretation | None:
    """The interpretation of a prompt that is not in English (or not in words at all), else None."""
    code = foreign_language(text)
    if code is not None:
        message = MESSAGE_FOREIGN.format(language=language_name(code))
    elif known_share(text) < GIBBERISH_KNOWN_BELOW and (
        len(text.split()) >= GIBBERISH_MIN_WORDS or max(map(len, text.split())) > LONGEST_WORD
    ):
        message = MESSAGE_UNREADABLE
    else:
        return None
    return Interpretation(text, (), 0.0, False, message, embedding, {})


def interpret_many(texts: list[str]) -> list[Interpretation]:
    """interpret() for several instructions at once (one encoder batch for the prompts and their clauses)."""
    results: list[Interpretation | None] = [None] * len(texts)
    readings: dict[int, Reading] = {}
    wholes: dict[int, str] = {}  # each prompt as read: spaces evened, cut to MAX_CHARS, typing slips fixed
    todo = []
    head = get_task_head() if any(t.strip() for t in texts) else None  # a damaged head is the first error
    for i, t in enumerate(texts):
        empty = np.zeros(EMBEDDING_DIM, dtype=np.float32)
        if not t.strip():
            results[i] = Interpretation(t, (), 0.0, False, MESSAGE_EMPTY, empty, {})
            continue
        cleaned = " ".join(t.split())[:MAX_CHARS]
        refused = _not_english(cleaned, empty)
        if refused is not None:
            results[i] = replace(refused, text=t)
            continue
        wholes[i] = correct(cleaned)
        readings[i] = read(wholes[i])
        todo.append(i)
    if not todo:
        return [r for r in results if r is not None]
    # Every distinct string once: the prompts, then the clauses that structured prompts are cut into, then
    # what the network is told for a prompt whose negated or refused parts were taken out.
    strings: dict[str, int] = {}
    for i in todo:
        strings.setdefault(wholes[i], len(strings))
        if readings[i].structured:
            for clause in readings[i].clauses:
                strings.setdefault(clause, len(strings))
            strings.setdefault(_told(readings[i]), len(strings))
    embeddings, tokens = encode_tokens(list(strings))
    embeddings.flags.writeable = False
    assert head is not None
    outs = head.predict(embeddings, tokens)
    for i in todo:
        reading = readings[i]
        whole = strings[wholes[i]]
        clause_outs = [outs[strings[c]] for c in reading.clauses] if reading.structured else None
        told = strings[_told(reading)] if reading.structured and _rewritten(reading) else whole
        decided = _decide(wholes[i], embeddings[told], outs[whole], head.tasks, reading, clause_outs)
        results[i] = replace(decided, text=texts[i])
    return [r for r in results if r is not None]


def _rewritten(reading: Reading) -> bool:
    """The network should not be told the prompt as typed: parts of it ask for what must not be done."""
    return bool(reading.negated or reading.opposites or reading.effects) and bool(reading.clauses)


def _told(reading: Reading) -> str:
    return ", ".join(reading.clauses) if reading.clauses else ""


def interpret(text: str) -> Interpretation:
    """Understand one instruction; empty text -> understood False with a message asking for one."""
    return interpret_many([text])[0]
