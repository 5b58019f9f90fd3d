"""Trainer pieces: the PSNR loss weighs samples by relative error; the worker batch stream is valid."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tests.training.weights import perturb
from training.conditioning import PromptBank
from training.data import ImageBank, PairSampler, SamplerConfig
from training.degradations.pipeline import TASKS
from training.train import TrainArgs, batches, parse_args, parse_task_weights, psnr_loss


def _args(batch: int, workers: int) -> TrainArgs:
    return parse_args(
        ["--run", "unused", "--steps", "1", "--batch", str(batch), "--crop", "32", "--workers", str(workers)]
    )


def _sampler(seed: int = 0) -> PairSampler:
    rng = np.random.default_rng(7)
    images = [(rng.random((80, 96, 3)) * 255).astype(np.uint8) for _ in range(3)]
    texts = ["remove the noise", "sharpen the shake", "fix the dark noisy photo"]
    prompts = PromptBank(
        texts=texts,
        embeddings=rng.standard_normal((3, 384)).astype(np.float32),
        by_tasks={
            ("denoise",): np.array([0]),
            ("deblur",): np.array([1]),
            ("denoise", "lowlight"): np.array([2]),
        },
    )
    return PairSampler(ImageBank(groups={"a": images}, weights={"a": 1.0}), prompts, seed=seed)


def test_psnr_loss_is_minus_mean_psnr() -> None:
    gt = torch.zeros(2, 3, 8, 8)
    out = torch.stack([torch.full((3, 8, 8), 0.1), torch.full((3, 8, 8), 0.01)])
    expected = -(10 * math.log10(1 / (0.01 + 1e-5)) + 10 * math.log10(1 / (1e-4 + 1e-5))) / 2
    assert float(psnr_loss(out, gt)) == pytest.approx(expected, rel=1e-5)


def test_psnr_loss_weighs_a_dark_sample_like_a_bright_one() -> None:
    # Halving each sample's error gains the same 6 dB, so both get gradients of the same relative size,
    # where an L1 loss would spend nearly all of its gradient on the sample with the large error.
    gt = torch.zeros(2, 3, 8, 8)
    out = torch.stack([torch.full((3, 8, 8), 0.5), torch.full((3, 8, 8), 0.05)]).requires_grad_()
    psnr_loss(out, gt).backward()
    assert out.grad is not None
    relative = [float((out.grad[i] * out.detach()[i]).sum()) for i in range(2)]
    assert relative[0] == pytest.approx(relative[1], rel=0.05)


@pytest.mark.parametrize("workers", [0, 2])
def test_batches_have_the_requested_shapes(workers: int) -> None:
    args = _args(3, workers)
    # spawn: this test process already runs ONNX Runtime and Qt threads, which a fork can deadlock on.
    stream = batches(args, _sampler(), first_step=0, start_method="spawn" if workers else None)
    for _ in range(2):
        lq, gt, emb, intent = (np.asarray(x) for x in next(stream))
        assert lq.shape == gt.shape == (3, 3, 32, 32)
        assert emb.shape == (3, 384)
        assert intent.shape == (3, 6)
        assert lq.dtype == gt.dtype == emb.dtype == intent.dtype == np.float32
        assert set(intent.sum(axis=1)) <= {1.0, 2.0}  # every prompt asks for one or two tasks here
        assert float(gt.min()) >= 0.0 and float(gt.max()) <= 1.0
    stream.close()  # shuts any worker processes down


def test_worker_batches_differ_between_workers_and_resume_points() -> None:
    def first(first_step: int) -> np.ndarray:
        args = _args(2, 2)
        stream = batches(args, _sampler(), first_step=first_step, start_method="spawn")
        a = np.asarray(next(stream)[1])
        b = np.asarray(next(stream)[1])  # the second worker's first batch
        stream.close()  # shuts the worker processes down
        assert not np.array_equal(a, b)
        return a

    assert np.array_equal(first(0), first(0))  # seeded: the same resume point gives the same data
    assert not np.array_equal(first(0), first(500))


def test_intent_labels_name_the_prompts_tasks() -> None:
    sampler = _sampler()
    _, _, emb, intent = sampler.batch(64, 32)
    for e, label in zip(emb, intent, strict=True):
        row = int(np.argmin(np.abs(sampler.prompts.embeddings - e).sum(axis=1)))
        asked = {TASKS[i] for i in np.flatnonzero(label)}
        assert asked == next(set(tasks) for tasks, rows in sampler.prompts.by_tasks.items() if row in rows)


def test_task_weights_change_how_often_a_task_is_drawn() -> None:
    weights = parse_task_weights("deblur=4")
    assert weights == (("deblur", 4.0),)
    sampler = _sampler()
    plain = [sampler._task_set() for _ in range(3000)]
    heavy = PairSampler(sampler.images, sampler.prompts, seed=0, config=SamplerConfig(task_weights=weights))
    weighted = [heavy._task_set() for _ in range(3000)]
    share = [sum("deblur" in s for s in draws) / len(draws) for draws in (plain, weighted)]
    assert share[1] > 1.5 * share[0]
    with pytest.raises(ValueError, match="bad task weight"):
        parse_task_weights("sharpen=2")


def test_a_zero_task_weight_leaves_out_every_set_with_that_task() -> None:
    base = _sampler()
    config = SamplerConfig(task_weights=parse_task_weights("lowlight=0"))
    sampler = PairSampler(base.images, base.prompts, seed=0, config=config)
    draws = {sampler._task_set() for _ in range(500)}
    # the only pair has low light in it, so pair draws fall back to single tasks
    assert draws == {("denoise",), ("deblur",)}
    with pytest.raises(ValueError, match="bad task weight"):
        parse_task_weights("deblur=-1")


def test_subset_draws_degrade_part_of_what_the_prompt_asks_for() -> None:
    base = _sampler()
    sampler = PairSampler(base.images, base.prompts, seed=3, config=SamplerConfig(subset_fraction=1.0))
    composite_row = 2  # "fix the dark noisy photo": denoise + lowlight
    seen = set()
    for _ in range(300):
        lq, gt, _, applied, row = sampler.sample(32)
        if row == composite_row and applied:  # () is a clean draw, which any prompt can get
            seen.add(applied)
            assert len(applied) == 1 and set(applied) < {"denoise", "lowlight"}
            assert not np.array_equal(lq, gt)  # the part it got is still applied
    assert seen == {("denoise",), ("lowlight",)}


def test_validation_has_crops_for_every_case_and_whole_photos_for_the_global_ones(tmp_path) -> None:
    import cv2

    from training.data import OVERASKED, VALIDATION_CASES, WHOLE_IMAGE_CASES, validation_set

    rng = np.random.default_rng(0)
    for folder in ("A", "B"):
        (tmp_path / folder).mkdir()
        for i in range(2):
            img = (rng.random((240, 330, 3)) * 255).astype(np.uint8)
            cv2.imwrite(str(tmp_path / folder / f"{i}.png"), img)
    keys = {tuple(sorted(OVERASKED.get(n, t))) for n, t, _ in VALIDATION_CASES + WHOLE_IMAGE_CASES}
    bank = PromptBank(
        texts=[" ".join(k) for k in keys],
        embeddings=rng.standard_normal((len(keys), 384)).astype(np.float32),
        by_tasks={k: np.array([i]) for i, k in enumerate(keys)},
    )
    items = validation_set(tmp_path, [bank], crop=192, per_folder=1)
    names = [n for n, _, _ in VALIDATION_CASES + WHOLE_IMAGE_CASES]
    assert [it["case"] for it in items] == [n for n in names for _ in range(2)]  # one photo per folder
    for it in items:
        whole = it["case"] in {n for n, _, _ in WHOLE_IMAGE_CASES}
        assert it["gt"].shape == ((240, 320, 3) if whole else (192, 192, 3))
        assert it["lq"].shape == it["gt"].shape
    # and the whole photos are degraded too
    assert not np.array_equal(items[-1]["lq"], items[-1]["gt"])


def test_freeze_trunk_trains_the_expert_and_nothing_else(tmp_path) -> None:
    from tests.conftest import save_rgb, textured_image
    from training.model import RestoreNet, RestoreNetConfig
    from training.train import fp16_state, main

    for folder, n in (("bsd432", 2), ("photos", 2), ("val/set", 2)):
        (tmp_path / folder).mkdir(parents=True)
        for i in range(n):
            save_rgb(tmp_path / folder / f"{i}.png", textured_image(64, 80, seed=i))
    tiny = RestoreNetConfig(width=8, enc_blocks=(1, 1, 1), middle_blocks=1, dec_blocks=(1, 1, 1))
    torch.manual_seed(0)
    start = perturb(RestoreNet(tiny))
    torch.save(fp16_state(start, 0, {}), tmp_path / "init.pt")
    others = ",".join(f"{t}=0" for t in TASKS if t != "deblur")
    main(
        ["--run", str(tmp_path / "run"), "--init", str(tmp_path / "init.pt"), "--experts", "deblur"]
        + ["--freeze-trunk", "--steps", "3", "--batch", "2", "--crop", "32", "--warmup", "1"]
        + ["--data", str(tmp_path), "--val-dir", str(tmp_path / "val"), "--committed-ckpt", "none"]
        + ["--task-weights", others, "--threads", "1"]
    )
    trained = torch.load(tmp_path / "run" / "full.pt", weights_only=False)["model"]
    before = torch.load(tmp_path / "init.pt", weights_only=False)["state_dict"]
    # everything the initial network had is as it was; the added task prior's layer is still silent
    assert all(torch.equal(trained[k].half(), v) for k, v in before.items())
    assert not trained["task_prior.fc.weight"].any() and not trained["task_prior.fc.bias"].any()
    assert trained["experts.deblur.ending.0.weight"].abs().sum() > 0
    with pytest.raises(SystemExit):
        parse_args(["--run", "r", "--steps", "1", "--freeze-trunk"])  # nothing to train
