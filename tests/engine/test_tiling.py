"""engine.tiling: tiled == untiled for a local model, padding, progress, cancel, shrink-and-retry on OOM."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from engine.errors import Cancelled, DeviceError, ModelError, OutOfMemoryError
from engine.models import ModelSpec
from engine.progress import CancelToken
from engine.runtime import get_session, is_out_of_memory, session_options
from engine.tiling import TilePlan, default_tile_size, map_tiles, reflect_indices, run_tiled

TOLERANCE = 1.0 / 255.0
Infer = Callable[[np.ndarray], np.ndarray]


def conv_stack_model(path: Path, channels: tuple[int, ...] = (3, 8, 8, 3), seed: int = 7) -> str:
    """Three 3x3 convolutions with ReLU between them (receptive field 7, zero padding at the border)."""
    rng = np.random.default_rng(seed)
    nodes, weights = [], []
    previous = "image"
    layers = len(channels) - 1
    for i in range(layers):
        kernel = rng.normal(0.0, 0.35, (channels[i + 1], channels[i], 3, 3)).astype(np.float32)
        bias = rng.normal(0.0, 0.1, channels[i + 1]).astype(np.float32)
        weights += [numpy_helper.from_array(kernel, f"w{i}"), numpy_helper.from_array(bias, f"b{i}")]
        conv_out = "output" if i == layers - 1 else f"conv{i}"
        nodes.append(helper.make_node("Conv", [previous, f"w{i}", f"b{i}"], [conv_out], pads=[1, 1, 1, 1]))
        if i < layers - 1:
            nodes.append(helper.make_node("Relu", [conv_out], [f"relu{i}"]))
            previous = f"relu{i}"
    graph = helper.make_graph(
        nodes,
        "conv_stack",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, channels[0], "h", "w"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, channels[-1], "h", "w"])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    content = model.SerializeToString()
    path.write_bytes(content)
    return hashlib.sha256(content).hexdigest()


@pytest.fixture(scope="module")
def conv_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "conv_stack.onnx"
    conv_stack_model(path)
    return path


@pytest.fixture(scope="module")
def conv_infer(conv_model: Path) -> Infer:
    spec = ModelSpec(
        id="conv_stack",
        file=str(conv_model),
        sha256=hashlib.sha256(conv_model.read_bytes()).hexdigest(),
        tile_overlap=8,
        inputs=("image",),
        output="output",
    )
    return get_session(spec, "cpu", threads=1).tile_infer()


def photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth gradients plus noise, so that both edges and flat areas are tiled."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xx / max(width, 1), yy / max(height, 1), 0.5 + 0.4 * np.sin(xx / 5.0)], axis=-1)
    return np.clip(base + rng.normal(0.0, 0.1, base.shape), 0.0, 1.0).astype(np.float32)


def untiled(image: np.ndarray, infer: Infer, multiple_of: int = 1, minimum_size: int = 1) -> np.ndarray:
    """The reference: reflect-pad the whole image to the model's multiple, one network call, crop."""
    height, width = image.shape[:2]
    padded_h = -(-max(height, minimum_size) // multiple_of) * multiple_of
    padded_w = -(-max(width, minimum_size) // multiple_of) * multiple_of
    padded = np.pad(image, ((0, padded_h - height), (0, padded_w - width), (0, 0)), mode="reflect")
    result = infer(np.ascontiguousarray(padded.transpose(2, 0, 1)[None]))
    return result[0].transpose(1, 2, 0)[:height, :width]


def fake_oom_above(infer: Infer, max_pixels: int, log: dict[str, list[tuple[int, int]]]) -> Infer:
    """An infer that fails like ONNX Runtime's CUDA arena when a tile has more than `max_pixels`."""

    def limited(batch: np.ndarray) -> np.ndarray:
        shape = (batch.shape[2], batch.shape[3])
        if shape[0] * shape[1] > max_pixels:
            log["failed"].append(shape)
            raise ort_state.RuntimeException(
                "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while running "
                "Conv node. Status Message: BFCArena::AllocateRawInternal Failed to allocate memory for "
                f"requested buffer of size {batch.nbytes * 64}"
            )
        log["ran"].append(shape)
        return infer(batch)

    return limited


@pytest.mark.parametrize(
    ("height", "width", "tile_size", "overlap", "multiple_of"),
    [
        pytest.param(37, 53, 32, 8, 1, id="odd-size"),
        pytest.param(300, 211, 64, 16, 8, id="many-tiles-multiple-8"),
        pytest.param(129, 97, 64, 8, 4, id="odd-size-multiple-4"),
        pytest.param(128, 128, 64, 16, 8, id="exact-multiple"),
        pytest.param(3, 70, 32, 8, 4, id="thin-strip"),
        pytest.param(61, 45, 256, 32, 8, id="smaller-than-one-tile"),
    ],
)
def test_tiled_equals_untiled(
    conv_infer: Infer, height: int, width: int, tile_size: int, overlap: int, multiple_of: int
) -> None:
    image = photo(height, width)
    tiled = run_tiled(image, conv_infer, tile_size=tile_size, overlap=overlap, multiple_of=multiple_of)
    reference = untiled(image, conv_infer, multiple_of)
    assert tiled.shape == image.shape and tiled.dtype == np.float32
    assert np.abs(tiled - reference).max() <= TOLERANCE


def test_the_comparison_catches_seams(conv_infer: Infer) -> None:
    # Without overlap every tile border shows the network's zero padding: the same check must fail.
    image = photo(150, 130)
    tiled = run_tiled(image, conv_infer, tile_size=48, overlap=0, multiple_of=8)
    assert np.abs(tiled - untiled(image, conv_infer, 8)).max() > TOLERANCE


def test_image_smaller_than_a_tile_is_one_padded_call(conv_infer: Infer) -> None:
    calls: list[tuple[int, ...]] = []

    def recording(batch: np.ndarray) -> np.ndarray:
        calls.append(batch.shape)
        return conv_infer(batch)

    image = photo(13, 21)
    tiled = run_tiled(image, recording, tile_size=512, overlap=32, multiple_of=8)
    assert calls == [(1, 3, 16, 24)]
    assert np.abs(tiled - untiled(image, conv_infer, 8)).max() <= TOLERANCE


def test_minimum_size_pads_beyond_the_image(conv_infer: Infer) -> None:
    calls: list[tuple[int, ...]] = []

    def recording(batch: np.ndarray) -> np.ndarray:
        calls.append(batch.shape)
        return conv_infer(batch)

    image = photo(5, 3)
    tiled = run_tiled(image, recording, tile_size=64, overlap=8, multiple_of=8, minimum_size=16)
    assert calls == [(1, 3, 16, 16)]
    assert np.abs(tiled - untiled(image, conv_infer, 8, minimum_size=16)).max() <= TOLERANCE


@pytest.mark.parametrize(("start", "end", "size"), [(0, 12, 5), (3, 30, 7), (0, 16, 1), (0, 40, 3)])
def test_reflect_indices_match_numpy_reflect_padding(start: int, end: int, size: int) -> None:
    values = np.arange(size)
    padded = np.pad(values, (0, end - size), mode="reflect") if size > 1 else np.zeros(end, dtype=int)
    np.testing.assert_array_equal(values[reflect_indices(start, end, size)], padded[start:end])


@pytest.mark.parametrize(
    ("height", "width", "tile_size", "overlap", "multiple_of"),
    [(1000, 700, 512, 32, 8), (301, 299, 96, 16, 8), (64, 2000, 128, 32, 16), (77, 77, 50, 10, 1)],
)
def test_plan_covers_the_padded_image_on_the_model_grid(
    height: int, width: int, tile_size: int, overlap: int, multiple_of: int
) -> None:
    plan = TilePlan.build(height, width, tile_size=tile_size, overlap=overlap, multiple_of=multiple_of)
    assert plan.padded_height % multiple_of == 0 and plan.padded_width % multiple_of == 0
    assert plan.padded_height - height < multiple_of and plan.padded_width - width < multiple_of
    for spans, length, weights in (
        (plan.rows, plan.padded_height, plan.row_weights()),
        (plan.cols, plan.padded_width, plan.col_weights()),
    ):
        assert spans[0][0] == 0 and spans[-1][1] == length
        for (a0, a1), (b0, _) in zip(spans, spans[1:], strict=False):
            assert a1 - b0 >= overlap  # neighbours share at least the overlap
            assert b0 > a0
        assert all(start % multiple_of == 0 and end - start <= tile_size for start, end in spans)
        total = np.zeros(length)
        for (start, end), weight in zip(spans, weights, strict=True):
            total[start:end] += weight
        np.testing.assert_allclose(total, 1.0, rtol=1e-6)
    assert len(plan.tiles) == len(plan) == len(plan.rows) * len(plan.cols) > 1


def test_tile_too_small_for_the_overlap_is_rejected() -> None:
    with pytest.raises(ValueError, match="too small"):
        TilePlan.build(100, 100, tile_size=32, overlap=16)


def test_progress_is_monotone_per_tile_and_ends_at_one(conv_infer: Infer) -> None:
    reports: list[tuple[float, str]] = []
    image = photo(200, 150)
    run_tiled(
        image,
        conv_infer,
        tile_size=64,
        overlap=16,
        multiple_of=8,
        progress=lambda f, s: reports.append((f, s)),
    )
    tiles = len(TilePlan.build(200, 150, tile_size=64, overlap=16, multiple_of=8))
    fractions = [fraction for fraction, _ in reports]
    assert len(reports) >= tiles > 4
    assert all(b >= a for a, b in zip(fractions, fractions[1:], strict=False))
    assert fractions[-1] == 1.0
    assert 0.0 < fractions[0] <= 1.0 / tiles + 1e-9
    assert all(isinstance(stage, str) and stage for _, stage in reports)


def test_cancel_between_tiles_raises_cancelled_and_stops_inference(conv_infer: Infer) -> None:
    token = CancelToken()
    calls: list[int] = []

    def counting(batch: np.ndarray) -> np.ndarray:
        calls.append(1)
        return conv_infer(batch)

    def cancel_after_two(fraction: float, stage: str) -> None:
        if len(calls) == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        run_tiled(
            photo(200, 150),
            counting,
            tile_size=64,
            overlap=16,
            multiple_of=8,
            progress=cancel_after_two,
            cancel=token,
        )
    assert len(calls) == 2


def test_out_of_memory_shrinks_the_tiles_and_keeps_the_result(conv_infer: Infer) -> None:
    log: dict[str, list[tuple[int, int]]] = {"failed": [], "ran": []}
    image = photo(230, 170)
    infer = fake_oom_above(conv_infer, 64 * 64, log)
    tiled = run_tiled(image, infer, tile_size=128, overlap=8, multiple_of=8)
    assert np.abs(tiled - untiled(image, conv_infer, 8)).max() <= TOLERANCE
    # The first failure lowers the budget for every later tile: one OOM, not one per tile.
    assert len(log["failed"]) == 1
    assert log["ran"] and all(max(shape) <= 64 for shape in log["ran"])


def test_out_of_memory_at_the_smallest_tile_is_a_one_line_error(conv_infer: Infer) -> None:
    log: dict[str, list[tuple[int, int]]] = {"failed": [], "ran": []}
    with pytest.raises(OutOfMemoryError) as caught:
        run_tiled(
            photo(100, 100), fake_oom_above(conv_infer, 8, log), tile_size=128, overlap=8, multiple_of=8
        )
    assert str(caught.value).startswith("out of memory even with 32 px tiles")
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value.__cause__, ort_state.RuntimeException)
    assert [max(shape) for shape in log["failed"]] == [104, 64, 32]


def test_other_inference_errors_are_not_retried(conv_infer: Infer) -> None:
    calls: list[int] = []

    def broken(batch: np.ndarray) -> np.ndarray:
        calls.append(1)
        raise ort_state.InvalidArgument("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Got invalid dimensions")

    with pytest.raises(ort_state.InvalidArgument):
        run_tiled(photo(100, 100), broken, tile_size=64, overlap=8)
    assert len(calls) == 1


def test_real_onnxruntime_out_of_memory_is_survived(conv_model: Path) -> None:
    # ONNX Runtime's CPU arena capped at 8 MiB (growing by what is requested): a 512x440 tile's 8-channel
    # activations alone take 7.2 MB and fail inside ORT; 256 px tiles fit. The session is built with the
    # engine's own options, which matter here: with memory patterns on, the arena fragments after the
    # failure and the retry ends at 32 px tiles (hundreds of calls) instead of 256.
    memory = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
    ort.create_and_register_allocator(memory, ort.OrtArenaCfg(8 << 20, 1, -1, -1))
    options = session_options(["CPUExecutionProvider"], threads=1)
    options.add_session_config_entry("session.use_env_allocators", "1")
    options.log_severity_level = 4
    capped = ort.InferenceSession(str(conv_model), options, providers=["CPUExecutionProvider"])
    quiet = ort.RunOptions()
    quiet.log_severity_level = 4
    sizes: list[tuple[int, int]] = []

    def infer(batch: np.ndarray) -> np.ndarray:
        sizes.append((batch.shape[2], batch.shape[3]))
        return capped.run(None, {"image": batch}, quiet)[0]

    image = photo(600, 440)
    with pytest.raises(Exception) as direct:
        infer(np.ascontiguousarray(image.transpose(2, 0, 1)[None]))
    assert is_out_of_memory(direct.value)

    tiled = run_tiled(image, infer, tile_size=512, overlap=8, multiple_of=8)
    reference_session = ort.InferenceSession(str(conv_model), providers=["CPUExecutionProvider"])
    reference = untiled(image, lambda b: reference_session.run(None, {"image": b})[0], 8)
    assert np.abs(tiled - reference).max() <= TOLERANCE
    assert sizes[1] == (512, 440)  # the first tiled attempt, which ORT refused
    # 256 px tiles fit, but how the capped arena fragments depends on the machine: some then halve once
    # more (128 px, about 70 calls on a 2-core AVX-512 VM in session 10); never down to 32 px.
    retries = [max(size) for size in sizes[2:]]
    assert retries[0] == 256 and min(retries) >= 128 and len(retries) < 100


def test_extra_memory_is_bounded_by_the_tile_not_the_image() -> None:
    def halve(batch: np.ndarray) -> np.ndarray:
        return batch * 0.5

    image = photo(512, 384)
    output_bytes = image.nbytes
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline, _ = tracemalloc.get_traced_memory()
        result = run_tiled(image, halve, tile_size=64, overlap=16, multiple_of=8)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(result, image * 0.5, atol=1e-6)
    tile_bytes = 64 * 64 * 3 * 4
    extra = peak - baseline - output_bytes
    # A full-size float32 weight buffer alone would be output_bytes / 3 (786 kB); a tile is 49 kB.
    assert extra < 12 * tile_bytes, (extra, tile_bytes)


def test_wrong_output_shape_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="returned shape"):
        run_tiled(photo(40, 40), lambda batch: batch[:, :, ::2, ::2], tile_size=64, overlap=8)


