"""Third round of the corpus (issue 26): everyday images for faults, prompts of two clauses, style words.

Held-out users described faults by what they look like or by what would have prevented them; they wrote a
symptom and a request as two clauses; and short style words ("glitch aesthetic") landed on a fault. The
issue's own examples (resources/prompts/issue26_examples.jsonl) are kept out of the corpus like the other
test sets, so that they test the head rather than recite it. These lists are grouped by what they look
like, not by sentence: each image is combined with many frames in training.prompts.generate.
"""

from __future__ import annotations

#: What a fault looks like, per task (a noun phrase that fits "it looks like ___" and "___ all over it").
LOOKS_LIKE = {
    "denoise": (
        "pepper ground over it",
        "black and white sprinkles",
        "sand sprinkled on it",
        "sandpaper",
        "TV static",
        "old TV snow",
        "a swarm of ants",
        "coloured confetti",
        "dust everywhere",
        "a pointillist painting",
        "tiny coloured freckles",
        "a grainy newspaper print",
        "a fizzy soda",
        "sugar crystals",
        "a dirty sensor full of speckles",
        "pixel fuzz",
        "crawling ants in the shadows",
        "sprinkles on a cake",
    ),
    "deblur": (
        "a foggy shower door",
        "a smeared lens",
        "vaseline on the lens",
        "a ghost of itself",
        "a double exposure of the same thing",
        "someone shook the camera",
        "a watercolour that ran",
        "a dream sequence",
        "it was taken through a bathroom window",
        "a photo of a photo that moved",
        "mush",
        "soup with no edges",
        "trails behind everything",
        "the subject is vibrating",
        "my glasses are off",
        "a bad eye test",
    ),
    "dehaze": (
        "a veil over everything",
        "milk was poured over it",
        "pea soup",
        "a steamed-up window",
        "a dirty window",
        "a sheet of tracing paper",
        "wet cotton wool",
        "a smoke-filled room",
        "a washed-out postcard",
        "a cloud swallowed the city",
        "a grey blanket over the hills",
    ),
    "derain": (
        "scratches all over it from the rain",
        "white lines slashing across it",
        "streaks of drizzle",
        "a barcode of rain",
        "a shower curtain of rain",
        "needles falling from the sky",
        "a downpour drawn with a ruler",
        "rain stripes",
    ),
    "lowlight": (
        "a cave",
        "the inside of a cupboard",
        "a black hole",
        "midnight in a coal mine",
        "someone switched the lights off",
        "a dungeon",
        "a murky pond",
        "the bottom of a well",
        "sunglasses were on the lens",
        "a blackout",
    ),
    "jpeg": (
        "duplo blocks",
        "it's built from toy bricks",
        "minecraft",
        "a mosaic",
        "a checkerboard",
        "bathroom tiles",
        "an 8-bit game",
        "little squares everywhere",
        "a staircase on every edge",
        "a photocopy of a photocopy",
        "a fax",
        "a screenshot of a screenshot",
        "a low-quality meme",
        "it went through whatsapp ten times",
        "a dodgy stream",
        "pixel soup",
    ),
}

#: Frames for an image: "{m}" is a LOOKS_LIKE phrase.
LOOK_FRAMES = (
    "it looks like {m}",
    "looks like {m}",
    "it looks like {m}, fix it",
    "the photo looks like {m}",
    "why does it look like {m}?",
    "my picture looks like {m}, can you sort it",
    "it's like {m}",
    "like {m}. please fix",
    "{m} all over it",
    "it looks like {m}, make it normal again",
    "the sky looks like {m}",
    "the faces look like {m}",
    "everything looks like {m}, help",
    "it came out looking like {m}",
)

#: What would have prevented the fault, or what happened: a story that implies it.
WOULD_HAVE = {
    "denoise": (
        "I should have used a lower ISO",
        "the camera pushed the ISO to 25600",
        "my phone's night mode gave up",
        "I shot it on an old compact indoors",
    ),
    "deblur": (
        "I really needed something to steady the camera",
        "I should have used a faster shutter",
        "my hands were shaking",
        "the bus was moving when I took it",
        "the autofocus picked the background",
        "I missed focus",
        "I zoomed all the way in handheld",
        "I pressed the shutter too hard",
        "the lens was set to manual focus by mistake",
        "I forgot to turn on stabilisation",
    ),
    "dehaze": (
        "the smog was terrible that day",
        "there was a wildfire nearby and the air was smoky",
        "we were above the clouds and it was misty",
    ),
    "derain": (
        "it was pouring when I shot it",
        "I took it during a thunderstorm",
        "the storm started just as the bride came out",
    ),
    "lowlight": (
        "I forgot the flash",
        "the sun had already set",
        "it was a candlelit dinner",
        "we were in a basement club",
        "it was shot after dusk",
        "the exposure was set way too low",
    ),
    "jpeg": (
        "my aunt sent it over messenger",
        "it's a screenshot from a facebook post",
        "the website squashed it to 50 KB",
        "it was saved at the lowest quality",
    ),
}
#: Frames for a story: "{s}" is a WOULD_HAVE phrase.
STORY_FRAMES = (
    "{s}",
    "{s}, can you fix it?",
    "{s}. save it please",
    "{s} and now the photo is ruined",
    "ugh, {s}",
    "{s}, do what you can",
    "{s}... rescue this",
    "enhance this, {s}",
)

