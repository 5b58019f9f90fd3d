"""Print a run's validation history (PSNR per task over time) from its log.jsonl as a Markdown table.

python -m training.summarize_log runs/cpu1/log.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def validation_table(entries: list[dict], every: int = 1) -> str:
    vals = [e for e in entries if e.get("event") == "val"]
    if not vals:
        return "(no validation yet)"
    cases = list(vals[0]["psnr"])
    head = "| step | minutes | " + " | ".join(cases) + " | mean gain |"
    rule = "|" + "---|" * (len(cases) + 3)
    rows = [
        head,
        rule,
        "| input | | " + " | ".join(f"{vals[0]['psnr'][c]['input']:.2f}" for c in cases) + " | |",
    ]
    picked = vals[::every]
    if vals[-1] is not picked[-1]:
        picked.append(vals[-1])
    for v in picked:
        cells = " | ".join(f"{v['psnr'][c]['output']:.2f}" for c in cases)
        rows.append(f"| {v['step']} | {v['elapsed_min']:.0f} | {cells} | {v['mean_gain_db']:+.2f} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("log", type=Path)
    p.add_argument("--every", type=int, default=1, help="print every n-th validation (the last always)")
    a = p.parse_args(argv)
    entries = read_log(a.log)
    trains = [e for e in entries if e.get("event") == "train"]
    if trains:
        last = trains[-1]
        print(
            f"steps {last['step']}, {last['elapsed_min']:.0f} min, last loss {last['loss']:.4f}, "
            f"{last['s_per_step']:.2f} s/step\n"
        )
    print(validation_table(entries, a.every))


if __name__ == "__main__":
    main()
