"""The bridge's worker process, driven as the plug-in drives it: request folder in, reply + float32 out."""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from plugin_gimp import worker
from tests.conftest import add_noise, textured_image

WORKER = Path(worker.__file__)
# The plain-language request for ×2 the tests send once the instruction understanding routes it to "upscale".
ENLARGE = "make it twice as big"


def _require(module: str, name: str) -> None:
    """Skip while the engine part this test drives has not landed in the checkout."""
    try:
        found = importlib.import_module(module)
    except ImportError as exc:  # a half-landed engine package fails with ImportError, not only NotFound
        pytest.skip(f"{module} not importable yet: {exc}")
    if not hasattr(found, name):
        pytest.skip(f"{module}.{name} not available yet")


def _request(folder: Path, pixels: np.ndarray, **fields: object) -> Path:
    height, width, channels = pixels.shape
    pixels.astype("<f4").tofile(folder / "layer.f32")
    request = {
        "width": width,
        "height": height,
        "channels": channels,
        "input": "layer.f32",
        "output": "result.f32",
        **fields,
    }
    path = folder / "request.json"
    path.write_text(json.dumps(request))
    return path


def _require_enlarging(instruction: str | None = None) -> None:
    """Skip until the engine enlarges (its restorer and ×2 model in place) and, for `instruction`, until the
    instruction understanding routes that text to "upscale"."""
    _require("engine.restorers.enlarge", "EnlargeRestorer")
    from engine.errors import ModelError
    from engine.models import ENLARGE_X2, model_path

    try:
        model_path(ENLARGE_X2)
    except ModelError as exc:
        pytest.skip(f"the ×2 enlarging model is not in place: {exc}")
    if instruction is not None:
        from engine.instructions import interpret

        if "upscale" not in interpret(instruction).tasks:
            pytest.skip(f"{instruction!r} is not routed to enlarging by the instruction understanding yet")


def _run(request: Path, **kwargs: object) -> tuple[subprocess.CompletedProcess, dict]:
    done = subprocess.run(
        [sys.executable, str(WORKER), str(request)], capture_output=True, text=True, timeout=300, **kwargs
    )
    return done, json.loads((request.parent / "reply.json").read_text())


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_layouts_round_trip_through_rgb(channels: int) -> None:
    rng = np.random.default_rng(0)
    layer = rng.uniform(0, 1, (5, 7, channels)).astype(np.float32)
    if channels <= 2:
        layer[..., 0] = np.round(layer[..., 0], 3)
    rgb, alpha = worker.to_rgb(layer)
    assert rgb.shape == (5, 7, 3)
    assert (alpha is not None) == (channels in (2, 4))
    back = worker.from_rgb(rgb, alpha, channels)
    np.testing.assert_allclose(back, layer, atol=1e-6)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_an_enlarged_result_gets_the_alpha_enlarged_alongside_and_keeps_its_layout(channels: int) -> None:
    import cv2

    rng = np.random.default_rng(1)
    layer = rng.uniform(0, 1, (6, 8, channels)).astype(np.float32)
    _rgb, alpha = worker.to_rgb(layer)
    enlarged_rgb = rng.uniform(0, 1, (12, 16, 3)).astype(np.float32)  # what a ×2 restore hands back
    back = worker.from_rgb(enlarged_rgb, alpha, channels)
    assert back.shape == (12, 16, channels) and back.dtype == np.float32
    if channels in (2, 4):
        expected = cv2.resize(layer[:, :, -1], (16, 12), interpolation=cv2.INTER_LINEAR)
        np.testing.assert_allclose(back[:, :, -1], expected, atol=1e-6)
        assert back[:, :, -1].min() >= layer[:, :, -1].min() and back[:, :, -1].max() <= layer[:, :, -1].max()
    if channels <= 2:  # greyscale stays greyscale: one grey plane, the mean of the restored RGB
        np.testing.assert_allclose(back[:, :, 0], enlarged_rgb.mean(axis=2), atol=1e-6)


