"""The planner and the restorer registry: requests become ordered steps; a new fault is one module and one
registry line (tests/engine/toy_restorer.py), and runs through plan, progress, findings, metadata and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import engine.pipeline.plan as plan_module
from engine.cli import EXIT_OK, main
from engine.errors import Cancelled
from engine.instructions import interpret
from engine.pipeline import make_plan, network_plan, restore
from engine.progress import CancelToken
from engine.restorers import RESTORERS, registry, specialists_for
from engine.restorers.base import StepContext
from tests.conftest import save_rgb, textured_image
from tests.engine.toy_restorer import ToyStreakRestorer, streaks


def names(text: str) -> list[tuple[tuple[str, ...], list[str]]]:
    """(faults, restorer names) of each step of the plan for `text`."""
    return [(step.faults, [r.name for r in step.restorers]) for step in make_plan(interpret(text)).steps]


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("remove the noise", [(("denoise",), ["grain"])]),
        ("remove the jpeg artifacts", [(("jpeg",), ["jpeg"])]),
        ("the photo is out of focus, sharpen it", [(("deblur",), ["defocus", "shake"])]),
        ("remove the haze", [(("dehaze",), [])]),
        ("brighten this dark photo", [(("lowlight",), ["exposure"])]),
    ],
)
def test_a_single_fault_is_a_one_step_plan_with_its_specialists(text: str, steps: list) -> None:
    assert names(text) == steps


def test_faults_are_undone_in_the_reverse_of_how_they_arose() -> None:
    # a JPEG was written last: its blocks go first; a dark photo is brightened before its grain is read
    assert names("it's dark, grainy and the jpeg is blocky") == [
        (("jpeg",), ["jpeg"]),
        (("lowlight",), ["exposure"]),
        (("denoise",), ["grain"]),
    ]
    # grain before the blur a deconvolution would amplify it with, and before the haze
    assert names("remove the noise and the blur") == [
        (("denoise",), ["grain"]),
        (("deblur",), ["defocus", "shake"]),
    ]
    assert names("it's hazy and grainy") == [(("denoise",), ["grain"]), (("dehaze",), [])]


def test_neighbouring_faults_without_a_specialist_are_one_network_step() -> None:
    assert names("remove the rain and the haze") == [(("derain", "dehaze"), [])]


def test_a_measured_combination_goes_to_the_network_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    pair = frozenset({"denoise", "dehaze"})
    monkeypatch.setattr(plan_module, "NETWORK_COMBINATIONS", frozenset({pair}))
    assert names("it's hazy and grainy") == [(("denoise", "dehaze"), [])]
    assert make_plan(interpret("it's hazy and grainy")) == network_plan(interpret("it's hazy and grainy"))


def test_a_specialist_for_several_faults_takes_them_in_one_step(monkeypatch: pytest.MonkeyPatch) -> None:
    class Both(ToyStreakRestorer):
        name = "both"
        faults = frozenset({"denoise", "dehaze"})

    class Apart(ToyStreakRestorer):
        name = "apart"
        faults = frozenset({"jpeg", "denoise"})

    monkeypatch.setattr(registry, "RESTORERS", (*RESTORERS, Both(), Apart()))
    assert names("it's hazy and grainy") == [(("denoise", "dehaze"), ["both"])]
    assert names("remove the noise") == [(("denoise",), ["grain"])]  # a single fault keeps its specialist
    both_faults = [(("jpeg", "denoise"), ["grain+jpeg", "apart"])]  # equally wide: read in registry order
    assert names("it's grainy and the jpeg compression made it blocky") == both_faults
    # only faults that would run back to back: brightening stays between the blocks and the grain
    assert [faults for faults, _ in names("it's dark, grainy and the jpeg is blocky")] == [
        ("jpeg",),
        ("lowlight",),
        ("denoise",),
    ]


def test_the_plan_describes_its_steps_in_words() -> None:
    lines = make_plan(interpret("it's dark and grainy")).describe()
    assert len(lines) == 2
    assert lines[0].startswith("1. brighten: exposure read for the whole scene")
    assert lines[1].startswith("2. reduce noise: grain level read")


def streaked(seed: int = 0) -> np.ndarray:
    photo = textured_image(96, 128, seed=seed) * 0.6
    rng = np.random.default_rng(seed)
    for x in rng.choice(128, 6, replace=False):
        photo[10:80, x] = 1.0
    return photo


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> ToyStreakRestorer:
    """The toy restorer, registered with one line as a new module would be."""
    restorer = ToyStreakRestorer()
    monkeypatch.setattr(registry, "RESTORERS", (*RESTORERS, restorer))
    return restorer


def test_a_new_restorer_is_planned_for_its_fault(toy: ToyStreakRestorer) -> None:
    assert specialists_for("derain") == (toy,)
    assert names("remove the rain") == [(("derain",), ["toy-streaks"])]
    assert names("it's grainy and there is rain") == [
        (("denoise",), ["grain"]),
        (("derain",), ["toy-streaks"]),
    ]


def test_a_new_restorer_runs_with_progress_findings_and_metadata(toy: ToyStreakRestorer) -> None:
    photo = streaked()
    stages: list[tuple[float, str]] = []
    result = restore(photo, "remove the rain", progress=lambda f, s: stages.append((f, s)))
    assert [step.restorer for step in result.steps] == ["toy-streaks"]
    (finding,) = result.findings
    assert finding.startswith("Found streaks on") and finding.endswith("painted them out.")
    assert result.metadata["toy_streaks"] == pytest.approx(float(streaks(photo).mean()), abs=1e-4)
    assert result.metadata["plan"] == ["toy-streaks"] and "model" not in result.metadata  # no network ran
    assert not streaks(result.restored).any()
    fractions = [f for f, _ in stages]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert any(stage == "painting out streaks" for _, stage in stages)


def test_a_new_restorer_that_finds_nothing_leaves_the_fault_to_the_network(toy: ToyStreakRestorer) -> None:
    result = restore(textured_image(64, 64, seed=2) * 0.5, "remove the rain")
    assert result.findings == ("Found no streaks, so only the network ran.",)
    assert [step.restorer for step in result.steps] == ["network"]
    assert result.metadata["model"] == "restore"


def test_cancel_stops_a_new_restorer_inside_its_step(toy: ToyStreakRestorer) -> None:
    cancel = CancelToken()

    def progress(fraction: float, stage: str) -> None:
        if stage == "painting out streaks" and fraction > 0.3:
            cancel.cancel()

    with pytest.raises(Cancelled):
        restore(streaked(), "remove the rain", progress=progress, cancel=cancel)


def test_a_new_restorer_is_reported_by_the_cli(
    toy: ToyStreakRestorer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = save_rgb(tmp_path / "streaks.png", streaked())
    code = main(["restore", str(source), "--prompt", "remove the rain", "--output", str(tmp_path / "out")])
    assert code == EXIT_OK and (tmp_path / "out" / "streaks.png").is_file()
    assert "streaks.png: Found streaks on" in capsys.readouterr().err
    code = main(["restore", str(source), "--prompt", "remove the rain", "-o", str(tmp_path / "j"), "--json"])
    done = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"done"' in line]
    assert done[0]["steps"][0]["restorer"] == "toy-streaks"
    assert done[0]["steps"][0]["findings"] == done[0]["findings"]


def test_several_steps_share_one_progress_bar_and_report_each_step(tmp_path: Path) -> None:
    dark = np.clip(textured_image(96, 96, seed=4) * 0.2, 0, 1).astype(np.float32)
    stages: list[float] = []
    result = restore(dark, "it's dark and grainy", progress=lambda f, s: stages.append(f))
    assert stages == sorted(stages) and stages[-1] == 1.0
    assert [s.label for s in result.steps] == ["brighten", "reduce noise"]
    assert all(s.seconds > 0 for s in result.steps)
    assert result.plan == make_plan(interpret("it's dark and grainy"))


def test_interpret_json_gives_the_plans_steps(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["interpret", "--json", "it's dark and grainy"]) == EXIT_OK
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert [step["label"] for step in plan] == ["brighten", "reduce noise"]
    assert [step["restorers"] for step in plan] == [["exposure"], ["grain"]]
    assert main(["interpret", "it's dark and grainy"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Plan:" in out and "1. brighten" in out and "2. reduce noise" in out


def test_a_step_for_part_of_a_request_is_told_only_its_part() -> None:
    request = interpret("it's dark and grainy")
    whole = StepContext(request, faults=request.tasks)
    part = StepContext(request, faults=("lowlight",))
    assert np.array_equal(whole.embedding(), np.asarray(request.embedding, np.float32).reshape(1, -1))
    brighten = np.asarray(interpret("brighten this dark photo").embedding, np.float32).reshape(1, -1)
    assert np.allclose(part.embedding(), brighten)


def test_restore_is_interpret_plan_run_blend_in_at_most_60_lines() -> None:
    import inspect

    from engine.pipeline import restore as restore_function

    assert len(inspect.getsource(restore_function).splitlines()) <= 60


def test_a_shakes_path_is_checked_on_the_photo_before_any_step_smoothed_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dataclasses

    import engine.restorers.shake as shake_module

    came, deblocked, later = (np.zeros((8, 8, 3), np.float32) for _ in range(3))
    context = StepContext(interpret("the camera shook"), ("deblur",), arrived=came)
    assert context.unsmoothed(came) is None and context.unsmoothed(later) is came
    after_jpeg = dataclasses.replace(context, deblocked=deblocked)
    assert after_jpeg.unsmoothed(deblocked) is None and after_jpeg.unsmoothed(later) is deblocked

    # Through a plan: right after the JPEG step, the path is checked on the pixels it is read on.
    seen: list[object] = []
    real = shake_module.estimate_motion

    def spy(pixels: np.ndarray, **kwargs: object) -> object:
        seen.append(kwargs["spectrum_of"])
        return real(pixels, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(shake_module, "estimate_motion", spy)
    photo = textured_image(96, 128, seed=2)
    result = restore(photo, "the camera shook and the jpeg is blocky")
    assert [s.label for s in result.steps][0] == "clean up JPEG artefacts"
    assert seen == [None]
