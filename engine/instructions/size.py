"""Size words in an instruction: the enlargement factor, a target size, or a request to make a photo smaller.

The task head decides *whether* a prompt asks to enlarge; these rules read *how much*. Like the strength
words, factors and sizes are a closed vocabulary ("4x", "double", "6000 px wide", "for a 4k screen") that a
sentence embedding blurs: "2x" and "4x" embed almost alike. A number is a target only after a word that points
forward ("to", "make it", "for a"): "it's only 800 px wide" is the photo as it is, not the size wanted.
"""

from __future__ import annotations

import re

#: The enlargements the engine offers. A factor in between goes up to the next one: enlarging more and
#: scaling down afterwards loses nothing, enlarging less cannot be made up for.
SUPPORTED_SCALES = (2, 4)
DEFAULT_SCALE = 2
#: (kind, pixels): the width, height, longer or shorter side wanted (engine.restorers.enlarge reads them).
TARGET_KINDS = ("width", "height", "long", "short")

_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8, "ten": 10}
_WORD = "|".join(_NUMBER_WORDS)
_NUM = r"\d+(?:\.\d+)?"

# "4x", "4×", "4 ×" (but not "8x8 blocks" or "4x6 print"); "x2", "×4" (but not "1920x1080").
_FACTOR_AFTER = re.compile(rf"(?<![\w.,])({_NUM})(?:x|\s?×)(?![\w×])(?!\s*\d)", re.IGNORECASE)
_FACTOR_BEFORE = re.compile(
    rf"(?<![\w.,×])[x×]\s?({_NUM})(?![\d.,]*\s*(?:[x×]|cm|mm|in\b|inch|px|pix|mp\b|megapix|dpi|ppi|%))",
    re.IGNORECASE,
)
_FACTOR_OF = re.compile(rf"\bfactor (?:of )?({_NUM}|{_WORD})\b", re.IGNORECASE)
_PERCENT = re.compile(rf"(\bby )?(?<![\w.])({_NUM})\s?(?:%|per ?cent\b)", re.IGNORECASE)
_TIMES = re.compile(rf"(?<![\w.])({_NUM}|{_WORD})\s*-?\s*(?:times|fold)\b", re.IGNORECASE)
_MULTIPLY = re.compile(
    r"\b(doubl(?:e[ds]?|ing)|twice|tripl(?:e[ds]?|ing)|quadrupl(?:e[ds]?|ing))\b", re.IGNORECASE
)
_MULTIPLY_VALUES = {"doubl": 2, "twice": 2, "tripl": 3, "quadr": 4}
# What makes "four times", "double" or "twice" about size ("double the resolution", "four times bigger"),
# not about something else ("saved it four times", "double chin", "double exposure").
_SIZE_AFTER = re.compile(
    r"\s*(?:(?:bigger|larger|higher|wider|taller)\b|(?:the|its|in|my)\s+(?:original\s+|current\s+)?"
    r"(?:size|res\w*|pixels?|pixel count|width|height|dimensions?|scale)\b|as\s+(?:big|large|wide|tall|high|"
    r"many|much|detailed)\b|(?:size|res\w*|up|it|this|that)\b|the\s+(?:photo|image|picture|pic)\b)",
    re.IGNORECASE,
)
# ... or a verb of enlarging just before it ("enlarge it four times", "scale up by a factor of 3").
_VERB_BEFORE = re.compile(
    r"\b(?:upscal\w*|up-?scal\w*|enlarg\w*|upsiz\w*|upsampl\w*|up-?res\w*|super-?resol\w*|magnif\w*|"
    r"blow(?:n|ing)?(?: it| this)? up|scal\w*(?: it| this)? up|resiz\w*|"
    r"increas\w*(?: the| its)? (?:size|res\w*)|"
    r"make (?:it|this)(?: bigger| larger)?)(?:\s+(?:it|this|by|up|about|around|roughly|a|factor|of))*\s+$",
    re.IGNORECASE,
)
# "make it much bigger", "make it huge", "a billboard print": enlarge as far as the engine goes.
_MUCH_BIGGER = re.compile(
    r"\b(?:much|way|a lot|far|lots|massively|hugely|significantly|considerably|so much)\s+"
    r"(?:bigger|larger)\b|"
    r"\bmake (?:it|this|the (?:photo|image|picture|pic)) (?:huge|enormous|giant|gigantic)\b|"
    r"\b(?:huge|enormous|giant|gigantic|billboard)[- ](?:print|poster|canvas|banner|size)\b|\bbillboard\b",
    re.IGNORECASE,
)

