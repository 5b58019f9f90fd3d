"""The journal key of one output: everything that decides its pixels, so that anything else is redone.

key = sha256 of {the source's bytes' sha256, the instruction as interpreted, the models' sha256, the options}:
- the instruction: its wording (whitespace collapsed, as interpret() reads it: the network is conditioned on
  the wording's embedding, not only on the tasks), its tasks, its strength and its enlargement (the scale,
  or the size asked for); for an empty prompt the word
  "detect": what the detector finds is decided by the photo's bytes and the detector model, both already in
  the key, so the same photo always gets the same detection (the journal records what was found);
- the models: the sha256 of every file in engine.models.REGISTRY (each file is checked against it before
  use), so a new model redoes every photo;
- the options: the output's name inside the folder (which also gives its format) and the strength.
The device and the tile size are not in it: they change how the work is done, not what is asked for.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from engine.instructions import Interpretation
from engine.models import REGISTRY


def instruction_key(interpretation: Interpretation | None) -> dict[str, Any]:
    if interpretation is None:
        return {"detect": True}
    target = getattr(interpretation, "target", None)
    return {
        "text": " ".join(interpretation.text.split()),
        "tasks": list(interpretation.tasks),
        "strength": round(float(interpretation.strength), 3),
        # an enlargement's factor, or the size it asks for (Interpretation.scale and .target)
        "scale": int(getattr(interpretation, "scale", 1)),
        "target": list(target) if target is not None else None,
    }


def models_key() -> str:
    """One digest of every registry model's id and sha256."""
    listing = "\n".join(f"{spec.id}={spec.sha256}" for spec in REGISTRY)
    return hashlib.sha256(listing.encode()).hexdigest()


def options_key(output_name: str, output_format: str | None, strength: float) -> dict[str, Any]:
    return {"output": output_name, "format": output_format, "strength": round(float(strength), 4)}


def job_key(source_sha256: str, instruction: dict[str, Any], models: str, options: dict[str, Any]) -> str:
    described = {"source": source_sha256, "instruction": instruction, "models": models, "options": options}
    # ensure_ascii: an output name that is not UTF-8 (surrogate escapes) still hashes the same every time
    text = json.dumps(described, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()
