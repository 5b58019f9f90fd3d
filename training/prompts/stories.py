"""Fourth round of the corpus (issue 26): stories whose scene is not the fault, questions, other edits.

A development set of 150 prompts written blind to the corpus (stories of 20–90 words, questions, requests to
write or to edit something else, effects and opposites) showed where the head failed: a story's scene words
("a misty morning, which I love", "it rained all week", "at dusk") were read as faults to fix; a second fault
said in passing ("it's also full of speckles") was missed; a question about photography ("what ISO should I
use at night?") or another edit ("remove the red eyes", "rotate it") was read as a restoration. These lists
make stories from a neutral opening, a scene that is not to be fixed, the faults and a request, and the
requests that are not restorations, each in many wordings (training.prompts.generate).
"""

from __future__ import annotations

#: How a story starts: where, when, who; no fault in it.
OPENERS = (
    "we took the kids to the lake last sunday",
    "this is from my cousin's wedding in lagos",
    "i'm restoring photos for my grandparents' anniversary",
    "hiking in the dolomites last summer",
    "my daughter's first birthday party",
    "this is my dad at his retirement dinner",
    "we were on holiday in portugal",
    "took this at the farmers market on saturday",
    "i found this in my mum's old album and scanned it",
    "school sports day, the kids were so excited",
    "road trip through arizona with my best friend",
    "my grandmother's garden in 1979",
    "a street portrait i shot in marrakech",
    "our dog's first day at the beach",
    "the team photo from the charity run",
    "i'm a hobby photographer and this is from my first paid job",
    "this was at the christmas market in vienna",
    "my son's graduation, the only photo of the three of us",
    "this is the view from our hotel balcony in crete",
    "a quick snap of my wife at the cafe",
    "visiting the temples in kyoto",
    "the band played in a tiny pub in dublin",
    "my granddad's fishing boat, he loved that boat",
    "these are from my brother's engagement party",
    "a birdwatching trip to the marsh",
    "our first house, just after we got the keys",
    "camping by the loch with friends",
    "the carnival parade in rio",
    "my aunt sent this from her village in kerala",
    "shot at a friend's gig with my phone",
    "an old family photo from the seventies",
    "my niece's ballet recital",
    "the ferry crossing to the islands",
    "a photo of my late husband at the seaside",
    "my first attempt at astrophotography",
    "took this from the train window in switzerland",
    "this is the only picture of my great-grandparents",
    "a product shot for my small etsy shop",
    "the wedding speech, my best man mid-joke",
    "my kid's football match in the rain season",
)

#: What is in the scene but not to be fixed, per task it could be mistaken for ("it rained all week").
SCENE = {
    "dehaze": (
        "it was a misty morning, which i love",
        "the fog was the whole point of the trip",
        "there was a soft mist over the water and it's beautiful",
        "the morning haze gives it a dreamy mood i want to keep",
        "the mist stays, it's part of the magic",
    ),
    "derain": (
        "it was raining outside but we were indoors",
        "it had rained all week but this day was dry",
        "it was pouring that afternoon but that's not in the shot",
        "the kids were splashing in the puddles, that was the fun",
        "the wet streets and reflections are lovely",
        "we had just come in from the rain, none of it is in the picture",
    ),
    "lowlight": (
        "it was taken at dusk and the dark sky is what i wanted",
        "the neon at night is the whole vibe",
        "it was nearly midnight and i like it dark like that",
        "the candlelight makes it cosy and i want it to stay dim",
        "the sunset colours are gorgeous, don't change them",
        "the darkness is part of the mood",
    ),
    "denoise": (
        "i like a bit of film texture",
        "it was shot on film and i love the film texture",
        "the old print has a lovely texture",
    ),
    "deblur": (
        "the background is nicely soft, that's fine",
        "the waterfall's silky motion is on purpose",
        "the bokeh behind them is gorgeous",
    ),
    "jpeg": ("i'll save it as a jpeg afterwards", "my phone saves everything as jpeg anyway"),
    "upscale": ("it's plenty big already", "the size is fine"),
}

