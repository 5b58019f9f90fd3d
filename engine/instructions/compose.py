"""How the parts of an instruction combine: clauses, negation, opposites and requests to add an effect.

The task head reads a whole prompt as one sentence embedding. That is right for "it's dark and grainy", but
an embedding has no grammar: "don't denoise, just brighten" sits next to "denoise and brighten", "too
bright" next to "too dark", and two clear clauses ("it's way too dark, brighten it") can land between
prompts the head saw. This module reads the structure with rules over a closed vocabulary and leaves the
meaning of each part to the head:

- a prompt is cut into clauses at sentence punctuation, commas and contrast words ("but", "just", "then");
- a negated stretch ("don't denoise", "it's not dark at all", "without losing detail") is taken out of what
  the head reads; when it names a fault ("keep the grain", "the exposure is fine") that task is *banned*,
  however strongly another clause or the whole prompt seems to ask for it;
- "not sharp", "not bright enough" are faults stated, not negations: they stay;
- an opposite ("too bright", "oversharpened", "too smooth") or a request to add an effect ("put rain drops
  on the lens", "add film grain") asks for the reverse of a restoration: its clause adds no task, bans the
  task it names, and the prompt says why when nothing else is asked.

All matching is on lower-cased text with curly apostrophes straightened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Words that name a fault (or the restoration of one), per task: what a negated, kept, added or opposite
#: stretch is about. Closed and short on purpose: anything not here is left to the head.
FAULT_WORDS = {
    "denoise": r"nois[ey]|noisier|grain(s|y|iness)?|grainier|denois\w*|speckl\w*|specks?|iso noise|static",
    "deblur": r"blur\w*|deblur\w*|sharp(en\w*|er|ness)|focus(ed)?|unfocused|shak(e|y|ing)|motion blur",
    "dehaze": r"haz[ey]|hazier|dehaz\w*|fog(gy|gier)?|mist(y)?|smog",
    "derain": r"rain\w*|derain\w*",
    "lowlight": r"dark(er|ness)?|underexposed|under-exposed|brighten\w*|bright(er|ness)?|lighten\w*|exposure",
    "jpeg": r"jpe?g|compression|compressed|artefacts?|artifacts?|block(s|y|iness)?",
    "upscale": r"bigger|larger|enlarg\w*|upscal\w*|upsiz\w*|resolution|upres\w*|full[- ]?(?:size|res\w*)|"
    r"hi(?:gh)?[- ]?res\w*|[48]k",
}
_FAULT = {task: re.compile(rf"\b({words})\b") for task, words in FAULT_WORDS.items()}

# Where a clause ends. "and" does not end one: "salt and pepper", "black and white", "dark and grainy".
_CLAUSE_BREAK = re.compile(
    r"[.;!?\n]+|,|\s+-+\s+|—|–|\b(?:but|just|only|instead|rather|then|though|although|however|also|"
    r"plus|except)\b"
)
# A negation's reach ends at the next clause break (or at "and" + a new verb: "don't crop and brighten it"
# stays one stretch, which is safe: its tasks are banned only when named).
_NEGATION = re.compile(
    r"\b(?:do\s*n[o']?t|dont|does\s*n[o']?t|doesnt|did\s*n[o']?t|never|no need (?:to|for)|needn'?t|avoid|"
    r"stop|without|not(?! only| just)|is\s*n'?t|isnt|are\s*n'?t|arent|was\s*n'?t|wasnt|ain'?t|"
    r"nothing (?:is )?wrong with|no (?:problems?|issues?) with|"
    # "there's no rain in shot"
    r"no (?=(?:[a-z]+ ){1,2}in (?:the |this |my )?(?:shot|frame|photo|picture|image)\b)|"
    # "no denoising, no sharpening": "no" before a restoration itself ("no light" is a fault: not here)
    r"no (?=(?:more |extra |further )?(?:denois|sharpen|deblur|upscal|enlarg|brighten|lighten|dehaz|"
    r"noise reduction|resiz)))\b"
)
# After a copula's "not", these state a fault ("it's not sharp" = blurry), so the stretch stays as it is.
_QUALITIES = re.compile(
    r"^(?:\s*(?:at all|very|really|that|too|quite|so|even|particularly|in|very much))*\s*"
    r"(sharp|crisp|clear|focused|in focus|bright|light|lit|visible|clean|detailed|big|large|high|good|great|"
    r"exposed|well|properly|enough|sharply)\b"
)
_COPULA_NEGATION = re.compile(r"^(?:not|is\s*n'?t|isnt|are\s*n'?t|arent|was\s*n'?t|wasnt|ain'?t)$")
# "keep the grain", "leave the noise alone", "I like the fog": what follows names something to keep as it is.
_KEEP = re.compile(
    r"\b(?:keep|leave|preserve|retain|maintain|don'?t lose|"
    r"(?:i|we) (?:really |actually |just )?(?:like|love|loved|liked|prefer|want to keep|wanted))\b"
)
# A negated or kept stretch ends at the next of these (or at the clause's end).
_SCOPE_END = re.compile(r"\b(?:and|so|because|since|as|which|now|while|therefore)\b")
# "… but that's not in the shot": the clause before is not what needs fixing.
_REFERS_BACK = re.compile(
    r"^(?:and |but )?(?:that|this|it|which)(?:'s| is| was|s)? (?:not|n't|isn't|wasn't|isnt|wasnt) "
    r"(?:really |actually )?(?:(?:in|part of) (?:the |my )?(?:shot|photo|picture|frame|image|pic)|"
    r"(?:the|a|an) (?:problem|issue)|visible|what (?:i|i'm) (?:mean|want fixed|asking))\b"
    # "it's slightly blurry but I don't mind that", "... but that's intentional"
    r"|^(?:and |but )?(?:i|we) (?:don'?t|do not|really don'?t) (?:mind|care about) (?:that|it|this)\b"
    r"|^(?:and |but )?(?:that|this|it)(?:'s| is| was) (?:fine|ok|okay|intentional|deliberate|on purpose)\b"
    r"|^(?:and |but )?(?:i|we) (?:don'?t|do not) mind$"
    r"|^(?:and |but )?(?:i'm|i am|we're|we are) (?:okay|ok|fine|happy) with (?:that|it|this)\b"
    r"|^(?:so |please |just )?leave (?:it|that|this)(?: alone| as it is)?$"
    r"|^(?:so )?(?:there's |that's )?(?:no|not an?) (?:issue|problem)s?(?: there)?$"
)
# "the exposure is fine": the fault named before it needs nothing.
_FINE = re.compile(
    r"\b(?:is|are|looks?|seems?|'s|'re|was|were)\s+(?:fine|ok|okay|good|great|perfect|alright|all right|"
    r"acceptable|intentional|deliberate|on purpose|artistic|"
    r"(?:part of|the whole|all) (?:the )?(?:point|look|mood|style|charm|atmosphere|vibe|fun|magic)|"
    r"what (?:i|we) (?:wanted|want|like|love)|the vibe|staying|to stay|stays|lovely|gorgeous|beautiful|"
    r"magical|moody|atmospheric|"
    r"not (?:the|a|an) (?:problem|issue)|no (?:problem|issue)|"
    r"not (?:bothering|bugging|bothered)|(?:doesn'?t|don'?t|does not|do not) (?:bother|bug))\b"
    r"|\b(?:isn'?t|aren'?t|wasn'?t|doesn'?t|don'?t) (?:bother(?:ing)?|bug(?:ging)?) (?:me|us)\b"
)
# Said of a fault, these mark it as wanted however long its description ("the motion blur on the cyclist
# is intentional"): no request says them of what it wants fixed.
_WANTED = re.compile(r"\b(?:is|are|was|were|'s)\s+(?:intentional|deliberate|on purpose)\b")
_WANTED_SUBJECT_WORDS = 8
# "sunny day, perfect exposure": a fault's quality praised before its name.
_GOOD_NOUN = re.compile(
    r"\b(?:perfect|perfectly fine|great|good|fine|correct|spot-on|nice) (?:exposure|focus|colou?rs?|detail|"
    r"resolution|size|sharpness)\b"
)

# "the exposure is fine" names its subject in a few words; "enhance it so it looks good" is no subject.
_FINE_SUBJECT_WORDS = 4

#: Asking for the opposite of a restoration: (pattern, the task it would be mistaken for, what it is).
_OPPOSITES = (
    (
        re.compile(
            r"\b(?:too (?:bright|light|white)|over\s*-?\s*exposed?|overexposure|blown[- ]out|"
            r"blown highlights|burn(?:t|ed) out|washed out by (?:the )?(?:sun|flash)|darken(?: it| the \w+)?|"
            r"make it darker|(?:dim|tone) (?:it|them|this|the \w+) (?:right )?down|"
            r"make (?:it|them|the \w+) (?:deep and )?dark(?:er)? again)\b"
        ),
        "lowlight",
        "darkening an overexposed photo",
    ),
    (
        re.compile(
            r"\b(?:too sharp|over\s*-?\s*sharpen(?:ed|ing)?|too much sharpening|sharpening halos?|halos?|"
            r"too crisp|soften (?:it|the (?:photo|picture|image|edges))|make it softer)\b"
        ),
        "deblur",
        "softening an oversharpened photo",
    ),
    (
        re.compile(
            r"\b(?:too (?:smooth|clean|plastic(?:ky)?|waxy)|plastic(?:ky)?|waxy|"
            r"over\s*-?\s*smooth(?:ed|ing)?|too much (?:noise reduction|denoising|smoothing))\b"
        ),
        "denoise",
        "undoing too much noise reduction",
    ),
    (
        re.compile(
            r"\b(?:too (?:much )?contrast(?:y)?|(?:reduce|lower|less) (?:the )?contrast|"
            r"crushed (?:shadows|blacks)|(?:shadows|blacks) (?:are|look) crushed|too punchy|"
            r"too saturated|over\s*-?\s*saturated)\b"
        ),
        "lowlight",
        "toning down contrast or colour",
    ),
)

_EFFECT_OBJECTS = (
    r"(?:a |some |more |the |an |extra |fake |film |artificial |heavy |light |slight |nice |bit of |"
    r"little |touch of |hint of |lot of )*"
    r"(?:blur|bokeh|grain|noise|rain|rain ?drops|water ?drops|droplets|drops|fog|haze|mist|smoke|vignette|"
    r"lens flares?|flares?|light leaks?|dust|scratches|snow|glow|motion blur|streaks)"
)
_EFFECTS = re.compile(
    r"\b(?:add|adding|put|putting|apply|applying|insert|throw in|simulate|create|introduce|fake|overlay|"
    r"sprinkle|give (?:it|me|the (?:photo|picture|image|shot)|this))\s+" + _EFFECT_OBJECTS + r"\b"
    r"|\bblur (?:out )?(?:the |my |his |her |their )?(?:background|bg|backdrop|face|faces|plate|edges|"
    r"people|crowd|rest|surroundings)\b"
    r"|\bmake (?:it|the \w+|this)(?: look)? (?:more )?(?:blurr(?:y|ier)|grainier|noisier|foggier|hazier|"
    r"moodier|dreamier|rainy|foggy|hazy|grainy|noisy|vintage|old|retro)\b"
    r"|\b(?:make (?:it|this|the \w+)|(?:i want|i'd like) (?:it|this) to) look (?:like |as if )?"
    r"(?:an? |it was |it's )?(?:[a-z-]+,? ){0,3}?(?:old|vintage|retro|analog(?:ue)?|film|polaroid|lomo|"
    r"glitch\w*|grainy|blurry|hazy|foggy|rainy|dreamy|moody|faded|compressed|lo-?fi|underexposed|pixelated)\b"
)

# A question about photography, or a request to write or judge something, is not a request to restore the
# photo: "is this photo too dark to print?", "what ISO should I use at night?", "write a caption for my foggy
# lake photo". A question that also asks for something ("can you", "please", "fix") is a request.
_QUESTION = re.compile(
    r"^(?:what(?! a | an )|which|why do|why does|why are|when|where|who|is|are|was|were|should|"
    r"do (?:i|you|we|they|my|these|those)|does|did|any tips|tips)\b[^?]*\?"
)
_ASKS = re.compile(
    r"\b(?:can you|could you|would you|will you|please|pls|plz|help|fix|remove|clean|sharpen|brighten|"
    r"lighten|denoise|deblur|dehaze|enhance|restore|make it|get rid|rescue|save it|improve|reduce|clear|"
    r"upscale|enlarge)\b"
)
_NOT_A_RESTORATION = re.compile(
    r"\b(?:(?:write|compose|draft|suggest|come up with|give me|think of|create) (?:me )?"
    r"(?:a |an |some |the )?(?:[a-z'-]+,? ){0,3}?(?:caption|title|post|note|"
    r"description|poem|story|tagline|hashtags?|text|message|name|tweet|bio)s?|"
    r"tell me (?:what|why|which|how|where|who|if)|"
    r"(?:can|could) you (?:guess|tell|explain|identify|recognise|recognize|rate|judge|compare)|"
    r"which (?:of these|one) is|i don'?t need it fixed|just curious)\b"
)

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Left in a clause once a negation is taken out, these carry no request of their own.
_FILLER = frozenset(
    {"a", "an", "the", "it", "its", "it's", "this", "that", "please", "pls", "just", "only", "and", "so"}
    | {"also", "to", "of", "is", "be", "do", "i", "me", "my"}
)


@dataclass
class Reading:
    """What the rules found in one prompt."""

    clauses: list[str]  # the parts the head should read, negated stretches taken out
    banned: set[str] = field(default_factory=set)  # tasks the prompt asks not to do
    opposites: list[str] = field(default_factory=list)  # "darkening an overexposed photo", ...
    effects: list[str] = field(default_factory=list)  # the clauses asking to add an effect
    negated: bool = False  # a negation or a "keep" was taken out
    chat: bool = False  # a question about photography or a request to write or judge: not a restoration

    @property
    def structured(self) -> bool:
        """More than the whole prompt as one sentence is needed."""
        return len(self.clauses) != 1 or self.negated or self.chat or bool(self.opposites or self.effects)

    @property
    def refusing(self) -> bool:
        """Part of the prompt asks for the reverse of a restoration (an opposite or an effect): a clause that
        names no fault of its own ("you can't see any detail", "recover it") is about that part."""
        return bool(self.opposites or self.effects)


def normalise(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").replace("\u2018", "'").split())


def tasks_named(text: str) -> set[str]:
    """The tasks whose fault words appear in `text`."""
    return {task for task, pattern in _FAULT.items() if pattern.search(text)}


def split_clauses(text: str) -> list[str]:
    """`text` cut at sentence punctuation, commas and contrast words; empty parts dropped."""
    parts = [part.strip() for part in _CLAUSE_BREAK.split(text)]
    return [part for part in parts if part and _WORD.search(part)]


def _has_content(text: str) -> bool:
    return any(word not in _FILLER for word in _WORD.findall(text))


def _scope(clause: str, start: int) -> int:
    """Where a negated or kept stretch that starts at `start` ends: at the next "and", "so", "because" ...
    ("the museum didn't allow flash so it's murky"), else at the clause's end."""
    stop = _SCOPE_END.search(clause, start)
    return stop.start() if stop else len(clause)


