"""engine.runtime: device choice, cached sessions that report their real provider, the OOM classifier."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from engine.errors import DeviceError, ModelError
from engine.models import ModelSpec
from engine.runtime import (
    PROVIDERS,
    available_devices,
    clear_session_cache,
    device_report,
    get_session,
    is_out_of_memory,
    resolve_providers,
)
from engine.runtime.devices import DEVICE_OF_PROVIDER

EMBEDDING_DIM = 384


def save_model(graph: helper.GraphProto, path: Path) -> str:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # loadable by every onnxruntime >= 1.17
    content = model.SerializeToString()
    path.write_bytes(content)
    return hashlib.sha256(content).hexdigest()


def conditioned_graph() -> helper.GraphProto:
    """restored = image + mean(embedding): a stand-in with the restore model's inputs and output."""
    nodes = [
        helper.make_node("ReduceMean", ["embedding"], ["level"], axes=[1], keepdims=1),
        helper.make_node("Add", ["image", "level"], ["restored"]),
    ]
    return helper.make_graph(
        nodes,
        "conditioned",
        [
            helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, EMBEDDING_DIM]),
        ],
        [helper.make_tensor_value_info("restored", TensorProto.FLOAT, [1, 3, "h", "w"])],
    )


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHOTOMEND_DEVICE", raising=False)
    clear_session_cache()


@pytest.fixture
def restore_like(tmp_path: Path) -> ModelSpec:
    path = tmp_path / "restore_like.onnx"
    digest = save_model(conditioned_graph(), path)
    return ModelSpec(
        id="restore_like",
        file=str(path),
        sha256=digest,
        multiple_of=8,
        tile_overlap=8,
        inputs=("image", "embedding"),
        conditioning="embedding",
        output="restored",
    )


def test_available_devices_are_ordered_and_end_with_cpu() -> None:
    devices = available_devices()
    assert devices[-1] == "cpu"
    assert devices == [d for d in ("cuda", "directml", "cpu") if d in devices]
    offered = set(ort.get_available_providers())
    assert all(PROVIDERS[device] in offered for device in devices)


def test_cpu_session_reads_back_its_provider_and_runs(restore_like: ModelSpec) -> None:
    session = get_session(restore_like, "cpu")
    assert session.device == "cpu"
    assert session.providers == ["CPUExecutionProvider"]
    image = np.full((1, 3, 16, 24), 0.25, dtype=np.float32)
    embedding = np.full((1, EMBEDDING_DIM), 0.5, dtype=np.float32)
    (restored,) = session.run({"image": image, "embedding": embedding})
    np.testing.assert_allclose(restored, 0.75)


def test_tile_infer_feeds_the_conditioning_and_returns_the_spec_output(restore_like: ModelSpec) -> None:
    session = get_session(restore_like, "cpu")
    infer = session.tile_infer({"embedding": np.full((1, EMBEDDING_DIM), -0.125, dtype=np.float32)})
    restored = infer(np.ones((1, 3, 8, 8), dtype=np.float32))
    assert restored.shape == (1, 3, 8, 8)
    np.testing.assert_allclose(restored, 0.875)


def test_auto_uses_the_best_device_onnxruntime_really_started(restore_like: ModelSpec) -> None:
    session = get_session(restore_like, "auto")
    assert session.device == DEVICE_OF_PROVIDER[session.providers[0]]
    assert session.device in available_devices()
    assert session.providers[-1] == "CPUExecutionProvider"


def test_sessions_are_cached_per_model_device_and_threads(restore_like: ModelSpec) -> None:
    first = get_session(restore_like, "cpu")
    assert get_session(restore_like, "cpu") is first
    assert get_session(restore_like, "cpu", threads=1) is not first
    assert get_session(restore_like, "cpu", threads=1) is get_session(restore_like, "cpu", threads=1)
    clear_session_cache()
    assert get_session(restore_like, "cpu") is not first


def test_concurrent_requests_build_one_session(restore_like: ModelSpec) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        sessions = list(pool.map(lambda _: get_session(restore_like, "cpu", threads=1), range(16)))
    assert len({id(s) for s in sessions}) == 1


