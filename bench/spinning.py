"""ONNX Runtime's thread spinning: the sample restored with the engine's session options and with spinning
allowed (ORT's default), alternating in one process; wall and CPU seconds per run; whether the pixels match.

    .venv/bin/python -m bench.spinning [--rounds 2] [--prompt "it's grainy, clean up the noise"]

Spinning keeps idle worker threads busy-waiting for the next operator: it buys little wall time on a free
machine and burns CPU that other programs (and the engine's own numpy stages) need on a busy one.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

import engine.runtime.sessions as sessions
from engine.io import read_photo
from engine.pipeline import restore

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "samples" / "sample_noisy.jpg"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--prompt", default="it's grainy, clean up the noise")
    args = parser.parse_args(argv)
    ort.set_default_logger_severity(3)  # overwriting the engine's spinning entry is what this bench does
    photo = read_photo(SAMPLE)
    engines_options = sessions.session_options

    def spinning(providers: list[str], threads: int = 0):  # noqa: ANN202 - an ort.SessionOptions
        options = engines_options(providers, threads)
        options.add_session_config_entry("session.intra_op.allow_spinning", "1")
        return options

    outputs: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for label, options in (("engine (no spinning)", engines_options), ("spinning allowed", spinning)):
            sessions.session_options = options
            sessions.clear_session_cache()
            wall, cpu = time.perf_counter(), time.process_time()
            outputs[label] = restore(photo, args.prompt).restored
            print(
                f"{label:22s} {time.perf_counter() - wall:5.1f} s wall {time.process_time() - cpu:5.1f} s CPU"
            )
    sessions.session_options = engines_options
    first, second = outputs.values()
    print("identical pixels:", bool(np.array_equal(first, second)))


if __name__ == "__main__":
    main()
