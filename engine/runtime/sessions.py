"""Cached ONNX Runtime sessions that report the provider they really run on."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

from engine.errors import DeviceError, ModelError, OutOfMemoryError
from engine.models import ModelSpec, model_path
from engine.runtime.devices import DEVICE_OF_PROVIDER, PROVIDERS, available_devices, resolve_providers
from engine.runtime.flavour import check_single_flavour
from engine.runtime.oom import is_out_of_memory

# ORT logs every failed run at ERROR level on stderr; an out-of-memory retry is expected, and the
# exception carries the same text, so runs stay quiet. Session creation keeps ORT's default logging.
_QUIET_RUN = ort.RunOptions()
_QUIET_RUN.log_severity_level = 4


@dataclass(eq=False)
class ModelSession:
    """One loaded model on one device; `run` is safe to call from several threads (ORT guarantees it)."""

    spec: ModelSpec
    path: Path
    session: ort.InferenceSession
    #: providers ONNX Runtime actually enabled, read back from the session
    providers: list[str]
    #: "cuda" | "directml" | "cpu": the device doing the work
    device: str
    threads: int
    input_names: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """All graph outputs, in graph order. ORT errors propagate (see engine.runtime.is_out_of_memory)."""
        return self.session.run(None, dict(feeds), _QUIET_RUN)

    def tile_infer(
        self, extra_feeds: Mapping[str, np.ndarray] | None = None
    ) -> Callable[[np.ndarray], np.ndarray]:
        """An `infer` for engine.tiling.run_tiled: (1,C,h,w) batch -> the spec's output for it."""
        extras = dict(extra_feeds or {})
        image_name = self.spec.image_input
        output_index = self.output_names.index(self.spec.output)

        def infer(batch: np.ndarray) -> np.ndarray:
            return self.session.run(None, {image_name: batch, **extras}, _QUIET_RUN)[output_index]

        return infer


# (spec, resolved path, requested device, providers, threads): the spec is part of the key because its
# input/output names are checked at creation, and the request because "auto" accepts ORT's fallback to
# CPU where an explicit "cuda" must fail.
_SessionKey = tuple[ModelSpec, str, str, tuple[str, ...], int]
_sessions: dict[_SessionKey, ModelSession] = {}
_key_locks: dict[_SessionKey, threading.Lock] = {}
_cache_lock = threading.Lock()


def get_session(spec: ModelSpec, device: str | None = None, *, threads: int | None = None) -> ModelSession:
    """A session for `spec`, cached per (spec, path, device, threads); None -> $PHOTOMEND_DEVICE/auto."""
    path = model_path(spec)
    requested, providers = resolve_providers(device)
    thread_count = max(0, int(threads or 0))
    key: _SessionKey = (spec, str(path.resolve()), requested, tuple(providers), thread_count)
    with _cache_lock:
        cached = _sessions.get(key)
        if cached is not None:
            return cached
        key_lock = _key_locks.setdefault(key, threading.Lock())
    # One lock per key: two threads asking for the same model build it once, while a slow CUDA
    # initialisation of one model does not block a CPU session of another.
    with key_lock:
        with _cache_lock:
            cached = _sessions.get(key)
        if cached is not None:
            return cached
        # Two flavours overwrite each other's files: which providers work is then anybody's guess.
        check_single_flavour()
        created = _create_session(spec, path, requested, providers, thread_count)
        with _cache_lock:
            _sessions[key] = created
        return created


def clear_session_cache() -> None:
    """Drop every cached session (frees their memory once no caller holds them)."""
    with _cache_lock:
        _sessions.clear()
        _key_locks.clear()
        _graphs.clear()


@dataclass(eq=False)
class GraphSession:
    """A graph the engine builds in memory (engine.noise.dct_graph) on one device; `run` is thread-safe."""

    name: str
    session: ort.InferenceSession
    providers: list[str]
    device: str

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        return self.session.run(None, dict(feeds), _QUIET_RUN)


_graphs: dict[tuple[str, str, tuple[str, ...]], GraphSession] = {}


