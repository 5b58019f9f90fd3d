"""Instructions that compose: clauses, negation, opposites, effects, other languages (issue 26)."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import numpy as np
import pytest

from engine.instructions import interpret, interpret_many
from engine.instructions.compose import read, split_clauses, tasks_named
from engine.instructions.interpret import MESSAGE_EFFECT, MESSAGE_FOREIGN
from engine.instructions.language import foreign_language

REPO = Path(__file__).resolve().parents[2]

# --- the rules alone ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("it's way too dark, brighten it", ["it's way too dark", "brighten it"]),
        ("dark and grainy", ["dark and grainy"]),
        ("salt and pepper noise", ["salt and pepper noise"]),
        ("sharpen it but leave the noise", ["sharpen it", "leave the noise"]),
        ("Blurry. Also noisy!", ["blurry", "noisy"]),
        ("", []),
    ],
)
def test_clauses_are_cut_at_punctuation_and_contrast_words_not_at_and(text: str, clauses: list[str]) -> None:
    assert split_clauses(text.lower()) == clauses


@pytest.mark.parametrize(
    ("text", "banned", "clauses"),
    [
        ("don't denoise, just brighten", {"denoise"}, ["brighten"]),
        ("do not touch the exposure, remove the grain", {"lowlight"}, ["remove the grain"]),
        ("it's not dark at all, don't brighten it", {"lowlight"}, []),
        ("keep the grain, fix the blur", {"denoise"}, ["fix the blur"]),
        ("sharpen it but leave the noise alone", {"denoise"}, ["sharpen it"]),
        ("the exposure is fine, it's just noisy", {"lowlight"}, ["noisy"]),
        ("brighten it without losing detail", set(), ["brighten it"]),
        ("don\u2019t enlarge it, only clean the jpeg", {"upscale"}, ["clean the jpeg"]),
        ("no denoising, no sharpening - the rain has to go", {"denoise", "deblur"}, ["the rain has to go"]),
        ("no need for noise reduction. lift the shadows", {"denoise"}, ["lift the shadows"]),
        ("nothing wrong with the focus. it's too dark", {"deblur"}, ["it's too dark"]),
        ("the noise isn't bothering me and the focus is soft", {"denoise"}, ["the focus is soft"]),
        ("the motion blur on the cyclist is intentional. brighten it", {"deblur"}, ["brighten it"]),
        ("it's a bit blurry but i don't mind that. the noise is awful", {"deblur"}, ["the noise is awful"]),
        ("the bike is blurred but i'm okay with that. just the rain", {"deblur"}, ["the rain"]),
        ("the bike is motion blurred, leave it. the rain has to go", {"deblur"}, ["the rain has to go"]),
        ("sunny day, perfect exposure, but it's blocky", {"lowlight"}, ["sunny day", "it's blocky"]),
    ],
)
def test_negated_and_kept_faults_are_banned_and_taken_out(
    text: str, banned: set[str], clauses: list[str]
) -> None:
    reading = read(text)
    assert reading.banned == banned
    assert reading.clauses == clauses
    assert reading.structured


@pytest.mark.parametrize(
    "text",
    ["it's not sharp", "it isn't in focus", "not bright enough", "the faces aren't clear", "not only dark"],
)
def test_a_fault_said_the_other_way_round_is_not_a_negation(text: str) -> None:
    assert read(text).banned == set()


@pytest.mark.parametrize(
    "text", ["there's no light at all", "nothing is in focus", "no detail in the shadows, brighten it"]
)
def test_no_before_a_fault_is_the_fault_not_its_refusal(text: str) -> None:
    assert read(text).banned == set()


@pytest.mark.parametrize(
    ("text", "task"),
    [
        ("too bright, overexposed", "lowlight"),
        ("the highlights are blown out", "lowlight"),
        ("it's oversharpened", "deblur"),
        ("skin looks plastic, too smooth", "denoise"),
    ],
)
def test_opposites_ban_the_task_they_would_be_mistaken_for(text: str, task: str) -> None:
    reading = read(text)
    assert reading.opposites and task in reading.banned and not reading.clauses


@pytest.mark.parametrize(
    ("text", "banned"),
    [
        ("put rain drops on the lens", {"derain"}),
        ("add some film grain", {"denoise"}),
        ("blur the background", set()),
        ("make it look like an old polaroid", set()),
        ("give it a vignette", set()),
    ],
)
def test_requests_to_add_an_effect_are_recognised(text: str, banned: set[str]) -> None:
    reading = read(text)
    assert reading.effects and banned <= reading.banned


def test_a_plain_prompt_has_no_structure() -> None:
    for text in ["remove the noise", "it's dark and grainy", "make it 4x bigger", "the shot is not sharp"]:
        assert not read(text).structured, text


def test_fault_words() -> None:
    assert tasks_named("the grain and the blocky jpeg") == {"denoise", "jpeg"}
    assert tasks_named("the colours") == set()


# --- through interpret(): the issue's examples and what each class must do ---------------------------------


def _examples() -> list[dict]:
    path = REPO / "resources" / "prompts" / "issue26_examples.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("row", [r for r in _examples() if r["kind"] != "metaphor"], ids=lambda r: r["text"])
def test_the_issues_examples_route_as_labelled(row: dict) -> None:
    result = interpret(row["text"])
    assert set(result.tasks) == set(row["tasks"]), result.message
    assert result.understood == bool(row["tasks"])


def test_two_clauses_each_understood_alone_are_understood_together() -> None:
    for text in ["it's way too dark, brighten it", "too dark, please brighten", "grainy. remove it please"]:
        alone = [set(interpret(part).tasks) for part in split_clauses(text)]
        together = interpret(text)
        assert together.understood, text
        assert set(together.tasks) == set().union(*alone), text


def test_negation_overrules_the_whole_prompts_reading() -> None:
    result = interpret("don't denoise, just brighten")
    assert result.tasks == ("lowlight",)
    assert result.scores["denoise"] == 0.0
    # the network is told what is asked for, not the refused part
    assert np.allclose(result.embedding, interpret("brighten").embedding, atol=1e-6)


def test_refusing_everything_named_says_so() -> None:
    result = interpret("it's not dark at all, don't brighten it")
    assert not result.understood
    assert "not to brighten" in result.message


def test_an_opposite_is_answered_as_not_a_restoration() -> None:
    result = interpret("too bright, overexposed")
    assert not result.understood
    assert "not a restoration" in result.message and "darkening" in result.message.lower()


def test_an_opposite_beside_a_real_request_runs_the_request_with_a_note() -> None:
    result = interpret("it's overexposed and very grainy, remove the grain")
    assert result.tasks == ("denoise",)
    assert "Not done: darkening" in result.message


def test_an_effect_request_is_not_run() -> None:
    result = interpret("put rain drops on the lens")
    assert not result.understood and result.message == MESSAGE_EFFECT


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("das Foto ist verrauscht", "German"),
        ("c'est trop sombre", "French"),
        ("la foto è troppo scura", "Italian"),
    ],
)
def test_another_language_gets_the_english_only_message(text: str, language: str) -> None:
    result = interpret(text)
    assert not result.understood and result.tasks == ()
    assert result.message == MESSAGE_FOREIGN.format(language=language)


@pytest.mark.parametrize("text", ["pls fix blurr", "deblurr it", "denoise pls", "too grainy lol", "zu dark"])
def test_english_with_typos_and_slang_is_not_called_foreign(text: str) -> None:
    assert foreign_language(text) is None


def test_random_letters_are_not_read_as_a_request() -> None:
    rng = random.Random(26)
    words = [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9))) for _ in range(16000)
    ]
    text = " ".join(words)
    assert len(text) > 100_000
    for prompt in (text, text.replace(" ", "")):
        result = interpret(prompt)
        assert not result.understood and result.tasks == ()


def test_interpret_many_reads_structured_and_plain_prompts_alike() -> None:
    texts = ["don't denoise, just brighten", "remove the noise", "c'est trop sombre", "", "too bright"]
    many = interpret_many(texts)
    for text, result in zip(texts, many, strict=True):
        single = interpret(text)
        assert (result.tasks, result.understood, result.message) == (
            single.tasks,
            single.understood,
            single.message,
        )


# --- a strength per clause ------------------------------------------------------------------------------


def test_each_clause_keeps_its_own_strength() -> None:
    result = interpret("brighten it a little, remove the noise completely")
    assert set(result.tasks) == {"lowlight", "denoise"}
    assert result.strength_for("lowlight") < result.strength_for("denoise") == result.strength
    assert "brighten (gentle)" in result.summary() and "reduce noise (strong)" in result.summary()


def test_one_strength_for_the_whole_prompt_has_no_exceptions() -> None:
    for text in ["remove the noise slightly", "it's dark and grainy", "it's way too dark, brighten it"]:
        assert interpret(text).strengths == (), text


def test_a_gently_asked_step_keeps_that_share_of_its_change() -> None:
    from engine.pipeline.plan import _scale_step, make_plan, strength_blend

    interpretation = interpret("brighten it a little, remove the noise completely")
    steps = {step.faults: step for step in make_plan(interpretation).steps}
    before = np.full((4, 4, 3), 0.2, np.float32)
    brightened, denoised = np.full_like(before, 0.6), np.full_like(before, 0.3)
    _scale_step(brightened, before, steps[("lowlight",)], interpretation)
    _scale_step(denoised, before, steps[("denoise",)], interpretation)
    share = strength_blend(interpretation.strength_for("lowlight")) / strength_blend(interpretation.strength)
    assert 0.0 < share < 1.0
    assert np.allclose(brightened, 0.2 + 0.4 * share)
    assert np.allclose(denoised, 0.3)  # asked for at the prompt's strength: untouched


# --- questions, writing and judging are not requests -------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "What ISO should I use for night shots?",
        "Is this photo too dark to print?",
        "Which of these two photos is sharper?",
        "Write a short, poetic caption for my photo of the foggy lake",
        "help me write a thank-you note to the camera club",
        "Can you tell me what caused this grainy look? Just curious, I don't need it fixed.",
    ],
)
def test_questions_and_writing_requests_are_not_restorations(text: str) -> None:
    assert read(text).chat
    result = interpret(text)
    assert not result.understood and result.tasks == ()


@pytest.mark.parametrize(
    "text",
    ["why is it so grainy? fix it", "is it possible to fix the blur?", "do something about the noise"],
)
def test_a_question_that_asks_for_a_fix_is_a_request(text: str) -> None:
    assert not read(text).chat


def test_beside_an_opposite_only_clauses_that_name_a_fault_count() -> None:
    assert not interpret("the faces are blown out from the flash, you can't see any detail").understood
    assert interpret("it's overexposed and very grainy, remove the grain").tasks == ("denoise",)


def test_a_scene_the_user_loves_is_kept() -> None:
    reading = read("it was a misty morning, the mist is the whole point. the shot is shaky, fix it")
    assert "dehaze" in reading.banned