def test_a_guide_beside_the_photo_goes_in_and_only_the_photo_comes_out(conv_infer: Infer) -> None:
    # 6 channels in (photo + guide), 3 out
    image = photo(150, 130)
    guide = np.zeros_like(image)

    def photo_only(batch: np.ndarray) -> np.ndarray:
        assert batch.shape[1] == 6
        return conv_infer(np.ascontiguousarray(batch[:, :3]))

    settings = {"tile_size": 64, "overlap": 8, "multiple_of": 8}
    stacked = np.concatenate([image, guide], axis=2)
    tiled = run_tiled(stacked, photo_only, out_channels=3, **settings)
    assert tiled.shape == image.shape
    assert np.abs(tiled - run_tiled(image, conv_infer, **settings)).max() <= TOLERANCE
    with pytest.raises(ModelError, match="returned shape"):
        run_tiled(stacked, photo_only, **settings)  # 6 expected back by default


def test_image_must_be_height_width_channels() -> None:
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        run_tiled(np.zeros((40, 40), dtype=np.float32), lambda batch: batch, tile_size=64, overlap=8)


@pytest.mark.parametrize(("device", "expected"), [("cpu", 512), ("directml", 512)])
def test_default_tile_size_for_cpu_and_directml(device: str, expected: int) -> None:
    assert default_tile_size(device) == expected