@pytest.mark.parametrize(("channels", "scale"), [(2, 2), (4, 2), (3, 4)])
def test_restore_layer_enlarges_the_pixels_and_the_alpha(channels: int, scale: int) -> None:
    """The engine for real, with the enlarging request built by hand (the instruction text is not needed)."""
    _require_enlarging()
    import cv2

    from engine.instructions import interpret

    colour = textured_image(24, 32, seed=6)
    layer = colour if channels >= 3 else colour.mean(axis=2, keepdims=True)
    if channels in (2, 4):
        alpha = np.linspace(0.2, 1.0, 32, dtype=np.float32)[None, :].repeat(24, axis=0)
        layer = np.concatenate([layer, alpha[:, :, None]], axis=2)
    request = dataclasses.replace(interpret("remove the noise"), tasks=("upscale",))
    if scale == 4:
        if not any(f.name == "scale" for f in dataclasses.fields(request)):
            pytest.skip("Interpretation has no scale yet")
        request = dataclasses.replace(request, scale=4)
    reply = worker.Reply(ok=False)
    output = worker.restore_layer(layer, request, 1.0, None, None, reply)
    assert output.shape == (24 * scale, 32 * scale, channels)
    assert output.dtype == np.float32 and np.isfinite(output).all()
    if channels in (2, 4):
        expected = cv2.resize(layer[:, :, -1], (32 * scale, 24 * scale), interpolation=cv2.INTER_LINEAR)
        np.testing.assert_allclose(output[:, :, -1], expected, atol=1e-6)
    # What the message after the run shows: the engine's finding names the new size.
    assert any(f"{32 * scale}×{24 * scale}" in finding for finding in reply.findings), reply.findings
    assert [step["label"] for step in reply.steps] == ["enlarge"]


