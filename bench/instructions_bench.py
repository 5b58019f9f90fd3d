"""Instruction understanding figures: accuracy on hand-written sets, encoder load time and speed, parity.

Run: python bench/instructions_bench.py [--parity] [--show-errors] [--blind]
  exact-match task sets and off-topic recall on resources/prompts/heldout.jsonl (used for tuning decisions),
  unseen.jsonl (looked at once the first head was done), unseen2.jsonl (written blind to the corpus),
  upscale_heldout.jsonl, issue26_examples.jsonl (the examples issue 26 names, kept out of the corpus) and
  dev6.jsonl (316 prompts written blind to the corpus and rules, then used for tuning: session 23's spelling
  correction, attention head and rules were chosen on it, so it is a development set);
  --blind adds blind3.jsonl (241 prompts), blind4.jsonl (265), blind5.jsonl (265), blind6.jsonl (255) and
  blind7.jsonl (254), each written by someone who saw neither the corpus, the vocabularies nor the rules;
  their misses are never printed, and no choice is made on them (blind6 was scored once after session 23's
  first head, blind7 once after its second).
  A prompt of kind "foreign" counts as right when it is understood as labelled or answered with the
  English-only message. Encoder load time (fresh process) and ms per prompt; --parity adds cosine vs
  sentence-transformers on the whole training corpus (needs the `train` extra).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PROMPTS = REPO / "resources" / "prompts"
SETS = (
    "heldout.jsonl",
    "unseen.jsonl",
    "unseen2.jsonl",
    "upscale_heldout.jsonl",
    "issue26_examples.jsonl",
    "dev6.jsonl",
)
BLIND = ("blind3.jsonl", "blind4.jsonl", "blind5.jsonl", "blind6.jsonl", "blind7.jsonl")


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def right(row: dict, result: object) -> bool:
    """The task set as labelled; for a prompt in another language, also the English-only answer."""
    from engine.instructions.interpret import MESSAGE_FOREIGN

    if set(result.tasks) == set(row["tasks"]):  # type: ignore[attr-defined]
        return True
    english_only = MESSAGE_FOREIGN.split("{")[0]
    return row.get("kind") == "foreign" and result.message.startswith(english_only)  # type: ignore[attr-defined]


def accuracy(name: str, show_errors: bool) -> None:
    from engine.instructions import explicit_strength, interpret_many, strength_word

    path = PROMPTS / name
    if not path.exists():
        print(f"{name}: missing")
        return
    rows = load(path)
    results = interpret_many([r["text"] for r in rows])
    exact = sum(right(r, res) for r, res in zip(rows, results, strict=True))
    off = [(r, res) for r, res in zip(rows, results, strict=True) if not r["tasks"]]
    on = [(r, res) for r, res in zip(rows, results, strict=True) if r["tasks"]]
    off_recall = sum(not res.understood for _, res in off) / max(len(off), 1)
    false_reject = sum(not res.understood for r, res in on if not right(r, res)) / max(len(on), 1)
    strength_ok = sum(strength_word(res.strength) == strength_word(r["strength"]) for r, res in on)
    composite = [(r, res) for r, res in on if len(r["tasks"]) > 1]
    composite_ok = sum(set(res.tasks) == set(r["tasks"]) for r, res in composite)
    rules = sum(explicit_strength(r["text"]) is not None for r, _ in on)
    print(f"{name}: {len(rows)} prompts ({len(off)} off-topic/vague, {len(composite)} composites)")
    print(f"  exact-match task sets  {exact}/{len(rows)} = {exact / len(rows):.1%}")
    print(f"  off-topic recall       {off_recall:.1%}   restoration prompts rejected {false_reject:.1%}")
    print(f"  composites exact       {composite_ok}/{len(composite)}")
    print(f"  strength class correct {strength_ok}/{len(on)} (explicit strength word in {rules})")
    kinds = sorted({r.get("kind", "") for r in rows})
    if len(kinds) > 1:
        per_kind = []
        for kind in kinds:
            pairs = [(r, res) for r, res in zip(rows, results, strict=True) if r.get("kind", "") == kind]
            per_kind.append(f"{kind} {sum(right(r, res) for r, res in pairs)}/{len(pairs)}")
        print("  by kind                " + ", ".join(per_kind))
    if show_errors:
        for r, res in zip(rows, results, strict=True):
            if not right(r, res):
                print(f"    MISS {r['text']!r}: want {r['tasks']} got {list(res.tasks)}")


def load_time() -> None:
    """Encoder load in fresh processes (what a CLI call pays), median of 3."""
    code = (
        "import time; t=time.perf_counter(); from engine.instructions.encoder import TextEncoder; "
        "t1=time.perf_counter(); c=time.process_time(); TextEncoder(); "
        "print(t1-t, time.perf_counter()-t1, time.process_time()-c)"
    )
    imports, loads, cpu = [], [], []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.split()
        imports.append(float(out[0]))
        loads.append(float(out[1]))
        cpu.append(float(out[2]))
    print(
        f"encoder load: {statistics.median(loads):.2f} s wall, {statistics.median(cpu):.2f} s CPU "
        f"(median of 3 fresh processes; imports before it {statistics.median(imports):.2f} s)"
    )


def speed() -> None:
    from engine.instructions import get_text_encoder, interpret

    rows = load(PROMPTS / "heldout.jsonl")
    encoder = get_text_encoder()
    encoder.encode(["warm up"])
    times = []
    cpu_start = time.process_time()
    for r in rows:
        start = time.perf_counter()
        encoder.encode([r["text"]])
        times.append((time.perf_counter() - start) * 1000)
    cpu_ms = (time.process_time() - cpu_start) * 1000 / len(rows)
    interpret("warm up the head")
    start = time.perf_counter()
    for r in rows:
        interpret(r["text"])
    per_interpret = (time.perf_counter() - start) * 1000 / len(rows)
    times.sort()
    print(
        f"encode one prompt: median {statistics.median(times):.1f} ms, "
        f"p95 {times[int(0.95 * len(times))]:.1f} ms, CPU {cpu_ms:.1f} ms; "
        f"interpret(): {per_interpret:.1f} ms per prompt ({len(rows)} prompts, one at a time)"
    )


def parity() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from engine.instructions import encode
    from engine.instructions.corpus import CORPUS_NAME, read_prompt_file
    from engine.models import text_encoder_dir

    texts = [r["text"] for r in read_prompt_file(PROMPTS / CORPUS_NAME)]
    for name in SETS:
        if (PROMPTS / name).exists():
            texts += [r["text"] for r in load(PROMPTS / name)]
    ours = encode(texts)
    reference = SentenceTransformer(str(text_encoder_dir()), device="cpu").encode(
        texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True
    )
    cosine = (ours * reference).sum(axis=1)
    print(
        f"parity vs sentence-transformers on {len(texts)} prompts: min cosine {cosine.min():.7f}, "
        f"max |diff| {np.abs(ours - reference).max():.2e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parity", action="store_true", help="also compare with sentence-transformers")
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--blind", action="store_true", help=f"also score {', '.join(BLIND)} (no misses)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (timings below are wall clock)")
    for name in SETS:
        accuracy(name, args.show_errors)
    if args.blind:
        for name in BLIND:
            accuracy(name, show_errors=False)
    load_time()
    speed()
    if args.parity:
        parity()


if __name__ == "__main__":
    main()