def _take_negations(clause: str, reading: Reading) -> str:
    """`clause` without its negated stretches; the faults they name go to `reading.banned`."""
    kept, position = clause, 0
    while match := _NEGATION.search(clause, position):
        cue, end = match.group(0), _scope(clause, match.end())
        rest = clause[match.end() : end]
        position = max(end, match.end())
        if _COPULA_NEGATION.match(cue) and _QUALITIES.match(rest):
            continue  # "not sharp", "isn't bright enough": a fault, said the other way round
        reading.negated = True
        if cue != "without":  # "brighten it without losing detail": nothing named is refused
            reading.banned |= tasks_named(rest)
        kept = kept.replace(clause[match.start() : end], " ", 1)
    return kept


def _take_kept(clause: str, reading: Reading) -> str:
    """`clause` without what it asks to keep ("keep the grain", "I like the fog", "leave the noise alone");
    the faults named there go to `reading.banned`."""
    kept, position = clause, 0
    while match := _KEEP.search(clause, position):
        end = _scope(clause, match.end())
        position = max(end, match.end())
        reading.negated = True
        reading.banned |= tasks_named(clause[match.end() : end])
        kept = kept.replace(clause[match.start() : end], " ", 1)
    return kept


def _refers_back(clause: str) -> bool:
    """ "… but that's not in the shot", "that isn't the problem": the clause before it is no request."""
    return bool(_REFERS_BACK.match(clause))


