"""Degradation detector (training side): torch vs ONNX Runtime parity, in-graph statistics, shipped file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")

from engine.models import DETECTOR, file_sha256, spec_file  # noqa: E402
from engine.pipeline.detect import DETECTED_TASKS as TASKS  # noqa: E402  (the detector's six faults)
from engine.pipeline.detect import detector_canvas  # noqa: E402
from tests.conftest import add_noise, textured_image  # noqa: E402
from training.detector import (  # noqa: E402
    CLEAN_SHARE,
    DegradationDetector,
    DetectorConfig,
    PhotoStatistics,
    canvas_u8,
    export_onnx,
    load_checkpoint,
    sample_task_set,
    save_checkpoint,
)


def _canvas_batch(seeds: list[int], sigma: float) -> np.ndarray:
    canvases = [
        detector_canvas(add_noise(textured_image(300, 360, seed=s), sigma, seed=s), 256) for s in seeds
    ]
    return np.stack(canvases).transpose(0, 3, 1, 2).astype(np.float32)


@pytest.fixture(params=["conv2", "patch4"])
def trained_like_model(request: pytest.FixtureRequest) -> DegradationDetector:
    """A detector with random weights and non-trivial batch-norm statistics, as after training; with the
    shipped stem and the earlier one."""
    torch.manual_seed(3)
    model = DegradationDetector(DetectorConfig(stem=request.param))
    model.train()
    with torch.no_grad():
        for _ in range(3):  # batch-norm running statistics move away from their (0, 1) defaults
            model(torch.rand(4, 3, 256, 256))
    return model.eval()


@pytest.mark.parametrize("sigma", [0.0, 0.1])
def test_onnx_matches_torch(trained_like_model: DegradationDetector, tmp_path: Path, sigma: float) -> None:
    path = tmp_path / "detector.onnx"
    export_onnx(trained_like_model, path)
    batch = _canvas_batch([1, 2], sigma)
    with torch.no_grad():
        expected = trained_like_model(torch.from_numpy(batch)).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {"image": batch})[0]
    assert got.shape == (2, len(TASKS))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_export_threshold_moves_the_decision_point(
    trained_like_model: DegradationDetector, tmp_path: Path
) -> None:
    # With threshold 0.6 folded in, the engine's sigmoid >= 0.5 means probability >= 0.6 in torch.
    path = tmp_path / "calibrated.onnx"
    export_onnx(trained_like_model, path, threshold=0.6)
    batch = _canvas_batch([5], 0.02)
    with torch.no_grad():
        torch_logits = trained_like_model(torch.from_numpy(batch)).numpy()
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": batch})[0]
    np.testing.assert_allclose(got, torch_logits - np.log(0.6 / 0.4), rtol=1e-4, atol=1e-4)


def test_export_folds_one_threshold_per_task(trained_like_model: DegradationDetector, tmp_path: Path) -> None:
    thresholds = {"denoise": 0.7, "deblur": 0.35, "jpeg": 0.27}  # the others stay at 0.5
    path = tmp_path / "per_task.onnx"
    export_onnx(trained_like_model, path, threshold=thresholds)
    batch = _canvas_batch([6], 0.03)
    with torch.no_grad():
        torch_logits = trained_like_model(torch.from_numpy(batch)).numpy()
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": batch})[0]
    shift = np.array([np.log(thresholds.get(t, 0.5) / (1 - thresholds.get(t, 0.5))) for t in TASKS])
    np.testing.assert_allclose(got, torch_logits - shift[None, :], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="unknown tasks"):
        export_onnx(trained_like_model, path, threshold={"sharpen": 0.5})


def test_checkpoint_round_trip(trained_like_model: DegradationDetector, tmp_path: Path) -> None:
    save_checkpoint(trained_like_model, tmp_path / "d.pt", {"note": "test"})
    again = load_checkpoint(tmp_path / "d.pt")
    batch = torch.from_numpy(_canvas_batch([4], 0.05))
    with torch.no_grad():
        torch.testing.assert_close(again(batch), trained_like_model(batch))


def test_noise_statistic_tracks_the_noise_level() -> None:
    # The Immerkaer estimate (first local statistic, a log sigma) must order photos by their noise.
    stats = PhotoStatistics()
    clean = textured_image(128, 128, seed=5)
    sigmas = [0.0, 0.02, 0.05, 0.1]
    crops = torch.from_numpy(np.stack([add_noise(clean, s, seed=6) for s in sigmas]).transpose(0, 3, 1, 2))
    estimates = torch.exp(stats.local(crops)[:, 0]).numpy()
    assert np.all(np.diff(estimates) > 0)
    # It is measured on the channel mean: independent per-channel noise shrinks by sqrt(3) there.
    np.testing.assert_allclose(estimates[2:], np.array(sigmas[2:]) / np.sqrt(3), rtol=0.2)


def test_blockiness_statistic_sees_jpeg_blocks() -> None:
    import cv2

    clean = textured_image(128, 128, seed=7)
    ok, encoded = cv2.imencode(".jpg", (clean * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 8])
    assert ok
    blocky = cv2.imdecode(encoded, cv2.IMREAD_COLOR).astype(np.float32) / 255.0
    stats = PhotoStatistics().local(torch.from_numpy(np.stack([clean, blocky]).transpose(0, 3, 1, 2)))
    block_x, block_y = stats[:, 4], stats[:, 5]
    assert block_x[1] > block_x[0] + 0.05
    assert block_y[1] > block_y[0] + 0.05


def test_task_sets_cover_clean_and_composites() -> None:
    rng = np.random.default_rng(0)
    drawn = [sample_task_set(rng) for _ in range(2000)]
    clean_share = np.mean([len(t) == 0 for t in drawn])
    assert abs(clean_share - CLEAN_SHARE) < 0.05
    assert {len(t) for t in drawn} == {0, 1, 2, 3}
    assert all(len(set(t)) == len(t) and set(t) <= set(TASKS) for t in drawn)


def test_training_canvas_is_the_engine_canvas_of_the_8bit_photo() -> None:
    img = add_noise(textured_image(200, 260, seed=8), 0.03)
    eight_bit = np.round(img * 255) / 255
    expected = np.round(detector_canvas(eight_bit.astype(np.float32), 256) * 255).astype(np.uint8)
    np.testing.assert_array_equal(canvas_u8(img), expected)


def test_shipped_detector_has_the_registry_interface() -> None:
    path = spec_file(DETECTOR)
    if not path.is_file():
        pytest.fail(f"{path} is not shipped")
    assert path.stat().st_size < 1_000_000  # the detector must stay tiny
    assert file_sha256(path) == DETECTOR.sha256
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (image,) = session.get_inputs()
    assert image.name == DETECTOR.inputs[0]
    assert image.shape[1:] == [3, 256, 256]
    assert [o.name for o in session.get_outputs()] == [DETECTOR.output]
    logits = session.run(None, {"image": _canvas_batch([9], 0.0)})[0]
    assert logits.shape == (1, len(TASKS)) and np.all(np.isfinite(logits))
