"""Weight soups: the mean of checkpoints of one shape (smaller ones grown to it), saved as a checkpoint the
trainer can load."""

from __future__ import annotations

import dataclasses

import pytest

torch = pytest.importorskip("torch")

from training.evaluate import soup  # noqa: E402
from training.model import RestoreNet, RestoreNetConfig  # noqa: E402
from training.train import atomic_save, fp16_state, load_weights  # noqa: E402

TINY = RestoreNetConfig(width=8, enc_blocks=(1, 1), middle_blocks=1, dec_blocks=(1, 1), instruction_dim=16)


def _checkpoint(tmp_path, name: str, value: float, config: RestoreNetConfig = TINY):
    model = RestoreNet(config)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(value)
    path = tmp_path / name
    atomic_save(fp16_state(model, step=int(value * 10), extra={}), path)
    return path


def test_soup_is_the_mean_of_the_weights_and_loads_back(tmp_path) -> None:
    paths = [_checkpoint(tmp_path, "a.pt", 0.25), _checkpoint(tmp_path, "b.pt", 0.75)]
    out = tmp_path / "soup.pt"
    atomic_save(soup(paths), out)
    config, state = load_weights(out)
    assert config == TINY
    assert all(torch.allclose(v, torch.full_like(v, 0.5)) for v in state.values())
    RestoreNet(config).load_state_dict(state)  # a loadable checkpoint


def test_soup_refuses_checkpoints_of_different_shapes(tmp_path) -> None:
    deeper = RestoreNetConfig(
        width=8, enc_blocks=(2, 1), middle_blocks=1, dec_blocks=(1, 1), instruction_dim=16
    )
    paths = [_checkpoint(tmp_path, "a.pt", 0.1), _checkpoint(tmp_path, "b.pt", 0.2, deeper)]
    with pytest.raises(ValueError, match="one shape"):
        soup(paths)


def test_a_checkpoint_without_the_task_prior_is_grown_into_the_soup(tmp_path) -> None:
    with_prior = dataclasses.replace(TINY, task_prior=True)
    paths = [_checkpoint(tmp_path, "a.pt", 0.25, with_prior), _checkpoint(tmp_path, "b.pt", 0.75)]
    mixed = soup(paths)
    assert RestoreNetConfig.from_dict(mixed["config"]) == with_prior
    state = mixed["state_dict"]
    # the plain network's prior layer counts as zero: (0.25 + 0) / 2; shared weights average as usual
    assert torch.allclose(state["task_prior.fc.weight"].float(), torch.full((16, 6), 0.125))
    assert torch.allclose(state["intro.weight"].float(), torch.full((8, 3, 3, 3), 0.5))
