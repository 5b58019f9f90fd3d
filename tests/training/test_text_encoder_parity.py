"""The torch-free encoder matches sentence-transformers loaded from the same package files (cos >= 0.9999)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from engine.instructions import encode
from engine.instructions.corpus import CORPUS_NAME, read_prompt_file
from engine.models import text_encoder_dir

PROMPTS = Path(__file__).resolve().parents[2] / "resources" / "prompts"
SAMPLE = 500  # the full corpus runs in bench/instructions_bench.py --parity


@pytest.fixture(scope="module")
def reference_model(monkeypatch_module: pytest.MonkeyPatch):
    monkeypatch_module.setenv("HF_HUB_OFFLINE", "1")
    sentence_transformers = pytest.importorskip("sentence_transformers")
    return sentence_transformers.SentenceTransformer(str(text_encoder_dir()), device="cpu")


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _sample_texts() -> list[str]:
    rows = read_prompt_file(PROMPTS / CORPUS_NAME)
    texts = random.Random(0).sample([r["text"] for r in rows], SAMPLE)
    held = (PROMPTS / "heldout.jsonl").read_text(encoding="utf-8").splitlines()
    # Edge cases the corpus lacks: empty, accents/CJK/emoji, and text past the 256-token limit.
    extra = ["", "ünïcödé 写真 ✨ café", "remove the noise " * 200]
    return texts + [json.loads(line)["text"] for line in held if line.strip()] + extra


def test_cosine_parity_with_sentence_transformers(reference_model) -> None:
    texts = _sample_texts()
    ours = encode(texts)
    reference = reference_model.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True)
    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() >= 0.9999, texts[int(cosine.argmin())]
    np.testing.assert_allclose(ours, reference, atol=1e-4)
