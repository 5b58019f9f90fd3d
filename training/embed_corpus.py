"""Embed the instruction corpus with the engine's runtime encoder -> training/cache/embeddings.npz.

The restoration trainer conditions on exactly the vectors the app will compute (same code path:
`engine.instructions.encode`), so there is no train/runtime skew in the text embedding.
Run: python -m training.embed_corpus [--files resources/prompts/train.jsonl.gz ...] [--out ...]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from engine.instructions import TASKS, encode
from engine.instructions.corpus import CORPUS_NAME, read_prompt_file

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FILES = (REPO / "resources" / "prompts" / CORPUS_NAME,)
DEFAULT_OUT = REPO / "training" / "cache" / "embeddings.npz"


def load_prompts(paths: list[Path]) -> list[dict]:
    return [row for path in paths for row in read_prompt_file(path)]


def embed_prompts(paths: list[Path], out: Path) -> Path:
    """Write texts, embeddings (N, 384) float32, tasks multi-hot (N, len(TASKS)), strength, kind to `out`."""
    rows = load_prompts(paths)
    texts = [r["text"] for r in rows]
    start = time.perf_counter()
    embeddings = encode(texts)
    seconds = time.perf_counter() - start
    tasks = np.array([[t in r["tasks"] for t in TASKS] for r in rows], dtype=np.float32)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        texts=np.array(texts),
        embeddings=embeddings.astype(np.float32),
        tasks=tasks,
        task_names=np.array(TASKS),
        strength=np.array([float(r.get("strength", 0.0)) for r in rows], dtype=np.float32),
        kind=np.array([r.get("kind", "") for r in rows]),
    )
    per_prompt_ms = seconds / max(len(texts), 1) * 1000
    print(f"embedded {len(texts)} prompts in {seconds:.1f} s ({per_prompt_ms:.1f} ms each)")
    print(f"wrote {out}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=Path, nargs="+", default=list(DEFAULT_FILES))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    embed_prompts(args.files, args.out)


if __name__ == "__main__":
    main()
