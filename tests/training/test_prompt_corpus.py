"""The generated instruction corpus and the hand-written test sets: size, labels, no leakage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.instructions.corpus import CORPUS_NAME, read_prompt_file
from training.prompts.generate import TEST_FILES, generate, normalise

PROMPTS = Path(__file__).resolve().parents[2] / "resources" / "prompts"
TASKS = {"denoise", "deblur", "dehaze", "derain", "lowlight", "jpeg", "upscale"}


def _rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (PROMPTS / name).read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def train_rows() -> list[dict]:
    return read_prompt_file(PROMPTS / CORPUS_NAME)


def test_corpus_is_large_distinct_and_compact(train_rows: list[dict]) -> None:
    assert len(train_rows) >= 5000
    assert len({normalise(r["text"]) for r in train_rows}) == len(train_rows)
    assert (PROMPTS / CORPUS_NAME).stat().st_size < 1e6


def test_corpus_labels_are_valid(train_rows: list[dict]) -> None:
    for r in train_rows:
        assert set(r["tasks"]) <= TASKS
        assert 0.0 <= r["strength"] <= 1.0
        assert (r["kind"] in ("offtopic", "vague")) == (not r["tasks"])
        assert (r["kind"] == "composite") == (len(r["tasks"]) > 1)


def test_corpus_covers_every_task_kind_and_register(train_rows: list[dict]) -> None:
    for task in TASKS:
        assert sum(task in r["tasks"] for r in train_rows) > 500
    kinds = {r["kind"] for r in train_rows}
    assert {"single", "composite", "offtopic", "vague", "negation"} <= kinds
    registers = {r["register"] for r in train_rows}
    assert {"terse", "technical", "story", "typo", "chat", "gibberish", "creative"} <= registers
    assert sum(len(r["tasks"]) == 3 for r in train_rows) > 200


@pytest.mark.parametrize("name", TEST_FILES)
def test_hand_written_sets_never_in_training(train_rows: list[dict], name: str) -> None:
    if not (PROMPTS / name).exists():
        pytest.skip(f"{name} not written yet")
    rows = _rows(name)
    train = {normalise(r["text"]) for r in train_rows}
    assert not [r["text"] for r in rows if normalise(r["text"]) in train]
    for r in rows:
        assert set(r["tasks"]) <= TASKS


def test_heldout_is_big_enough_with_offtopic_and_composites() -> None:
    rows = _rows("heldout.jsonl")
    assert len(rows) >= 100
    assert 0.2 <= sum(not r["tasks"] for r in rows) / len(rows) <= 0.35
    assert sum(len(r["tasks"]) > 1 for r in rows) >= 10


def test_generator_is_seeded_and_reproduces_the_file(train_rows: list[dict]) -> None:
    regenerated = generate(seed=7)
    assert [p.text for p in regenerated] == [r["text"] for r in train_rows]


@pytest.mark.parametrize(
    "name", ["blind3.jsonl", "blind4.jsonl", "blind5.jsonl", "blind6.jsonl", "blind7.jsonl", "dev6.jsonl"]
)
def test_the_blind_sets_are_big_and_cover_every_class(name: str) -> None:
    rows = _rows(name)
    assert len(rows) >= 200
    kinds = {r["kind"] for r in rows}
    assert {"negation", "metaphor", "story", "terse", "typo", "composite", "effect", "foreign"} <= kinds
    for r in rows:
        assert (r["strength"] == 0.0) == (not r["tasks"])