# ---------------------------------------------------------------- target sizes

_PIXELS = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?k?)"  # 6000, 6,000, 6k
# Words right before a number that make it the size wanted ("enlarge to 6000 px", "make it 3000 pixels tall").
_TARGET_CUE = re.compile(
    r"\b(?:to|into|make (?:it|this)|get (?:it|this)|need(?: it| this)?|want(?: it| this)?|be|"
    r"so (?:that )?it'?s|until it'?s|reach(?:es)?|hits?|at least|upscal\w*|enlarg\w*|resiz\w*|"
    r"scale(?: it)?(?: up)?|"
    r"blow (?:it|this) up(?: to)?|upsampl\w*)\s+(?:(?:an?|about|around|roughly|approximately|approx\.?|"
    r"at least|~)\s*)*$",
    re.IGNORECASE,
)
_PRINT_CUE = re.compile(
    r"\b(?:to|for|at|as|on|make (?:it|this)|print(?:ed|ing)?(?: it| this)?(?: at| on| as)?)\s+"
    r"(?:(?:an?|my|the)\s+)*$",
    re.IGNORECASE,
)
_SCREEN_SOURCE = re.compile(
    r"\b(?:from|of|off|out of|is|was|it'?s|its|it is|already|shot in|filmed in)\s+(?:an?\s+)?$"
)
_AXIS = (
    (r"wide|across|in width|horizontally|(?:of )?width", "width"),
    (r"tall|high|in height|vertically|(?:of )?height", "height"),
    (r"on the (?:long|longest|longer) (?:side|edge)|(?:long|longest) (?:side|edge)", "long"),
    (r"on the (?:short|shortest|shorter) (?:side|edge)|(?:short|shortest) (?:side|edge)", "short"),
)
_PIXELS_AXIS = re.compile(
    rf"{_PIXELS}\s*(?:px|pixels?|pix)?\s*(?:(?:in|of)\s+)?(?:({_AXIS[0][0]})|({_AXIS[1][0]})|({_AXIS[2][0]})|"
    rf"({_AXIS[3][0]}))\b",
    re.IGNORECASE,
)
_AXIS_OF = re.compile(
    rf"\b(width|height|long side|long edge|short side|short edge) of\s+{_PIXELS}\b", re.IGNORECASE
)
_PIXELS_PLAIN = re.compile(rf"{_PIXELS}\s*(?:px|pixels?|pix)\b", re.IGNORECASE)
_PIXELS_BOTH = re.compile(r"(\d{3,5})\s*[x×]\s*(\d{3,5})(?:\s*(?:px|pixels?))?\b", re.IGNORECASE)
#: Screen and video standards, by the pixels on their long side.
_SCREENS = re.compile(
    r"\b(8k|4320p|5k|4k|uhd|ultra hd|2160p|2k|qhd|wqhd|1440p|full ?hd|fhd|1080p|720p)\b", re.IGNORECASE
)
_SCREEN_SIDES = {
    "8k": 7680, "4320p": 7680, "5k": 5120, "4k": 3840, "uhd": 3840, "ultra hd": 3840, "2160p": 3840,
    "2k": 2560, "qhd": 2560, "wqhd": 2560, "1440p": 2560, "full hd": 1920, "fullhd": 1920, "fhd": 1920,
    "1080p": 1920, "720p": 1280,
}  # fmt: skip
_PRINT_SIZE = re.compile(
    rf"({_NUM})\s*(?:cm|mm|in|inch|inches|\")?\s*(?:[x×]|by)\s*({_NUM})\s*(cm|mm|in|inch|inches|\")(?!\w)",
    re.IGNORECASE,
)
_DPI = re.compile(r"(\d{2,4})\s*(?:dpi|ppi)\b", re.IGNORECASE)
_PAPER = re.compile(r"\ba([0-4])\b", re.IGNORECASE)
_PAPER_CONTEXT = re.compile(r"\b(?:print\w*|poster|paper|sheet|canvas|frame)\b", re.IGNORECASE)
_PAPER_LONG_MM = {0: 1189, 1: 841, 2: 594, 3: 420, 4: 297}
#: Prints are made at this many dots per inch unless the prompt says otherwise.
PRINT_DPI = 300

# ---------------------------------------------------------------- making it smaller