#: "enhance" alone says nothing, but with what the photo is it often does.
ENHANCE_WHAT = {
    "lowlight": ("this dark concert photo", "the underexposed one", "my evening snap", "this dim bar shot"),
    "denoise": ("this grainy astro shot", "the noisy high-ISO shot", "this speckled scan"),
    "deblur": ("this blurry snapshot", "the out-of-focus portrait", "this shaky video frame"),
    "dehaze": ("this hazy view", "the foggy landscape", "this smoggy skyline"),
    "derain": ("this rainy street shot", "the photo taken in the downpour"),
    "jpeg": ("this blocky jpeg", "the over-compressed picture", "this pixelated meme"),
    "upscale": ("this tiny thumbnail", "the low-res picture", "this small scan for a poster"),
}
ENHANCE_FRAMES = ("enhance {w}", "can you enhance {w}", "please enhance {w}", "enhance {w} for me")

#: Two clauses for one fault: a symptom, then a request ("it's way too dark, brighten it").
SYMPTOM_CLAUSES = {
    "denoise": (
        "it's grainy",
        "so much noise",
        "it's really noisy",
        "the grain is awful",
        "speckles everywhere",
    ),
    "deblur": (
        "it's blurry",
        "it's out of focus",
        "the camera shook",
        "everything is soft",
        "it's not sharp",
    ),
    "dehaze": ("it's hazy", "so foggy", "the haze ruins it", "everything is misty", "smog everywhere"),
    "derain": ("the rain ruins it", "rain streaks everywhere", "it was raining", "there's rain all over"),
    "lowlight": ("it's way too dark", "too dark", "it's underexposed", "I can't see anything", "it's so dim"),
    "jpeg": ("it's blocky", "compression artefacts everywhere", "it's an awful jpeg", "it's all blocks"),
    "upscale": ("it's tiny", "it's too small", "the resolution is too low", "it's only 400 px wide"),
}
REQUEST_CLAUSES = {
    "denoise": ("remove the noise", "clean it up", "smooth the grain", "denoise it", "get rid of it"),
    "deblur": ("sharpen it", "fix the blur", "make it sharp", "deblur it", "fix it please"),
    "dehaze": ("clear it up", "remove the haze", "dehaze it", "cut through the fog", "fix it"),
    "derain": ("remove the rain", "clear the rain", "take the streaks out", "derain it", "fix it"),
    "lowlight": ("brighten it", "please brighten", "lighten it up", "make it brighter", "fix the exposure"),
    "jpeg": ("clean it up", "remove the artefacts", "fix the compression", "smooth the blocks", "fix it"),
    "upscale": ("make it bigger", "enlarge it", "upscale it", "blow it up", "I need it bigger"),
}
CLAUSE_JOINS = (", ", ". ", "! ", " - ", "; ", ", so ", ", please ", "... ")

#: Style words, moods and looks: not a restoration.
STYLE_PHRASES = (
    "glitch aesthetic",
    "vaporwave vibe",
    "cinematic look",
    "moody tones",
    "teal and orange",
    "film look",
    "make it aesthetic",
    "y2k vibes",
    "cottagecore",
    "dark academia feel",
    "lo-fi look",
    "golden hour glow",
    "more vibrant",
    "pastel colours",
    "make it pop",
    "instagram filter",
    "vintage polaroid style",
    "black and white",
    "sepia",
    "cyberpunk neon",
    "dreamy haze effect",
    "analog feel",
    "matte finish",
    "high contrast look",
    "warmer tones",
    "cooler tones",
    "hdr look",
    "retro 80s look",
)
STYLE_FRAMES = ("{p}", "{p} please", "give it a {p}", "I want a {p}", "{p}, thanks", "can you do {p}")
