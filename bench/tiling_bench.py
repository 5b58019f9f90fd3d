"""Tiled-inference benchmark: throughput (MP/s) and peak RSS per image size, each size in a fresh process.

    .venv/bin/python bench/tiling_bench.py                      # 12 MP and 48 MP, cheap built conv model
    .venv/bin/python bench/tiling_bench.py --sizes 12 --model resources/models/restore.onnx

Peak RSS (ru_maxrss) only ever grows, so each size runs in its own subprocess. The figure to watch is
"overhead": peak RSS minus the process baseline (interpreter, ONNX Runtime, loaded session) minus the
input and output buffers themselves. Tiling is working when the overhead stays flat as the image grows.
Building the default model needs the `onnx` package (the `train` extra); --model needs only onnxruntime.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.models import ModelSpec, file_sha256  # noqa: E402
from engine.runtime import get_session  # noqa: E402
from engine.tiling import TilePlan, default_tile_size, run_tiled  # noqa: E402

#: megapixels -> (height, width), 4:3 like most camera sensors
SIZES = {12: (3000, 4000), 24: (4240, 5656), 48: (6000, 8000)}
MB = 1024 * 1024


def build_conv_model(path: Path, width: int, layers: int) -> float:
    """A residual stack of 3x3 convolutions (3 -> width -> ... -> 3); returns its cost in MAC per pixel."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    channels = [3] + [width] * (layers - 1) + [3]
    nodes, weights = [], []
    previous = "image"
    for i in range(layers):
        fan_in = channels[i] * 9
        shape = (channels[i + 1], channels[i], 3, 3)
        kernel = rng.normal(0.0, math.sqrt(2.0 / fan_in), shape).astype(np.float32)
        weights.append(numpy_helper.from_array(kernel * (0.1 if i == layers - 1 else 1.0), f"w{i}"))
        weights.append(numpy_helper.from_array(np.zeros(channels[i + 1], np.float32), f"b{i}"))
        out = f"conv{i}"
        nodes.append(helper.make_node("Conv", [previous, f"w{i}", f"b{i}"], [out], pads=[1, 1, 1, 1]))
        if i < layers - 1:
            nodes.append(helper.make_node("Relu", [out], [f"relu{i}"]))
            out = f"relu{i}"
        previous = out
    nodes.append(helper.make_node("Add", ["image", previous], ["output"]))  # restoration nets are residual
    graph = helper.make_graph(
        nodes,
        "bench_conv",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, "h", "w"])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return float(sum(channels[i] * channels[i + 1] * 9 for i in range(layers)))


def spec_for(path: Path) -> tuple[ModelSpec, dict[str, np.ndarray]]:
    """A spec built from the file's own inputs; non-image inputs (e.g. the embedding) are fed zeros."""
    import onnxruntime as ort

    probe = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = probe.get_inputs()
    image = next(i for i in inputs if len(i.shape) == 4)
    extras = {
        i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape], dtype=np.float32)
        for i in inputs
        if i.name != image.name
    }
    names = (image.name, *extras)
    spec = ModelSpec(
        id=path.stem,
        file=str(path.resolve()),
        sha256=file_sha256(path),
        inputs=names,
        output=probe.get_outputs()[0].name,
    )
    return spec, extras


