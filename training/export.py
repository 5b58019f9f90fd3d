"""Export a RestoreNet checkpoint to ONNX (dynamic H/W, fp16 weights cast to fp32 in-graph) and check parity.

    python -m training.export runs/cpu1/best_fp16.pt                       # -> resources/models/restore.onnx
    python -m training.export runs/cpu1/best_fp16.pt --out /tmp/r.onnx --fp32
    python -m training.export training/checkpoints/last_fp16.pt --compare old.onnx   # + parity with a file

The graph is RestoreNet's inference form (training/inference_form.py: the same function, shaped for ONNX
Runtime's CPU kernels); parity is checked against the model as trained, and with `--compare` against an
earlier export of the same weights (the released network moved to a new graph without retraining).

Inputs `image` (1,3,H,W) float32 in [0,1] with H, W multiples of `multiple_of` (metadata), and `embedding`
(1,384) float32; output `restored` (1,3,H,W). Weights are stored as fp16 initializers, each followed by a
Cast to fp32, so the file is half the size while every operation still computes in fp32 (a full fp16
graph would lose precision in LayerNorm's variance and is slower on CPUs without fp16 kernels).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from training.inference_form import inference_form
from training.model import RestoreNet, RestoreNetConfig, count_parameters

__all__ = ["build_model", "export_onnx", "fp16_initializers", "onnx_parity", "sha256_of"]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "resources" / "models" / "restore.onnx"
OPSET = 17


def build_model(checkpoint: Path) -> tuple[RestoreNet, dict]:
    """Rebuild the fp32 model from a checkpoint written by training/train.py (fp16 or full)."""
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    state = ckpt.get("state_dict", ckpt.get("model"))
    model = RestoreNet(RestoreNetConfig.from_dict(ckpt["config"]))
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval(), ckpt


def fp16_initializers(model: onnx.ModelProto, min_elements: int = 16) -> onnx.ModelProto:
    """Store float32 initializers as float16 with a Cast back to float32 right after each.

    Tiny tensors (LayerNorm eps, shape constants) stay fp32: they save nothing and some are read by
    shape inference.
    """
    graph = model.graph
    casts = []
    kept = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            kept.append(init)
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + "__fp16")
        kept.append(half)
        casts.append(
            helper.make_node(
                "Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=init.name + "__cast"
            )
        )
    del graph.initializer[:]
    graph.initializer.extend(kept)
    # Casts first: every consumer of the original name now reads the cast's output.
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    return model


def export_image_graph(
    module: torch.nn.Module,
    example: tuple[torch.Tensor, ...],
    path: Path,
    inputs: tuple[str, ...],
    outputs: tuple[str, ...],
    *,
    per_sample: tuple[str, ...] = (),
    fp16_weights: bool = True,
) -> Path:
    """`module` traced to ONNX with a dynamic batch, height and width on every input and output but those in
    `per_sample` (a dynamic batch only, e.g. a refiner's level); weights stored as fp16 and cast back in the
    graph. The refiners' and the enlarger's export."""
    image_axes = {0: "n", 2: "h", 3: "w"}
    axes = {name: ({0: "n"} if name in per_sample else image_axes) for name in (*inputs, *outputs)}
    torch.onnx.export(
        module,
        example,
        str(path),
        input_names=list(inputs),
        output_names=list(outputs),
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )
    if fp16_weights:
        onnx.save(fp16_initializers(onnx.load(str(path))), str(path))
    return path


def export_onnx(
    model: RestoreNet, out: Path, *, fp16_weights: bool = True, metadata: dict | None = None
) -> Path:
    """Trace `model`'s inference form with dynamic height/width and write `out`; returns the path.
    `model` itself is left as it was."""
    m = model.config.multiple_of
    fast = inference_form(copy.deepcopy(model))
    example = (torch.rand(1, 3, 4 * m, 6 * m), torch.rand(1, model.config.embed_dim))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.onnx")
    torch.onnx.export(
        fast,
        example,
        str(tmp),
        input_names=["image", "embedding"],
        output_names=["restored"],
        dynamic_axes={"image": {2: "height", 3: "width"}, "restored": {2: "height", 3: "width"}},
        opset_version=OPSET,
        do_constant_folding=True,
        dynamo=False,
    )
    proto = onnx.load(str(tmp))
    tmp.unlink()
    if fp16_weights:
        proto = fp16_initializers(proto)
    meta = {
        "multiple_of": str(m),
        "config": json.dumps(model.config.to_dict()),
        "weights": "fp16 initializers, fp32 compute" if fp16_weights else "fp32",
        "graph": "inference form (training/inference_form.py)",
    }
    meta.update({k: str(v) for k, v in (metadata or {}).items()})
    for k, v in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(proto)
    onnx.save(proto, str(out))
    return out


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def parity(
    model: RestoreNet, onnx_path: Path, sizes: tuple[tuple[int, int], ...] = ((64, 96), (128, 80))
) -> float:
    """Largest |torch - ORT| over random inputs at the given sizes."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    worst = 0.0
    for h, w in sizes:
        image = rng.random((1, 3, h, w), dtype=np.float32)
        emb = rng.standard_normal((1, model.config.embed_dim)).astype(np.float32)
        emb /= np.linalg.norm(emb)
        with torch.no_grad():
            ref = model(torch.from_numpy(image), torch.from_numpy(emb)).numpy()
        got = sess.run(["restored"], {"image": image, "embedding": emb})[0]
        worst = max(worst, float(np.abs(ref - got).max()))
    return worst


def onnx_parity(source: bytes, out: Path, sizes: tuple[tuple[int, int], ...] = ((256, 384),)) -> float:
    """Largest |source - out| of two exported files over random inputs (the same network, two graphs)."""
    import onnxruntime as ort

    sessions = [
        ort.InferenceSession(model, providers=["CPUExecutionProvider"]) for model in (source, str(out))
    ]
    rng = np.random.default_rng(1)
    worst = 0.0
    for h, w in sizes:
        feeds = {
            "image": rng.random((1, 3, h, w), dtype=np.float32),
            "embedding": (rng.standard_normal((1, 384)) / np.sqrt(384)).astype(np.float32),
        }
        before, after = (s.run(["restored"], feeds)[0] for s in sessions)
        worst = max(worst, float(np.abs(before - after).max()))
    return worst


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--fp32", action="store_true", help="keep fp32 weights (twice the size)")
    p.add_argument("--compare", type=Path, help="an earlier export of the same network: report the parity")
    a = p.parse_args(argv)
    model, ckpt = build_model(a.checkpoint)
    earlier = a.compare.read_bytes() if a.compare is not None else None  # --out may overwrite it
    out = export_onnx(model, a.out, fp16_weights=not a.fp32, metadata={"step": ckpt.get("step", "?")})
    # Parity against the torch model in fp32: with fp16 weights the reference rounds its weights the
    # same way, so the figure measures the exporter, and the fp16 rounding is measured separately.
    report: dict[str, object] = {
        "onnx": str(out),
        "bytes": out.stat().st_size,
        "params": count_parameters(model),
        "step": ckpt.get("step"),
        "max_abs_diff_vs_fp32_torch": parity(model, out),
    }
    rounded = RestoreNet(model.config)
    rounded.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    report["max_abs_diff_vs_fp16_rounded_torch"] = parity(rounded.eval(), out)
    if earlier is not None:
        report["max_abs_diff_vs_compared_onnx"] = onnx_parity(earlier, out)
    report["sha256"] = sha256_of(out)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
