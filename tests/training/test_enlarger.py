"""The super-resolution network (training side): a fresh network is bicubic enlargement, torch vs ONNX Runtime
parity at both scales with fp16 weights, the checkpoint round trip, and the small photos it trains on."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

import torch.nn.functional as F  # noqa: E402

from engine.models import ENLARGE_X2, ENLARGE_X4, file_sha256, spec_file  # noqa: E402
from tests.training.weights import perturb  # noqa: E402
from training.enlarger import (  # noqa: E402
    Enlarger,
    EnlargerConfig,
    camera_small,
    export_onnx,
    load_checkpoint,
    parity,
    shrink,
)

TINY = EnlargerConfig(width=8, blocks=1, tail_width=4)


def _perturbed(seed: int = 0, config: EnlargerConfig = TINY) -> Enlarger:
    torch.manual_seed(seed)
    return perturb(Enlarger(config)).eval()


@pytest.mark.parametrize("scale", [2, 4])
def test_a_fresh_network_is_bicubic_enlargement(scale: int) -> None:
    image = torch.rand(2, 3, 12, 20)
    with torch.no_grad():
        out = Enlarger(TINY)(image, scale)
    bicubic = F.interpolate(image, scale_factor=scale, mode="bicubic", align_corners=False)
    assert out.shape == (2, 3, 12 * scale, 20 * scale)
    assert torch.equal(out, bicubic)


@pytest.mark.parametrize("scale", [2, 4])
def test_onnx_matches_torch_at_two_sizes(tmp_path: Path, scale: int) -> None:
    model = _perturbed()
    path = export_onnx(model, scale, tmp_path / f"x{scale}.onnx")
    assert parity(model, scale, path, sizes=((20, 28), (17, 33))) < 1e-4
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"image": np.random.default_rng(1).random((1, 3, 9, 14), dtype=np.float32)})
    assert out.shape == (1, 3, 9 * scale, 14 * scale)


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    model = _perturbed(3)
    path = tmp_path / "last.pt"
    torch.save({"model": model.state_dict(), "config": {"width": 8, "blocks": 1, "tail_width": 4}}, path)
    image = torch.rand(1, 3, 10, 10)
    with torch.no_grad():
        assert torch.equal(load_checkpoint(path)(image, 4), model(image, 4))


def test_small_photos_are_a_scale_smaller_and_camera_ones_differ_from_clean_ones() -> None:
    rng = np.random.default_rng(0)
    big = cv2.GaussianBlur((rng.random((96, 96, 3)) * 255).astype(np.uint8), (0, 0), 2.0)
    for scale in (2, 4):
        clean = shrink(big, scale, "bicubic")
        area = shrink(big, scale, "area")
        camera = camera_small(big, scale, np.random.default_rng(scale))
        assert clean.shape == area.shape == camera.shape == (96 // scale, 96 // scale, 3)
        assert clean.dtype == camera.dtype == np.uint8
    # An area-shrunk photo is each block's mean.
    assert abs(int(shrink(big, 2, "area")[5, 7, 1]) - big[10:12, 14:16, 1].mean()) <= 1


def test_the_shipped_networks_are_the_registry_s_files_and_enlarge() -> None:
    for spec, scale in ((ENLARGE_X2, 2), (ENLARGE_X4, 4)):
        path = spec_file(spec)
        assert file_sha256(path) == spec.sha256
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == list(spec.inputs)
        assert session.get_outputs()[0].name == spec.output
        (out,) = session.run(None, {"image": np.full((1, 3, 16, 24), 0.5, np.float32)})
        assert out.shape == (1, 3, 16 * scale, 24 * scale)
        assert np.abs(out - 0.5).max() < 0.02  # a flat photo stays flat