def test_environment_variable_picks_the_device(
    restore_like: ModelSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHOTOMEND_DEVICE", "CPU")
    assert get_session(restore_like).device == "cpu"
    assert resolve_providers() == ("cpu", ["CPUExecutionProvider"])


@pytest.mark.parametrize("device", ["cuda", "directml"])
def test_unavailable_device_lists_what_is_available(device: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if device in available_devices():
        pytest.skip(f"{device} is available on this machine")
    expected = f"device '{device}' is not available here (available: {', '.join(available_devices())})"
    with pytest.raises(DeviceError) as caught:
        resolve_providers(device)
    assert str(caught.value) == expected
    monkeypatch.setenv("PHOTOMEND_DEVICE", device)
    with pytest.raises(DeviceError) as caught:
        resolve_providers(None)
    assert str(caught.value) == f"PHOTOMEND_DEVICE={device}: {expected}"


@pytest.mark.parametrize("device", ["tpu", "gpu0"])
def test_unknown_device_name_lists_the_choices(device: str) -> None:
    with pytest.raises(DeviceError, match=r"unknown device .* \(choose one of auto, cuda, directml, cpu\)"):
        resolve_providers(device)


def test_argument_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHOTOMEND_DEVICE", "tpu")
    assert resolve_providers("cpu") == ("cpu", ["CPUExecutionProvider"])


def test_model_whose_io_differs_from_its_spec_is_refused(restore_like: ModelSpec) -> None:
    wrong = ModelSpec(
        id="wrong",
        file=restore_like.file,
        sha256=restore_like.sha256,
        inputs=("image", "text"),
        conditioning="text",
        output="restored",
    )
    get_session(restore_like, "cpu")  # the same file, cached under its own spec, must not hide the mismatch
    with pytest.raises(ModelError, match=r"do not match the registry \(image, text -> restored\)"):
        get_session(wrong, "cpu")


def test_unloadable_file_with_the_right_sha256_is_a_one_line_model_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.onnx"
    path.write_bytes(b"this is not a protobuf" * 10)
    spec = ModelSpec(id="garbage", file=str(path), sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    with pytest.raises(ModelError) as caught:
        get_session(spec, "cpu")
    assert str(caught.value).startswith("garbage.onnx: ONNX Runtime cannot load it (")
    assert "\n" not in str(caught.value)


# --- the OOM classifier ---


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(MemoryError(), id="python-memoryerror"),
        pytest.param(
            ort_state.RuntimeException(
                "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while running "
                "FusedConv node. Name:'conv1' Status Message: /onnxruntime_src/onnxruntime/core/framework/"
                "bfc_arena.cc:376 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, "
                "onnxruntime::Stream*, bool, onnxruntime::WaitNotificationFn) Failed to allocate memory for "
                "requested buffer of size 4294967296"
            ),
            id="cuda-arena",
        ),
        pytest.param(
            ort_state.Fail(
                "[ONNXRuntimeError] : 1 : FAIL : CUDA failure 2: out of memory ; GPU=0 ; hostname=pc ; "
                "file=cuda_allocator.cc ; line=47 ; expr=cudaMalloc((void**)&p, size);"
            ),
            id="cuda-malloc",
        ),
        pytest.param(
            ort_state.RuntimeException(
                "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : CUDNN failure 4: CUDNN_STATUS_ALLOC_FAILED ; "
                "GPU=0 ; expr=cudnnConvolutionForward(...)"
            ),
            id="cudnn",
        ),
        pytest.param(
            ort_state.RuntimeException(
                "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while running "
                "Conv node. Status Message: D:\\a\\_work\\1\\s\\onnxruntime\\core\\providers\\dml\\"
                "DmlExecutionProvider\\src\\BucketizedBufferAllocator.cpp(122)\\onnxruntime_pybind11_state.pyd"
                "!00007FFA82D145C8: (caller: 00007FFA8336D326) Exception(1) tid(4790) 8007000E Not enough "
                "memory resources are available to complete this operation."
            ),
            id="directml",
        ),
        pytest.param(
            ort_state.Fail("[ONNXRuntimeError] : 1 : FAIL : bad allocation"), id="cpu-msvc-bad-alloc"
        ),
        pytest.param(
            ort_state.EPFail("[ONNXRuntimeError] : 11 : EP_FAIL : std::bad_alloc"), id="ep-bad-alloc"
        ),
    ],
)
def test_allocator_failures_are_out_of_memory(exc: BaseException) -> None:
    assert is_out_of_memory(exc)


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(
            ort_state.RuntimeException(
                "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Non-zero status code returned while running "
                "Conv node. Name:'conv1' Status Message: Invalid input shape: {1,4,64,64}"
            ),
            id="shape-error",
        ),
        pytest.param(
            ort_state.InvalidArgument("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Got invalid dimensions"),
            id="invalid-argument",
        ),
        pytest.param(
            ort_state.Fail(
                "[ONNXRuntimeError] : 1 : FAIL : DXGI_ERROR_DEVICE_REMOVED (0x887A0005) the GPU was removed"
            ),
            id="directml-device-removed",
        ),
        # Only ONNX Runtime's own error types are classified by their text; a caller's ValueError is a bug.
        pytest.param(ValueError("out of memory"), id="not-an-ort-error"),
        pytest.param(KeyError("image"), id="keyerror"),
    ],
)
def test_other_errors_are_not_out_of_memory(exc: BaseException) -> None:
    assert not is_out_of_memory(exc)