def test_default_tile_size_for_cuda_comes_from_free_memory_or_falls_back() -> None:
    size = default_tile_size("cuda")
    assert size == 1024 or (256 <= size <= 2048 and size % 256 == 0)


def test_default_tile_size_auto_follows_the_preferred_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOMEND_DEVICE", "cpu")
    assert default_tile_size(None) == 512
    with pytest.raises(DeviceError):
        default_tile_size("tpu")


def test_map_tiles_runs_a_numpy_filter_tile_by_tile_and_clips() -> None:
    image = np.random.default_rng(5).random((300, 470, 3), dtype=np.float32)
    shapes: list[tuple[int, ...]] = []

    def brighter(tile: np.ndarray) -> np.ndarray:
        shapes.append(tile.shape)
        assert tile.flags.c_contiguous
        return tile * 1.5

    out = map_tiles(image, brighter, tile_size=128, overlap=16)
    assert len(shapes) > 4 and all(s[2] == 3 for s in shapes)
    np.testing.assert_allclose(out, np.clip(image * 1.5, 0.0, 1.0), atol=1e-5)
    assert out.max() == 1.0 and image.max() < 1.0  # the input is left as it was


def test_tiles_in_threads_give_the_same_result_in_the_same_order(conv_infer: Infer) -> None:
    import threading

    image = photo(200, 150)
    threads: set[str] = set()

    def recording(batch: np.ndarray) -> np.ndarray:
        threads.add(threading.current_thread().name)
        return conv_infer(batch)

    reports: list[float] = []
    settings = {"tile_size": 64, "overlap": 16, "multiple_of": 8}
    alone = run_tiled(image, conv_infer, **settings)
    together = run_tiled(image, recording, **settings, workers=3, progress=lambda f, s: reports.append(f))
    np.testing.assert_array_equal(together, alone)  # blended in the plan's order: bit for bit
    assert all(name.startswith("photomend-tile") for name in threads) and len(threads) > 1
    assert reports == sorted(reports) and reports[-1] == 1.0