def test_enlarge_request_replies_with_the_larger_size_and_writes_the_larger_pixels(tmp_path: Path) -> None:
    _require_enlarging(ENLARGE)
    import cv2

    colour = textured_image(24, 32, seed=7)
    alpha = np.linspace(0.3, 1.0, 24, dtype=np.float32)[:, None].repeat(32, axis=1)
    layer = np.concatenate([colour, alpha[:, :, None]], axis=2)
    request = _request(tmp_path, layer, operation="restore", instruction=ENLARGE, strength=1.0)
    done, reply = _run(request)
    assert done.returncode == 0, done.stderr
    assert reply["ok"] and (reply["width"], reply["height"], reply["channels"]) == (64, 48, 4)
    result = np.fromfile(tmp_path / "result.f32", dtype="<f4").reshape(48, 64, 4)
    expected = cv2.resize(alpha, (64, 48), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(result[:, :, 3], expected, atol=1e-6)
    assert any("64×48" in finding for finding in reply["findings"]), reply["findings"]


def test_blur_request_writes_heatmap_and_score(tmp_path: Path) -> None:
    _require("engine.blur", "analyze_blur")
    request = _request(tmp_path, textured_image(48, 64, seed=2), operation="blur")
    done, reply = _run(request)
    assert done.returncode == 0, done.stderr
    assert reply["ok"] and reply["channels"] == 4
    assert (reply["width"], reply["height"]) == (64, 48)  # always sent, enlarged or not
    assert reply["kind"] in ("sharp", "motion", "defocus")
    assert reply["verdict"].startswith(("sharp", "blurry"))  # the same line the app and the CLI show
    heat = np.fromfile(tmp_path / "result.f32", dtype="<f4")
    assert heat.size == 48 * 64 * 4
    assert heat.min() >= 0.0 and heat.max() <= 1.0
    assert "progress 1.0000 Done" in done.stdout


def test_off_topic_instruction_is_refused_with_exit_code_3(tmp_path: Path) -> None:
    _require("engine.pipeline", "restore")
    request = _request(
        tmp_path,
        add_noise(textured_image(32, 32), 0.05),
        operation="restore",
        instruction="add a lens flare and make it look like a watercolour painting",
        strength=1.0,
    )
    done, reply = _run(request)
    assert done.returncode == worker.EXIT_INSTRUCTION, done.stderr
    assert not reply["ok"] and reply["error_kind"] == "instruction" and reply["message"]
    assert not (tmp_path / "result.f32").exists()


def test_restore_reply_names_the_task_and_what_the_model_does_poorly(tmp_path: Path) -> None:
    _require("engine.pipeline", "task_notes")
    layer = textured_image(32, 48, seed=3)
    request = _request(tmp_path, layer, operation="restore", instruction="the camera shook", strength=1.0)
    done, reply = _run(request)
    assert done.returncode == 0, done.stderr
    assert reply["ok"] and "blur" in reply["summary"]
    assert len(reply["notes"]) == 1
    assert reply["notes"][0].startswith("Blur is undone by deconvolution, not by the network")
    # What the defocus search found in this photo (a 32 x 48 layer: too small to show a disk).
    assert reply["findings"] == [
        "Found neither an even out-of-focus blur nor a camera shake to undo, so only the network ran."
    ]
    assert np.fromfile(tmp_path / "result.f32", dtype="<f4").size == layer.size
    assert (reply["width"], reply["height"]) == (48, 32)


def test_truncated_input_is_a_clear_error(tmp_path: Path) -> None:
    request = _request(tmp_path, np.zeros((4, 4, 3), np.float32), operation="blur")
    (tmp_path / "layer.f32").write_bytes(b"\0" * 12)
    done, reply = _run(request)
    assert done.returncode == worker.EXIT_FAILED
    assert not reply["ok"] and "layer.f32" in reply["message"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO to hold the worker mid-run")
def test_worker_cancels_and_cleans_up_when_the_plugin_goes_away(tmp_path: Path) -> None:
    folder = tmp_path / "photomend-gimp-request"
    folder.mkdir()
    request = _request(folder, np.zeros((4, 4, 3), np.float32), operation="blur")
    (folder / "layer.f32").unlink()
    os.mkfifo(folder / "layer.f32")  # reading it blocks: the worker is "busy" until its parent dies
    proc = subprocess.Popen(
        [sys.executable, str(WORKER), "--watch-stdin", str(request)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().startswith("progress 0.0000")
    proc.stdin.close()  # what GIMP killing the plug-in looks like from here
    assert proc.wait(timeout=60) == worker.EXIT_CANCELLED
    assert not folder.exists()
    proc.stdout.close()
    proc.stderr.close()


def test_restore_reply_has_the_plan_and_each_step_for_a_two_fault_request(tmp_path: Path) -> None:
    _require("engine.pipeline", "make_plan")
    from engine.instructions import interpret
    from engine.pipeline import make_plan

    layer = add_noise(textured_image(48, 64, seed=5) * 0.25, 0.05)  # dark and grainy
    instruction = "it's dark and grainy"
    request = _request(tmp_path, layer, operation="restore", instruction=instruction, strength=1.0)
    done, reply = _run(request)
    assert done.returncode == 0, done.stderr
    assert reply["ok"]
    assert reply["plan"] == make_plan(interpret(instruction)).describe()
    assert [line.split(":")[0] for line in reply["plan"]] == ["1. brighten", "2. reduce noise"]
    steps = reply["steps"]
    assert [step["label"] for step in steps] == ["brighten", "reduce noise"]
    assert [sorted(step) for step in steps] == [["findings", "label", "restorer", "seconds"]] * 2
    assert steps[0]["restorer"] == "exposure" and steps[1]["restorer"] == "grain"
    assert all(step["seconds"] >= 0 for step in steps)
    # "findings" stays as it was, for older callers: every step's findings, in order.
    assert reply["findings"] == [found for step in steps for found in step["findings"]]
    assert steps[1]["findings"][0].startswith("Found grain of about ")