# A request to make the photo smaller: a resize (or an export setting), never a restoration.
_SHRINK = re.compile(
    r"\b(?:shrink\w*|downscal\w*|down-scal\w*|downsiz\w*|downsampl\w*|scale (?:it |this |the \w+ )?down|"
    r"size (?:it |this )?down|resiz\w* (?:it |this )?(?:down|smaller)|"
    r"(?:reduce|lower|decrease|cut|halve|shrink)\s+(?:the |its )?"
    r"(?:size|resolution|res|dimensions|pixel count|number of pixels|file ?size|megapixels)\b"
    # "reduce the size of the photo", not "reduce the size of the grain"
    r"(?!\s+of\s+(?!(?:the |this |my )?(?:photo|image|picture|pic|file)\b))|halve it|"
    r"half (?:the|its) (?:size|resolution|width|height)|"
    r"make (?:it|this|the (?:photo|image|picture|pic|file|file size|resolution))(?: \w+)? (?:smaller|tinier)|"
    r"make the file(?: size)? lighter|smaller (?:file|version|size|copy|image|photo|resolution)|"
    r"compress (?:it|this|the (?:photo|image|file))|"
    r"(?:fit|fits) in an? (?:email|e-mail))",
    re.IGNORECASE,
)
# A resize with no direction ("resize to 1080 px") is answered as one too, but does not undo an enlargement.
_RESIZE = re.compile(r"\bre-?siz\w*", re.IGNORECASE)
# Words that say the size should go up after all ("resize it bigger", "make it bigger, not smaller").
_ENLARGE = re.compile(
    r"\b(?:bigger|larger|enlarg\w*|upscal\w*|up-?scal\w*|upsiz\w*|upsampl\w*|up-?res\w*|"
    r"blow (?:it|this) up|increase (?:the |its )?(?:size|resolution|res|dimensions|pixel)|super-?resol\w*|"
    r"doubl\w*|quadrupl\w*)\b",
    re.IGNORECASE,
)


def supported_scale(factor: float) -> int:
    """The enlargement the engine runs for a requested factor: 2 up to ×2, else 4 (the most it offers)."""
    return SUPPORTED_SCALES[0] if factor <= SUPPORTED_SCALES[0] else SUPPORTED_SCALES[-1]


def _number(text: str) -> float:
    word = _NUMBER_WORDS.get(text.lower())
    return float(word) if word is not None else float(text)


def _multiply_is_about_size(text: str, match: re.Match[str]) -> bool:
    before = text[max(0, match.start() - 40) : match.start()]
    return bool(_SIZE_AFTER.match(text, match.end()) or _VERB_BEFORE.search(before))


def requested_factor(text: str) -> float | None:
    """The enlargement factor the text names ("4x" -> 4.0, "double" -> 2.0, "150%" -> 1.5), or None.

    When several are named, the first one counts. "much bigger" and "huge" count as 4 when no number is given.
    """
    found: list[tuple[int, float]] = []
    for pattern in (_FACTOR_AFTER, _FACTOR_BEFORE, _FACTOR_OF):
        found += [(m.start(), _number(m.group(1))) for m in pattern.finditer(text)]
    for m in _PERCENT.finditer(text):
        value = float(m.group(2)) / 100
        factor = 1 + value if m.group(1) else value
        if factor > 1:  # "50%" on its own is a reduction: the resize rule's business
            found.append((m.start(), factor))
    for m in _TIMES.finditer(text):
        if _multiply_is_about_size(text, m):
            found.append((m.start(), _number(m.group(1))))
    for m in _MULTIPLY.finditer(text):
        word = m.group(1).lower()
        if word.startswith("quadr") or _multiply_is_about_size(text, m):
            found.append((m.start(), float(_MULTIPLY_VALUES[word[:5]])))
    found = [(start, factor) for start, factor in found if factor > 0]
    if found:
        return min(found)[1]
    if _MUCH_BIGGER.search(text):
        return float(SUPPORTED_SCALES[-1])
    return None


def scale_note(factor: float | None) -> str:
    """A sentence for the user when the factor asked for is not one the engine runs; "" otherwise."""
    if factor is None or factor in SUPPORTED_SCALES:
        return ""
    scale = supported_scale(factor)
    asked = f"×{factor:g}"
    if factor > SUPPORTED_SCALES[-1]:
        return f"{asked} is more than PhotoMend enlarges at once: enlarging ×{scale}, the most it offers."
    if factor < 1:
        return ""
    if scale > factor:
        return f"{asked} is not offered: enlarging ×{scale} (scale it down afterwards for exactly {asked})."
    return f"{asked} is not offered: enlarging ×{scale}."


def _pixels(text: str) -> int:
    text = text.replace(",", "").lower()
    return round(float(text[:-1]) * 1000) if text.endswith("k") else round(float(text))


