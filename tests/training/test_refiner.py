"""Filter refiners (training side): a fresh network is the DCT filter itself, torch vs ONNX Runtime parity at
two sizes with fp16 weights, the checkpoint round trip, the training cases and vivid colours, and the
shipped refiners' interface."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from engine.models import DENOISE, GRAIN_JPEG, JPEG, SHAKE, ModelSpec, file_sha256, spec_file  # noqa: E402
from tests.training.weights import perturb  # noqa: E402
from training.refiner import (  # noqa: E402
    FilterRefiner,
    RefinerConfig,
    export_onnx,
    grain_jpeg_case,
    jpeg_case,
    load_checkpoint,
    load_onnx_weights,
    misread,
    noise_case,
    parity,
    shake_case,
    shaken,
    vivid,
)

TINY = RefinerConfig(widths=(8, 12, 16), blocks=(1, 1, 1))


def _perturbed(seed: int = 0, config: RefinerConfig = TINY) -> FilterRefiner:
    """Random weights everywhere, the zero-initialised tail included, so parity covers the whole graph."""
    torch.manual_seed(seed)
    return perturb(FilterRefiner(config)).eval()


def test_a_fresh_refiner_returns_the_filtered_photo() -> None:
    decoded, filtered = torch.rand(2, 3, 32, 48), torch.rand(2, 3, 32, 48)
    with torch.no_grad():
        out = FilterRefiner()(decoded, filtered, torch.tensor([[1.0], [0.2]]))
    assert torch.equal(out, filtered)


def test_onnx_matches_torch_at_two_sizes(tmp_path: Path) -> None:
    model = _perturbed()
    path = export_onnx(model, tmp_path / "jpeg.onnx")
    assert parity(model, path, sizes=((32, 48), (60, 36))) < 1e-4
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    image = np.random.default_rng(1).random((1, 6, 44, 28), dtype=np.float32)
    (out,) = session.run(None, {"image": image, "level": np.array([[0.5]], np.float32)})
    assert out.shape == (1, 3, 44, 28)


def test_the_level_changes_the_output(tmp_path: Path) -> None:
    path = export_onnx(_perturbed(), tmp_path / "jpeg.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    image = np.random.default_rng(2).random((1, 6, 32, 32), dtype=np.float32)
    low, high = (
        session.run(None, {"image": image, "level": np.array([[s]], np.float32)})[0] for s in (0.1, 1.5)
    )
    assert np.abs(low - high).max() > 1e-3


def test_fp16_weights_halve_the_file(tmp_path: Path) -> None:
    model = _perturbed(config=RefinerConfig())
    full = export_onnx(model, tmp_path / "fp32.onnx", fp16_weights=False).stat().st_size
    half = export_onnx(model, tmp_path / "fp16.onnx").stat().st_size
    assert half < 0.6 * full


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    model = _perturbed(3)
    path = tmp_path / "best.pt"
    torch.save({"model": model.state_dict(), "config": {"widths": [8, 12, 16], "blocks": [1, 1, 1]}}, path)
    loaded = load_checkpoint(path)
    args = (torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), torch.tensor([[0.7]]))
    with torch.no_grad():
        assert torch.equal(loaded(*args), model(*args))


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A 192 x 192 crop of a real photo shipped with the tests."""
    from PIL import Image

    image = Image.open(Path(__file__).resolve().parents[1] / "data" / "path_1200.jpg").convert("RGB")
    return np.asarray(image, np.float32)[400:592, 500:692] / 255.0


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))


def test_a_jpeg_case_is_the_decoded_file_its_filtered_self_and_the_scale(photo: np.ndarray) -> None:
    decoded, filtered, level = jpeg_case(photo, 10)
    assert level == pytest.approx(1.0)  # quality 10 is the unit
    assert jpeg_case(photo, 50)[2] == pytest.approx(0.2)
    assert _psnr(decoded, photo) < _psnr(filtered, photo)


def test_a_noise_case_carries_the_level_the_engine_reads(photo: np.ndarray) -> None:
    noisy, filtered, level = noise_case(photo, np.random.default_rng(0), "sigma25")
    assert np.array_equal(noisy, np.round(noisy * 255) / 255)  # 8 bits, as a saved photo
    assert level == pytest.approx(0.5, abs=0.1)  # σ 25 in units of σ 50
    assert _psnr(filtered, photo) > _psnr(noisy, photo) + 5.0


def test_a_shake_case_is_the_8_bit_shaken_crop_its_deconvolution_and_the_path_length(
    photo: np.ndarray,
) -> None:
    levels = []
    for seed in range(6):
        blurred, restored, level = shake_case(photo, np.random.default_rng(seed), 21)
        assert np.array_equal(blurred, np.round(blurred * 255) / 255)  # 8 bits, as a saved photo
        assert restored.shape == blurred.shape and restored.min() >= 0.0 and restored.max() <= 1.0
        levels.append(level)
    # the true path (about 20 px: level ~1) or a misread one: shrunk, stretched or blurred around it
    assert all(0.6 < level < 1.6 for level in levels)
    blurred, kernel = shaken(photo, np.random.default_rng(7), 21, 0.5)
    assert kernel.shape == (21, 21) and _psnr(blurred, photo) < 30.0