def _take_fine(clause: str, reading: Reading) -> str:
    """`clause` without the faults it says are fine or wanted ("the exposure is fine", "the motion blur on
    the cyclist is intentional"), which go to `reading.banned`; what follows such a statement after "and" or
    "so" is read on ("the noise isn't bothering me and the focus is soft")."""
    while good := _GOOD_NOUN.search(clause):
        reading.negated = True
        reading.banned |= tasks_named(good.group(0))
        clause = clause[: good.start()] + " " + clause[good.end() :]
    while True:
        fine = _FINE.search(clause)
        wanted = _WANTED.search(clause)
        if wanted and len(clause[: wanted.start()].split()) <= _WANTED_SUBJECT_WORDS:
            fine = wanted
        longest = _WANTED_SUBJECT_WORDS if fine is wanted else _FINE_SUBJECT_WORDS
        if not fine or len(clause[: fine.start()].split()) > longest:
            return clause
        reading.negated = True
        reading.banned |= tasks_named(clause[: fine.start()])
        clause = re.sub(r"^\s*(?:and|so)\b", "", clause[_scope(clause, fine.end()) :])


def read(text: str) -> Reading:
    """The structure of one instruction (see the module docstring)."""
    reading = Reading(clauses=[])
    whole = normalise(text)
    if _NOT_A_RESTORATION.search(whole) or (_QUESTION.match(whole) and not _ASKS.search(whole)):
        reading.chat = True
        return reading
    previous: str | None = None  # the last clause kept for the head, and the faults it named
    for clause in split_clauses(whole):
        if _refers_back(clause):
            reading.negated = True
            if previous is not None:
                reading.banned |= tasks_named(previous)
                reading.clauses.remove(previous)
                previous = None
            continue
        clause = _take_fine(clause, reading)
        if not _has_content(clause):
            continue
        clause = _take_negations(_take_kept(clause, reading), reading)
        if _EFFECTS.search(clause):
            reading.effects.append(" ".join(clause.split()))
            reading.banned |= tasks_named(clause)
            continue
        opposite = next(((task, what) for pattern, task, what in _OPPOSITES if pattern.search(clause)), None)
        if opposite is not None:
            task, what = opposite
            if what not in reading.opposites:
                reading.opposites.append(what)
            reading.banned.add(task)
            continue
        if _has_content(clause):
            previous = " ".join(clause.split())
            reading.clauses.append(previous)
    return reading