def test_out_of_memory_is_found_in_the_cause_chain() -> None:
    try:
        try:
            raise ort_state.Fail("[ONNXRuntimeError] : 1 : FAIL : CUDA failure 2: out of memory")
        except ort_state.Fail as inner:
            raise RuntimeError("tile 3 failed") from inner
    except RuntimeError as outer:
        assert is_out_of_memory(outer)


def test_a_real_onnxruntime_allocation_failure_is_out_of_memory(tmp_path: Path) -> None:
    # A CPU arena capped at 4 MiB makes ONNX Runtime itself fail the allocation of a 64 MiB tensor.
    weights = numpy_helper.from_array(np.ones((16, 3, 3, 3), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w"], ["out"], pads=[1, 1, 1, 1])],
        "wide",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 16, "h", "w"])],
        [weights],
    )
    save_model(graph, tmp_path / "wide.onnx")
    memory = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
    ort.create_and_register_allocator(memory, ort.OrtArenaCfg(4 << 20, -1, -1, -1))
    options = ort.SessionOptions()
    options.add_session_config_entry("session.use_env_allocators", "1")
    options.log_severity_level = 4
    session = ort.InferenceSession(str(tmp_path / "wide.onnx"), options, providers=["CPUExecutionProvider"])
    session.run(None, {"image": np.zeros((1, 3, 32, 32), dtype=np.float32)})  # fits
    with pytest.raises(Exception) as caught:
        session.run(None, {"image": np.zeros((1, 3, 1024, 1024), dtype=np.float32)})
    assert is_out_of_memory(caught.value), str(caught.value)


# --- photomend info ---


def test_device_report_lists_runtime_devices_and_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = tmp_path / "resources" / "models"
    models.mkdir(parents=True)
    (models / "restore.onnx").write_bytes(b"not the released network")
    monkeypatch.setenv("PHOTOMEND_RESOURCES", str(tmp_path / "resources"))
    report = device_report("cpu")
    assert report["onnxruntime"] == ort.__version__
    assert "CPUExecutionProvider" in report["available_providers"]
    assert report["available_devices"] == available_devices()
    assert (report["requested_device"], report["device"]) == ("cpu", "cpu")
    by_id = {entry["id"]: entry for entry in report["models"]}
    assert (by_id["restore"]["present"], by_id["restore"]["verified"]) == (True, False)
    assert "sha256" in by_id["restore"]["message"]  # mismatch, or none recorded before a release
    assert (by_id["detector"]["present"], by_id["detector"]["verified"]) == (False, False)
    assert "model file missing" in by_id["detector"]["message"]


def test_device_report_turns_a_bad_device_into_a_warning() -> None:
    report = device_report("tpu")
    assert report["device"] is None
    assert any("unknown device 'tpu'" in warning for warning in report["warnings"])