def test_a_misread_path_keeps_its_frame_and_mass_but_differs() -> None:
    from training.degradations import motion_kernel

    truth = motion_kernel(np.random.default_rng(0), 21, 0.5)
    reads = [misread(truth, np.random.default_rng(seed)) for seed in range(20)]
    for read in reads:
        assert read.shape == truth.shape and read.dtype == np.float32
        assert read.min() >= 0.0 and read.sum() == pytest.approx(1.0, abs=1e-5)
    changed = [float(np.abs(read - truth).sum()) for read in reads]
    assert sum(change > 0.05 for change in changed) >= 15  # most draws misread it; a few keep it nearly


def test_vivid_colours_keep_their_grey_and_clip(photo: np.ndarray) -> None:
    grey = photo @ np.array([0.299, 0.587, 0.114], np.float32)
    assert np.allclose(vivid(photo, 1.0), photo, atol=1e-6)
    strong = vivid(photo, 3.0)
    inside = np.all((strong > 0.0) & (strong < 1.0), axis=2)
    assert strong.min() == 0.0 and 0.0 < inside.mean() < 1.0  # some channels clip, most pixels do not
    assert np.allclose(
        (strong @ np.array([0.299, 0.587, 0.114], np.float32))[inside], grey[inside], atol=1e-5
    )
    spread = (strong - strong.mean(axis=2, keepdims=True))[inside]
    assert np.abs(spread).mean() > 2.0 * np.abs((photo - photo.mean(axis=2, keepdims=True))[inside]).mean()


def test_a_grain_jpeg_case_is_grain_saved_as_a_jpeg_filtered_at_the_jpegs_level(photo: np.ndarray) -> None:
    decoded, filtered, level = grain_jpeg_case(photo, np.random.default_rng(0), 15.0, 40)
    assert level == pytest.approx(jpeg_case(photo, 40)[2])  # the quality's scale: the grain is not told
    assert np.array_equal(decoded, np.round(decoded * 255) / 255)
    clean_jpeg = jpeg_case(photo, 40)[0]
    assert _psnr(decoded, photo) < _psnr(clean_jpeg, photo) - 1.0  # the grain is there, under the blocks
    none = grain_jpeg_case(photo, np.random.default_rng(0), 0.0, 40)
    assert np.array_equal(none[0], clean_jpeg)  # no grain: a plain JPEG
    draws = [grain_jpeg_case(photo, np.random.default_rng(seed))[2] for seed in range(8)]
    assert len(set(draws)) > 4  # the quality is drawn


def test_a_shipped_refiner_is_read_back_from_its_onnx_file(tmp_path: Path) -> None:
    model = _perturbed(config=RefinerConfig())
    path = export_onnx(model, tmp_path / "refiner.onnx")
    back = load_onnx_weights(path).eval()
    weights = model.state_dict()
    assert back.state_dict().keys() == weights.keys()
    for name, value in back.state_dict().items():  # as stored: fp16 (rounded) or fp32 (exact)
        assert torch.equal(value, weights[name].half().float()) or torch.equal(value, weights[name]), name
    assert load_checkpoint(path).config == RefinerConfig()


@pytest.mark.parametrize("spec", [JPEG, DENOISE, SHAKE, GRAIN_JPEG], ids=lambda spec: spec.id)
def test_shipped_refiner_has_the_registry_interface(spec: ModelSpec) -> None:
    path = spec_file(spec)
    if not path.is_file():
        pytest.fail(f"{path} is not shipped")
    assert path.stat().st_size < 2_000_000
    assert file_sha256(path) == spec.sha256
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(spec.inputs)
    assert session.get_inputs()[0].shape[1] == 6
    assert [o.name for o in session.get_outputs()] == [spec.output]


def test_sample_folders_are_joined_in_order(tmp_path: Path) -> None:
    from training.refiner import load_samples

    for name, count, value in (("a", 2, 10), ("b", 3, 20)):
        (tmp_path / name).mkdir()
        crops = np.full((count, 4, 4, 3), value, np.uint8)
        scale = np.arange(count, dtype=np.float32) + value
        np.savez(tmp_path / name / "samples.npz", clean=crops, decoded=crops, filtered=crops, scale=scale)
    joined = load_samples([tmp_path / "a", tmp_path / "b"])
    assert set(joined) == {"clean", "decoded", "filtered", "scale"}
    assert joined["clean"].shape == (5, 4, 4, 3)
    assert joined["scale"].tolist() == [10.0, 11.0, 20.0, 21.0, 22.0]
    assert joined["decoded"][:2].max() == 10 and joined["decoded"][2:].min() == 20