#: The fault, said in a sentence of a story.
FAULT = {
    "denoise": (
        "it's full of grain",
        "it's covered in coloured speckles",
        "the high iso made it really noisy",
        "there's ugly noise in all the shadows",
        "the scan is grainy",
        "the sky is full of noise",
    ),
    "deblur": (
        "the whole shot came out shaky",
        "it's out of focus",
        "my hand moved and everything is smeared",
        "the autofocus missed and the faces are soft",
        "someone bumped my arm so it's blurry",
        "it's not sharp at all",
    ),
    "dehaze": (
        "there's a grey haze over everything",
        "the smog made the whole scene flat and milky",
        "the fog hides the mountains completely",
        "it looks washed out from the haze",
    ),
    "derain": (
        "rain streaks cross the whole frame",
        "the rain is all over the picture in white lines",
        "you can see the rain streaking past the lens",
    ),
    "lowlight": (
        "it came out far too dark",
        "everyone looks like shadows",
        "it's underexposed",
        "you can barely see the faces",
        "it's so dark it's almost black",
    ),
    "jpeg": (
        "it got compressed into blocky squares",
        "it's a blocky mess after being forwarded",
        "the jpeg artefacts are awful",
        "whatsapp crushed it into little blocks",
    ),
    "upscale": (
        "it's tiny, only a thumbnail",
        "the file is too small to print",
        "it's only 600 pixels wide",
        "i cropped a lot so it's small now",
    ),
}
#: A second fault said in passing.
ALSO = ("and {f} as well", "on top of that {f}", "plus {f}", "also, {f}", "and worse, {f}")

#: The request that ends a story; {a} is a task's action (REQUEST_CLAUSES in metaphors.py).
ENDINGS = (
    "can you fix it?",
    "could you rescue it?",
    "whatever you can do",
    "please help",
    "can it be saved?",
    "{a} please",
    "please {a}",
    "could you {a}?",
    "i'd love it if you could {a}",
    "just {a}",
)

#: Not restorations: questions about photography, writing, judging and other edits; {s} is a scene word.
SCENE_WORDS = ("foggy", "rainy", "misty", "dark", "night", "blurry", "grainy", "hazy", "stormy", "snowy")
NOT_RESTORATION = (
    "what iso should i use for {s} shots?",
    "why do my {s} photos always come out like this? any tips?",
    "is this photo too {s} to print?",
    "which of these two photos is sharper?",
    "what shutter speed avoids camera shake?",
    "how do i stop my photos getting grainy at night?",
    "should i shoot raw or jpeg?",
    "write a caption for my {s} lake photo",
    "write a short, poetic caption for this {s} morning",
    "write an instagram post about our {s} day in london",
    "suggest a title for my {s} landscape",
    "help me write a thank-you note to the camera club",
    "can you guess where this {s} photo was taken?",
    "tell me what camera settings caused this, just curious",
    "remove the photobomber behind my sister",
    "remove the red eyes from the flash",
    "remove the power lines from the sky",
    "take the stranger out of the background",
    "erase the watermark",
    "rotate it 90 degrees to the right",
    "flip it horizontally",
    "straighten the horizon",
    "crop it to a square for instagram",
    "make the sky more blue and the grass greener",
    "change the sky to a sunset",
    "compress it so it's under 2 mb",
    "convert it to png",
    "turn this photo into an oil painting",
    "make it a cartoon of us",
    "turn it into a pencil sketch",
    "make it black and white",
    "replace the {s} background with a beach",
    "put my logo in the corner",
    "make me look thinner",
    "whiten my teeth",
    "count the people in this photo",
    "what's the name of this flower?",
    "rate my photo out of ten",
)

#: The opposite of a restoration, with the fix asked for.
OPPOSITE = (
    "the faces are blown out from the flash, you can't see any detail",
    "the sky is completely white, it's way too bright",
    "the wedding dress is burnt out, recover it",
    "it's overexposed, darken it a bit",
    "the beach photo is too bright, lower the exposure",
    "too sharp, it looks crunchy, soften it",
    "my phone oversharpened it, there are halos, make it softer",
    "it looks oversharpened and hdr-ish, tone down the sharpness",
    "the skin looks like plastic after the filter, bring back texture",
    "the noise reduction smeared everything and the faces look waxy",
    "way too much contrast, the shadows are crushed",
    "reduce the contrast, it's far too punchy",
    "the colours are too saturated, tone them down",
    "it's too bright and washed out from the flash",
)

#: Adding an effect, said in a story or in passing.
EFFECT = (
    "add motion blur to the car so it looks fast",
    "i want more film grain, it looks too clean",
    "add raindrops on the window in front of them",
    "add a bit of mist over the lake",
    "make it look like a faded, slightly out-of-focus photo from the 70s",
    "put some fog in the valley for drama",
    "give it a dreamy glow",
    "add a vignette around the edges",
    "blur the people in the background",
    "make the background blurrier like portrait mode",
    "add snow falling for a christmas card",
    "make it darker and moodier for the album cover",
)
