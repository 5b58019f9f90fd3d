"""training.exposure: the fit that weighs the exposure restorer's reads."""

from __future__ import annotations

import numpy as np

from engine.restorers.exposure import weigh
from training.exposure import fit_weights


def test_the_fit_recovers_known_weights_and_keeps_the_estimate_a_shift() -> None:
    rng = np.random.default_rng(0)
    truth = rng.uniform(2.0, 5.0, 400)
    network = truth + rng.normal(0.0, 0.3, 400)
    white = truth[:, None] + rng.normal(0.0, 0.05, (400, 2)) + np.array([0.2, -0.1])
    weights, bias = fit_weights(truth, network, white)
    fitted = weigh(network, white, weights, bias)
    assert np.sqrt(np.mean((fitted - truth) ** 2)) < 0.1 < np.sqrt(np.mean((network - truth) ** 2))
    # one stop darker everywhere reads one stop more
    assert np.allclose(weigh(network + 1.0, white + 1.0, weights, bias), fitted + 1.0)