def _cued(text: str, start: int, cue: re.Pattern[str] = _TARGET_CUE) -> bool:
    return bool(cue.search(text[max(0, start - 40) : start]))


def requested_target(text: str) -> tuple[str, int] | None:
    """The size the text asks the photo to reach, as (kind, value) with kind in TARGET_KINDS, or None.

    "enlarge to 6000 px wide" -> ("width", 6000); "make it 3000 pixels tall" -> ("height", 3000);
    "for a 4k screen" -> ("long", 3840); "print at 30x40 cm at 300 dpi" -> ("long", 4724) (300 dpi when no
    resolution is given). Megapixels are not read: the engine enlarges to the length of a side.
    """
    found: list[tuple[int, tuple[str, int]]] = []
    for m in _PIXELS_AXIS.finditer(text):
        if _cued(text, m.start()):
            kind = next(k for (_, k), g in zip(_AXIS, m.groups()[1:], strict=True) if g)
            found.append((m.start(), (kind, _pixels(m.group(1)))))
    for m in _AXIS_OF.finditer(text):
        axis = m.group(1).lower()
        kind = axis.split()[0]
        found.append((m.start(), (kind, _pixels(m.group(2)))))
    for m in _PIXELS_BOTH.finditer(text):
        if _cued(text, m.start()):
            found.append((m.start(), ("long", max(int(m.group(1)), int(m.group(2))))))
    for m in _PIXELS_PLAIN.finditer(text):
        if _cued(text, m.start()) and not any(start <= m.start() < start + 20 for start, _ in found):
            found.append((m.start(), ("long", _pixels(m.group(1)))))
    for m in _SCREENS.finditer(text):
        if not _SCREEN_SOURCE.search(text[max(0, m.start() - 20) : m.start()].lower()):
            found.append((m.start(), ("long", _SCREEN_SIDES[" ".join(m.group(1).lower().split())])))
    for m in _PRINT_SIZE.finditer(text):
        if _cued(text, m.start(), _PRINT_CUE):
            unit = m.group(3).lower()
            per_inch = 2.54 if unit == "cm" else 25.4 if unit == "mm" else 1.0
            dpi = _DPI.search(text, m.end())
            inches = max(float(m.group(1)), float(m.group(2))) / per_inch
            found.append((m.start(), ("long", round(inches * (int(dpi.group(1)) if dpi else PRINT_DPI)))))
    if _PAPER_CONTEXT.search(text):
        for m in _PAPER.finditer(text):
            dpi = _DPI.search(text)
            side = _PAPER_LONG_MM[int(m.group(1))] / 25.4 * (int(dpi.group(1)) if dpi else PRINT_DPI)
            found.append((m.start(), ("long", round(side))))
    # A pixel count under 64 is a misread ("to 3 wide"), not a size anyone enlarges to.
    found = [(start, target) for start, target in found if target[1] >= 64]
    return min(found)[1] if found else None


def describe_target(target: tuple[str, int]) -> str:
    """ "6000 px wide", "3840 px on the long side"."""
    kind, value = target
    return {
        "width": f"{value} px wide",
        "height": f"{value} px tall",
        "long": f"{value} px on the long side",
        "short": f"{value} px on the short side",
    }[kind]


def asks_to_shrink(text: str) -> bool:
    """Whether the text asks to make the photo (or its file) smaller, and not also bigger."""
    return bool(_SHRINK.search(text)) and not _ENLARGE.search(text)


# The whole photo made bigger, said in so many words: "make the whole photo bigger", "enlarge this picture",
# "blow it up". Not a part of it ("make her face bigger", "make the text larger": the head's near misses).
_WHOLE_BIGGER = re.compile(
    r"\b(?:(?:make|get|scale|resize|blow)\s+(?:it|this|the (?:whole |entire |full )?"
    r"(?:photo|picture|image|pic|shot|file|scan|print))\s+(?:bigger|larger|up)|"
    r"(?:enlarge|upscale|upsize)\s+(?:it|this|the (?:whole |entire )?"
    r"(?:photo|picture|image|pic|shot|file|scan)))\b",
    re.IGNORECASE,
)


def asks_to_enlarge(text: str) -> bool:
    """Whether the text asks in so many words to make the whole photo bigger (and not also smaller)."""
    return bool(_WHOLE_BIGGER.search(text)) and not _SHRINK.search(text)


def asks_to_resize(text: str) -> bool:
    """Whether the text asks for a smaller photo or a resize that does not say it should be bigger."""
    return asks_to_shrink(text) or (bool(_RESIZE.search(text)) and not _ENLARGE.search(text))