def current_rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def peak_rss() -> int:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def run_one(args: argparse.Namespace) -> dict[str, float | int | str]:
    """One size in this process: returns the figures as a dict (printed as JSON for the parent)."""
    height, width = SIZES[args.child]
    spec, extras = spec_for(Path(args.model_path))
    session = get_session(spec, "cpu", threads=args.threads)
    infer = session.tile_infer(extras)
    tile = args.tile or default_tile_size(session.device)
    baseline = current_rss()

    image = np.empty((height, width, 3), dtype=np.float32)
    rng = np.random.default_rng(1)
    for y in range(0, height, 256):  # filled in bands: no full-size temporary
        rng.random(out=image[y : y + 256], dtype=np.float32)
    after_input = current_rss()

    started = time.perf_counter()
    output = run_tiled(image, infer, tile_size=tile, overlap=args.overlap, multiple_of=args.multiple)
    seconds = time.perf_counter() - started
    peak = peak_rss()
    plan = TilePlan.build(height, width, tile_size=tile, overlap=args.overlap, multiple_of=args.multiple)
    return {
        "megapixels": height * width / 1e6,
        "size": f"{width}x{height}",
        "tiles": len(plan),
        "tile": tile,
        "seconds": seconds,
        "mp_per_s": height * width / 1e6 / seconds,
        "baseline_mb": baseline / MB,
        "input_mb": image.nbytes / MB,
        "output_mb": output.nbytes / MB,
        "input_rss_mb": (after_input - baseline) / MB,
        "peak_rss_mb": peak / MB,
        "overhead_mb": (peak - baseline - image.nbytes - output.nbytes) / MB,
        "device": session.device,
        "finite": int(bool(np.isfinite(output[:: max(1, height // 64)]).all())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="12,48", help="megapixels to run, from 12, 24, 48 (default 12,48)")
    parser.add_argument("--model", help="an ONNX model to run instead of the built conv stack")
    parser.add_argument("--width", type=int, default=16, help="channels of the built stack")
    parser.add_argument("--layers", type=int, default=3, help="3x3 convs in the built stack")
    parser.add_argument("--tile", type=int, default=0, help="tile size (default: engine's CPU default)")
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--multiple", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0, help="ONNX Runtime threads (0: its choice)")
    parser.add_argument("--json", action="store_true", help="one JSON object per size")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--model-path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(run_one(args)))
        return 0

    sizes = [int(s) for s in args.sizes.split(",")]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size(s) {unknown}; choose from {sorted(SIZES)}")
    with tempfile.TemporaryDirectory(prefix="photomend-bench-") as scratch:
        if args.model:
            model_path = Path(args.model)
            digest = hashlib.sha256(model_path.read_bytes()).hexdigest()
            model_desc = f"{model_path.name} (sha256 {digest[:12]})"
        else:
            model_path = Path(scratch) / "bench_conv.onnx"
            macs = build_conv_model(model_path, args.width, args.layers)
            model_desc = f"built conv stack {args.layers}x3x3, width {args.width} ({macs / 1000:.1f} kMAC/px)"
        print(f"model: {model_desc}")
        print(f"overlap {args.overlap}, multiple {args.multiple}, ORT threads {args.threads or 'auto'}")
        rows = []
        for size in sizes:
            command = [sys.executable, str(Path(__file__).resolve()), "--child", str(size)]
            command += ["--model-path", str(model_path), "--tile", str(args.tile)]
            command += ["--overlap", str(args.overlap), "--multiple", str(args.multiple)]
            command += ["--threads", str(args.threads)]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return 1
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(row)
            if args.json:
                print(json.dumps(row))
    if not args.json:
        header = (
            f"{'size':>10} {'MP':>5} {'tiles':>5} {'tile':>4} {'s':>7} {'MP/s':>6} "
            f"{'base MB':>8} {'in MB':>7} {'out MB':>7} {'peak MB':>8} {'overhead MB':>11}"
        )
        print(header)
        for r in rows:
            print(
                f"{r['size']:>10} {r['megapixels']:>5.1f} {r['tiles']:>5} {r['tile']:>4} "
                f"{r['seconds']:>7.1f} {r['mp_per_s']:>6.2f} {r['baseline_mb']:>8.0f} "
                f"{r['input_mb']:>7.0f} {r['output_mb']:>7.0f} {r['peak_rss_mb']:>8.0f} "
                f"{r['overhead_mb']:>11.0f}"
            )
        print("overhead = peak RSS - baseline (interpreter + ORT + session) - input - output buffers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
