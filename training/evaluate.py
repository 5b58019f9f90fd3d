"""Score fp16 checkpoints (and their weight average, a "soup") on the training validation crops.

    python -m training.evaluate training/checkpoints/last_fp16.pt runs/cpu2/best_fp16.pt --soup runs/soup2.pt

Same crops, levels and prompts as the validation in `training.train` (`training.data.validation_set`), so
the rows compare with the run logs; prints a Markdown table. `--soup OUT` also scores the element-wise mean
of the given checkpoints (all of one shape, best from one trajectory) and saves it as an fp16 checkpoint.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from training.conditioning import HELDOUT_CORPUS, load_prompt_bank
from training.data import validation_set
from training.export import build_model
from training.model import RestoreNetConfig, grow
from training.train import DATA, atomic_save, mean_gain, validate


def soup(paths: list[Path]) -> dict:
    """fp16 checkpoint whose weights are the mean of `paths`' weights (config of the first).

    A checkpoint of a smaller shape that the first grew from (fewer blocks, no task prior) is grown to the
    first's shape (`training.model.grow`: its output is unchanged) before averaging.
    """
    loaded = [torch.load(p, map_location="cpu", weights_only=False) for p in paths]
    config = RestoreNetConfig.from_dict(loaded[0]["config"])
    states = []
    for c in loaded:
        state = {k: v.float() for k, v in c["state_dict"].items()}
        own = RestoreNetConfig.from_dict(c["config"])
        if own != config:
            try:
                state = grow(state, own, config).state_dict()
            except ValueError as exc:
                raise ValueError(f"a soup needs checkpoints of one shape ({exc})") from None
        states.append(state)
    keys = states[0].keys()
    state = {k: torch.stack([s[k] for s in states]).mean(0).half() for k in keys}
    return {
        "config": loaded[0]["config"],
        "state_dict": state,
        "step": max(int(c.get("step", 0)) for c in loaded),
        "soup_of": [str(p) for p in paths],
    }


def score(path: Path, items: list[dict]) -> dict[str, dict[str, float]]:
    return validate(build_model(path)[0], items, torch.device("cpu"))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoints", type=Path, nargs="+")
    p.add_argument(
        "--soup", type=Path, default=None, help="also score the mean of the checkpoints; save it here"
    )
    p.add_argument("--val-dir", type=Path, default=DATA / "val")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    items = validation_set(a.val_dir, [load_prompt_bank(HELDOUT_CORPUS), load_prompt_bank()])
    rows = {str(c): score(c, items) for c in a.checkpoints}
    if a.soup:
        atomic_save(soup(a.checkpoints), a.soup)
        rows[f"soup -> {a.soup}"] = score(a.soup, items)
    cases = list(next(iter(rows.values())))
    first = next(iter(rows.values()))
    print("| checkpoint | " + " | ".join(cases) + " | mean gain |")
    print("|" + "---|" * (len(cases) + 2))
    print("| input | " + " | ".join(f"{first[c]['input']:.2f}" for c in cases) + " | |")
    for name, res in rows.items():
        cells = " | ".join(f"{res[c]['output']:.2f}" for c in cases)
        print(f"| {name} | {cells} | {mean_gain(res):+.2f} |")


if __name__ == "__main__":
    main()
