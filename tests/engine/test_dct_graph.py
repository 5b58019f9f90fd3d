"""engine.noise.dct_graph: the DCT filter as an ONNX graph computes what the numpy filter computes."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from engine.noise import NoiseLevel, denoise_dct
from engine.noise.dct import _numpy_shrink
from engine.noise.dct_graph import dct_filter_graph, shrink_planes
from engine.runtime import session_options


@pytest.fixture(scope="module")
def run():
    session = ort.InferenceSession(
        dct_filter_graph(), session_options(["CPUExecutionProvider"]), providers=["CPUExecutionProvider"]
    )
    return lambda feeds: session.run(None, feeds)


@pytest.mark.parametrize(("height", "width"), [(64, 64), (97, 131), (24, 40)])
def test_both_stages_match_the_numpy_filter(run, height: int, width: int) -> None:
    rng = np.random.default_rng(height)
    clean = np.clip(rng.random((3, height, width)).cumsum(axis=2) / width, 0.0, 1.0)  # smooth ramps
    sigmas = np.array([0.08, 0.03, 0.005], np.float32)
    planes = (clean + rng.normal(0.0, 1.0, clean.shape) * sigmas[:, None, None]).astype(np.float32)
    got = shrink_planes(run, planes, sigmas)
    expected = _numpy_shrink(planes, sigmas)
    assert got.shape == planes.shape and got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-5
    # and it does denoise: closer to the clean planes than the noisy input
    assert np.abs(got[0] - clean[0]).mean() < 0.5 * np.abs(planes[0] - clean[0]).mean()


def test_the_graph_is_built_once_and_is_the_same_bytes() -> None:
    assert dct_filter_graph() is dct_filter_graph()
    assert len(dct_filter_graph()) < 10_000  # a handful of 8-tap kernels, no weights to speak of


def test_denoise_dct_through_the_graph_equals_the_numpy_path() -> None:
    rng = np.random.default_rng(3)
    noisy = np.clip(0.4 + 0.2 * rng.random((150, 230, 3)) + rng.normal(0.0, 0.05, (150, 230, 3)), 0, 1)
    noisy = noisy.astype(np.float32)
    level = NoiseLevel((0.05, 0.03, 0.02))
    by_graph = denoise_dct(noisy, level, graph=True)
    by_numpy = denoise_dct(noisy, level, graph=False)
    assert np.abs(by_graph - by_numpy).max() < 1e-5
