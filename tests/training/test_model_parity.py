"""RestoreNet: torch vs ONNX Runtime parity at two sizes (dynamic H/W), fp32 and fp16-weight exports;
growing a trained network into a deeper one; the frozen task prior."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from tests.training.weights import perturb  # noqa: E402
from training.export import export_onnx, onnx_parity  # noqa: E402
from training.model import RestoreNet, RestoreNetConfig, grow, pad_to_multiple  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "resources" / "models" / "restore.onnx"

TINY = RestoreNetConfig(width=8, enc_blocks=(1, 1), middle_blocks=1, dec_blocks=(1, 1), instruction_dim=16)
TINY_PRIOR = dataclasses.replace(TINY, task_prior=True)
TINY_EXPERT = dataclasses.replace(TINY_PRIOR, experts=("deblur",), expert_width=8)
DEBLUR_PROMPT = "the camera shook, sharpen it"


def _random_model(config: RestoreNetConfig, seed: int = 0) -> RestoreNet:
    torch.manual_seed(seed)
    # Fresh blocks start as identities (zero beta/gamma): perturbed, parity covers the whole graph.
    return perturb(RestoreNet(config)).eval()


def _inputs(h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    image = rng.random((1, 3, h, w), dtype=np.float32)
    emb = rng.standard_normal((1, 384)).astype(np.float32)
    return image, emb / np.linalg.norm(emb)


@pytest.fixture(
    scope="module",
    params=[TINY, TINY_PRIOR, TINY_EXPERT, RestoreNetConfig()],
    ids=["tiny", "tiny-task-prior", "tiny-deblur-expert", "default"],
)
def model(request) -> RestoreNet:
    return _random_model(request.param)


@pytest.mark.parametrize(
    ("fp16", "tolerance"), [(False, 1e-3), (True, 2 / 255)], ids=["fp32", "fp16-weights"]
)
def test_torch_and_onnxruntime_agree_at_two_sizes(model: RestoreNet, fp16: bool, tolerance: float, tmp_path):
    if fp16:
        # Shipped weights come from fp16 checkpoints, so the reference holds the same fp16-rounded values;
        # what is left to compare is the exporter and the in-graph Cast back to fp32.
        rounded = RestoreNet(model.config).eval()
        rounded.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
        model = rounded
    path = export_onnx(model, tmp_path / "restore.onnx", fp16_weights=fp16)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    m = model.config.multiple_of
    from engine.instructions import encode

    for i, (h, w) in enumerate([(2 * m, 3 * m), (5 * m, 2 * m)]):
        image, emb = _inputs(h, w, seed=i)
        if i:  # a real prompt, so that an expert's gate is open (random embeddings close every gate)
            emb = encode([DEBLUR_PROMPT]).astype(np.float32)
        with torch.no_grad():
            ref = model(torch.from_numpy(image), torch.from_numpy(emb)).numpy()
        got = sess.run(["restored"], {"image": image, "embedding": emb})[0]
        assert got.shape == (1, 3, h, w)
        assert np.abs(ref - got).max() < tolerance


def test_fp16_weight_export_is_about_half_the_size(tmp_path):
    model = _random_model(RestoreNetConfig())
    full = export_onnx(model, tmp_path / "fp32.onnx", fp16_weights=False).stat().st_size
    half = export_onnx(model, tmp_path / "fp16.onnx", fp16_weights=True).stat().st_size
    assert half < 0.6 * full


def test_export_declares_names_dynamic_axes_and_multiple_of(tmp_path):
    model = _random_model(TINY)
    sess = ort.InferenceSession(
        str(export_onnx(model, tmp_path / "r.onnx")), providers=["CPUExecutionProvider"]
    )
    inputs = {i.name: i.shape for i in sess.get_inputs()}
    assert set(inputs) == {"image", "embedding"}
    assert inputs["image"][:2] == [1, 3] and all(isinstance(d, str) for d in inputs["image"][2:])
    assert inputs["embedding"] == [1, 384]
    assert [o.name for o in sess.get_outputs()] == ["restored"]
    assert sess.get_modelmeta().custom_metadata_map["multiple_of"] == str(TINY.multiple_of)


def _op_types(path: Path) -> set[str]:
    onnx = pytest.importorskip("onnx")
    return {node.op_type for node in onnx.load(str(path)).graph.node}


def test_export_writes_the_inference_form_and_leaves_the_model_as_it_was(tmp_path):
    ops = _op_types(export_onnx(_random_model(TINY_PRIOR), tmp_path / "r.onnx"))
    # no strided channel reduction, no Slice for SimpleGate, no PixelShuffle: see training/inference_form.py
    assert not ops & {"ReduceMean", "Slice", "DepthToSpace", "Split"}
    assert {"ConvTranspose", "GlobalAveragePool", "Conv", "Mul"} <= ops
    model = _random_model(TINY_EXPERT)  # an expert's blocks too (its own PixelShuffle ending stays)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert "ReduceMean" not in _op_types(export_onnx(model, tmp_path / "expert.onnx"))
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert all(type(m).__name__ != "FastNAFBlock" for m in model.modules())


def test_the_inference_form_and_the_textbook_graph_compute_the_same(tmp_path, monkeypatch):
    import training.export as export_module

    model = _random_model(RestoreNetConfig())
    fast = export_onnx(model, tmp_path / "fast.onnx")
    monkeypatch.setattr(export_module, "inference_form", lambda m: m)  # the textbook graph
    textbook = export_onnx(model, tmp_path / "textbook.onnx")
    assert "ReduceMean" in _op_types(textbook)
    assert onnx_parity(textbook.read_bytes(), fast, sizes=((64, 96),)) < 1e-3


@pytest.mark.skipif(not SHIPPED.exists(), reason="resources/models/restore.onnx not exported yet")
def test_the_shipped_network_is_exported_in_the_inference_form():
    ops = _op_types(SHIPPED)
    assert "ReduceMean" not in ops and "Slice" not in ops
    sess = ort.InferenceSession(str(SHIPPED), providers=["CPUExecutionProvider"])
    assert sess.get_modelmeta().custom_metadata_map["graph"].startswith("inference form")


def test_pad_to_multiple_reaches_the_multiple():
    x = torch.rand(1, 3, 30, 17)
    padded, ph, pw = pad_to_multiple(x, 16)
    assert padded.shape[-2:] == (32, 32) and (ph, pw) == (2, 15)
    assert RestoreNetConfig().multiple_of == 16  # engine/models/registry.py's RESTORE.multiple_of


@pytest.mark.skipif(not SHIPPED.exists(), reason="resources/models/restore.onnx not exported yet")
@pytest.mark.parametrize(("h", "w"), [(32, 48), (64, 32)])
def test_shipped_model_runs_at_dynamic_sizes(h: int, w: int):
    sess = ort.InferenceSession(str(SHIPPED), providers=["CPUExecutionProvider"])
    image, emb = _inputs(h, w, seed=h)
    out = sess.run(["restored"], {"image": image, "embedding": emb})[0]
    assert out.shape == (1, 3, h, w) and np.isfinite(out).all()


def test_a_grown_network_computes_what_the_small_one_did() -> None:
    small = _random_model(TINY)
    deeper = RestoreNetConfig(
        width=8, enc_blocks=(2, 1), middle_blocks=3, dec_blocks=(1, 2), instruction_dim=16
    )
    big = grow(small.state_dict(), TINY, deeper).eval()
    assert sum(p.numel() for p in big.parameters()) > sum(p.numel() for p in small.parameters())
    image, emb = (torch.from_numpy(a) for a in _inputs(32, 48, seed=3))
    with torch.no_grad():
        assert torch.allclose(big(image, emb), small(image, emb), atol=1e-6)
    # and the added blocks can learn: their residual scales get gradients
    big.train()
    big(image, emb).sum().backward()
    assert float(big.middle[2].beta.grad.abs().sum()) > 0


@pytest.mark.parametrize(
    ("change", "message"),
    [({"middle_blocks": 0}, "only add blocks"), ({"width": 16}, "must match")],
    ids=["shrink", "widen"],
)
def test_growing_refuses_to_shrink_or_widen(change: dict, message: str) -> None:
    state = _random_model(TINY).state_dict()
    with pytest.raises(ValueError, match=message):
        grow(state, TINY, dataclasses.replace(TINY, **change))


def test_the_task_prior_is_the_engines_task_head_and_starts_silent() -> None:
    from engine.instructions import encode
    from engine.instructions.head import TaskHead

    small = _random_model(TINY)
    with_prior = grow(small.state_dict(), TINY, TINY_PRIOR).eval()
    prompts = ["the camera shook, sharpen it", "remove the jpeg blocks", "it's grainy", "clear the haze"]
    emb = torch.from_numpy(encode(prompts))
    with torch.no_grad():
        probs = with_prior.task_prior.probabilities(emb).numpy()
        image = torch.rand(len(prompts), 3, 32, 48)
        # its output layer starts at zero: adding the prior to a trained network changes nothing
        assert torch.equal(with_prior(image, emb), small(image, emb))
    head = TaskHead()
    # the prior keeps the restoration tasks: every head column but enlarging, the last
    assert with_prior.task_prior.tasks == tuple(t for t in head.tasks if t != "upscale") == head.tasks[:-1]
    expected = np.stack([o.task_probs[:-1] for o in head.predict(emb.numpy())])
    assert np.abs(probs - expected).max() < 1e-5
    # the prompts the sentence encoder embeds alike come apart here
    assert [head.tasks[i] for i in probs.argmax(axis=1)] == ["deblur", "jpeg", "denoise", "dehaze"]
    # only the output layer learns; the head's weights are buffers
    assert {n for n, _ in with_prior.task_prior.named_parameters()} == {"fc.weight", "fc.bias"}
    with_prior.train()
    with_prior(image, emb).sum().backward()
    assert float(with_prior.task_prior.fc.weight.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match="task prior"):
        grow(with_prior.state_dict(), TINY_PRIOR, TINY)


def test_an_expert_starts_silent_and_then_changes_only_what_its_task_prompts_ask() -> None:
    from engine.instructions import encode

    small = _random_model(TINY)
    with_expert = grow(small.state_dict(), TINY, TINY_EXPERT).eval()
    prompts = [DEBLUR_PROMPT, "it's grainy, remove the noise", "brighten this dark photo", "clear the haze"]
    emb = torch.from_numpy(encode(prompts))
    image = torch.rand(len(prompts), 3, 32, 48)
    with torch.no_grad():
        assert torch.equal(with_expert(image, emb), small(image, emb))  # zero last layer: silent
        perturb(with_expert.experts)  # as if trained
        change = (with_expert(image, emb) - small(image, emb)).abs().amax(dim=(1, 2, 3))
    # gated by the task prior's deblur probability: the blur prompt changes, the others (nearly) do not (the
    # head gives them 1-2 % deblur, the blur prompt over 90 %)
    assert float(change[0]) > 1e-3
    assert float(change[1:].max()) < 0.05 * float(change[0])
    with pytest.raises(ValueError, match="task prior"):
        RestoreNet(dataclasses.replace(TINY, experts=("deblur",)))
    with pytest.raises(ValueError, match="no task named"):
        RestoreNet(dataclasses.replace(TINY_PRIOR, experts=("sharpen",)))
    with pytest.raises(ValueError, match="only add experts"):
        grow(with_expert.state_dict(), TINY_EXPERT, TINY_PRIOR)
