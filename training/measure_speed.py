"""Time a restore ONNX model on a 12 MP photo with the engine's own tiler (the product's CPU budget: 120 s).

    python -m training.measure_speed resources/models/restore.onnx --threads 2

Uses engine.tiling.run_tiled with the CPU tile size and the registry's overlap, so the figure is what
`photomend restore` spends in the network (decoding, encoding the prompt and saving come on top).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from engine.tiling import default_tile_size, run_tiled


def measure(onnx_path: Path, width: int, height: int, threads: int, overlap: int, multiple_of: int) -> dict:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    # A smooth random photo: content does not change the cost of a convolutional network.
    image = rng.random((height, width, 3), dtype=np.float32)
    emb = rng.standard_normal((1, 384)).astype(np.float32)
    emb /= np.linalg.norm(emb)
    tile = default_tile_size("cpu")

    def infer(batch: np.ndarray) -> np.ndarray:
        return sess.run(["restored"], {"image": batch, "embedding": emb})[0]

    start = time.perf_counter()
    out = run_tiled(image, infer, tile_size=tile, overlap=overlap, multiple_of=multiple_of)
    seconds = time.perf_counter() - start
    assert out.shape == image.shape
    return {
        "megapixels": width * height / 1e6,
        "seconds": round(seconds, 1),
        "tile": tile,
        "overlap": overlap,
        "threads": threads,
        "model_bytes": onnx_path.stat().st_size,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("onnx", type=Path)
    p.add_argument("--width", type=int, default=4000)
    p.add_argument("--height", type=int, default=3000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--overlap", type=int, default=32, help="engine/models/registry.py RESTORE.tile_overlap")
    p.add_argument("--multiple-of", type=int, default=16)
    a = p.parse_args(argv)
    print(json.dumps(measure(a.onnx, a.width, a.height, a.threads, a.overlap, a.multiple_of)))


if __name__ == "__main__":
    main()