def test_cancel_stops_tiles_in_threads_before_the_next_is_started(conv_infer: Infer) -> None:
    token = CancelToken()
    started: list[int] = []

    def counting(batch: np.ndarray) -> np.ndarray:
        started.append(1)
        if len(started) == 3:
            token.cancel()
        return conv_infer(batch)

    with pytest.raises(Cancelled):
        run_tiled(photo(200, 150), counting, tile_size=64, overlap=16, multiple_of=8, cancel=token, workers=2)
    tiles = len(TilePlan.build(200, 150, tile_size=64, overlap=16, multiple_of=8))
    assert 3 <= len(started) <= 4 < tiles  # at most the tiles already in flight finish


def test_a_failing_tile_in_a_thread_is_raised_as_it_is(conv_infer: Infer) -> None:
    def failing(batch: np.ndarray) -> np.ndarray:
        raise ModelError("broken tile")

    with pytest.raises(ModelError, match="broken tile"):
        run_tiled(photo(200, 150), failing, tile_size=64, overlap=16, multiple_of=8, workers=2)


def test_filters_use_the_cores_this_process_may_use() -> None:
    from engine.tiling.tiled import MAX_FILTER_WORKERS, filter_workers

    assert 1 <= filter_workers() <= MAX_FILTER_WORKERS


def test_a_guide_is_cut_with_the_photo_instead_of_stacked_whole(conv_infer: Infer) -> None:
    image = photo(200, 150)
    guide = photo(200, 150)[..., :2] * 0.5
    shapes: list[tuple[int, ...]] = []

    def both(batch: np.ndarray) -> np.ndarray:
        shapes.append(batch.shape)
        return conv_infer(batch[:, :3]) + batch[:, 3:4]

    settings = {"tile_size": 64, "overlap": 16, "multiple_of": 8, "out_channels": 3}
    stacked = run_tiled(np.concatenate([image, guide], axis=2), both, **settings)
    count = len(shapes)
    beside = run_tiled(image, both, **settings, guide=guide.astype(np.float16))
    assert all(shape[1] == 5 for shape in shapes) and len(shapes) == 2 * count
    np.testing.assert_allclose(beside, stacked, atol=1e-3)  # the guide's float16 rounding only
    with pytest.raises(ValueError, match="guide"):
        run_tiled(image, both, **settings, guide=guide[:100])
