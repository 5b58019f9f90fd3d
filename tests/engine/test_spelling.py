"""Typing slips corrected before the encoder reads a prompt (engine.instructions.spelling)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.instructions import interpret
from engine.instructions.spelling import correct, correction


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("pls remvoe the rian", "pls remove the rain"),
        ("its to dakr and grainey", "its to dark and grainy"),
        ("reeeally grany", "really grainy"),  # the corpus's word before English's "granny"
        ("blcoky jpg, uplscale x2", "blocky jpg, upscale x2"),
        ("pixelatd from beign sent", "pixelated from being sent"),
    ],
)
def test_misspelt_words_are_corrected(typed: str, meant: str) -> None:
    assert correct(typed) == meant


@pytest.mark.parametrize(
    "text",
    [
        "denoise the bokeh, then deblur the jpg",  # the corpus's own words
        "a wedding in Notting Hill, shot on a GoPro, copied off a USB stick",  # names
        "the sheep at the nativity were lovely",  # English
        "Das ist",  # too short to correct
    ],
)
def test_words_and_names_are_left_as_typed(text: str) -> None:
    assert correct(text) == text


def test_a_word_with_no_near_neighbour_stays() -> None:
    assert correction("xqzvwk") is None
    assert correct("xqzvwk the noise") == "xqzvwk the noise"


@pytest.mark.parametrize(
    ("typed", "tasks"),
    [
        ("pls remvoe the rian", {"derain"}),
        ("make it hi res pls its tiiny", {"upscale"}),
        ("way undrexposed, like 3 stops, help", {"lowlight"}),
    ],
)
def test_a_misspelt_request_is_understood_and_reported_as_typed(typed: str, tasks: set[str]) -> None:
    result = interpret(typed)
    assert set(result.tasks) == tasks
    assert result.text == typed


def test_a_damaged_corpus_is_one_line_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.errors import ModelError
    from engine.instructions import corpus, spelling

    damaged = tmp_path / "train.jsonl.gz"
    damaged.write_bytes(b"not gzip at all")
    monkeypatch.setattr(corpus, "corpus_path", lambda: damaged)
    caches = (corpus.corpus_texts, spelling.corpus_counts, spelling.correction)
    for cache in caches:
        cache.cache_clear()
    try:
        with pytest.raises(ModelError, match=r"train\.jsonl\.gz: not a prompt corpus .*reinstall PhotoMend"):
            spelling.correction("remvoe")
    finally:
        for cache in caches:
            cache.cache_clear()


def test_only_so_many_words_of_one_prompt_are_looked_up() -> None:
    from engine.instructions.spelling import MOST_LOOKED_UP

    slips = ["remvoe"] * (MOST_LOOKED_UP + 5)
    corrected = correct(" ".join(slips)).split()
    assert corrected.count("remove") == MOST_LOOKED_UP
    assert corrected[MOST_LOOKED_UP:] == ["remvoe"] * 5