def graph_session(name: str, build: Callable[[], bytes], device: str | None = None) -> GraphSession:
    """A session for the graph `build()` returns, cached per (name, device): the same providers and
    options as the model files' sessions (get_session)."""
    requested, providers = resolve_providers(device)
    key = (name, requested, tuple(providers))
    with _cache_lock:
        cached = _graphs.get(key)
    if cached is not None:
        return cached
    check_single_flavour()
    session, used, device_used = _ort_session(name, build(), requested, providers, 0)
    created = GraphSession(name, session, used, device_used)
    with _cache_lock:
        return _graphs.setdefault(key, created)


def session_options(providers: list[str], threads: int = 0) -> ort.SessionOptions:
    """The SessionOptions every PhotoMend session uses (public so tests and benches build the same)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads  # 0: ONNX Runtime's choice (physical cores)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Memory patterns keep one planned block per input shape. Tiles come in several shapes, and more
    # after an out-of-memory shrink, so the cached blocks pile up and fragment the arena: measured with
    # a capped arena, the retry then had to shrink to 32 px tiles instead of 256 (tests/engine/test_tiling).
    options.enable_mem_pattern = False
    # Idle worker threads sleep instead of busy-waiting for the next operator: the same wall time on a free
    # machine, less CPU, and faster where other programs (or the engine's own numpy stages) share the cores
    # (python -m bench.spinning).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if PROVIDERS["directml"] in providers:
        # DirectML does not support parallel execution (ORT documentation).
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return options


def _provider_options(providers: list[str]) -> list[dict[str, str]]:
    options: list[dict[str, str]] = []
    for provider in providers:
        if provider == PROVIDERS["cuda"]:
            # Tiles come in a few shapes; growing the arena by the request (not doubling) leaves room for
            # shrink-and-retry, and heuristic cuDNN search avoids a benchmark per new tile shape.
            options.append(
                {"arena_extend_strategy": "kSameAsRequested", "cudnn_conv_algo_search": "HEURISTIC"}
            )
        else:
            options.append({})
    return options


def _ort_session(
    name: str, model: str | bytes, requested: str, providers: list[str], threads: int
) -> tuple[ort.InferenceSession, list[str], str]:
    """(session, the providers it really uses, the device they mean) for a model file or graph bytes."""
    try:
        session = ort.InferenceSession(
            model,
            sess_options=session_options(providers, threads),
            providers=providers,
            provider_options=_provider_options(providers),
        )
    except Exception as exc:  # ORT raises its own pybind types (InvalidProtobuf, Fail, EPFail...)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if is_out_of_memory(exc):
            raise OutOfMemoryError(f"{name}: not enough memory to load the model on {requested}") from exc
        raise ModelError(f"{name}: ONNX Runtime cannot load it ({reason})") from exc
    used = list(session.get_providers())
    return session, used, next((DEVICE_OF_PROVIDER[p] for p in used if p in DEVICE_OF_PROVIDER), "cpu")


def _create_session(
    spec: ModelSpec, path: Path, requested: str, providers: list[str], threads: int
) -> ModelSession:
    name = path.name
    session, used, device = _ort_session(name, str(path), requested, providers, threads)
    if requested not in ("auto", device):
        # onnxruntime-gpu lists CUDA even when the CUDA/cuDNN libraries are missing, then quietly
        # falls back to CPU: an explicit request must not be silently downgraded.
        raise DeviceError(
            f"device {requested!r} was requested but ONNX Runtime could not start it "
            f"(driver or CUDA/cuDNN libraries missing?); it would run on {device} "
            f"(available: {', '.join(available_devices())})"
        )

    input_names = [i.name for i in session.get_inputs()]
    output_names = [o.name for o in session.get_outputs()]
    if sorted(input_names) != sorted(spec.inputs) or spec.output not in output_names:
        raise ModelError(
            f"{name}: model inputs ({', '.join(input_names)}) / outputs ({', '.join(output_names)}) "
            f"do not match the registry ({', '.join(spec.inputs)} -> {spec.output})"
        )
    return ModelSession(
        spec=spec,
        path=path,
        session=session,
        providers=used,
        device=device,
        threads=threads,
        input_names=input_names,
        output_names=output_names,
    )
