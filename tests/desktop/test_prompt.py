"""Prompt box: interpretation shown first, off-topic prompts refused, empty prompt -> suggestion, history."""

from __future__ import annotations

import pytest

from desktop.qt_prompt import EXAMPLE_PROMPTS, QtPromptBox

INTERPRET_TIMEOUT_MS = 120_000  # the first call loads the text encoder


@pytest.fixture
def prompt(qtbot) -> QtPromptBox:  # noqa: ANN001
    from desktop.qt_workers import wait_for_workers

    box = QtPromptBox()
    qtbot.addWidget(box)
    box.show()
    yield box
    assert wait_for_workers(60_000)


def test_interpretation_shows_before_anything_runs(qtbot, prompt: QtPromptBox) -> None:  # noqa: ANN001
    runs = []
    prompt.runRequested.connect(runs.append)
    with qtbot.waitSignal(prompt.interpretationShown, timeout=INTERPRET_TIMEOUT_MS) as shown:
        prompt.set_text("please remove the noise")
    interpretation = shown.args[0]
    assert interpretation.understood and "denoise" in interpretation.tasks
    assert prompt.interpretation_label.text() == f"→ {interpretation.summary()}"
    assert runs == []  # typing never starts a run


def test_a_task_the_model_does_poorly_is_said_before_it_runs(qtbot, prompt: QtPromptBox) -> None:  # noqa: ANN001
    with qtbot.waitSignal(prompt.interpretationShown, timeout=INTERPRET_TIMEOUT_MS) as shown:
        prompt.set_text("the camera shook, sharpen it")
    interpretation = shown.args[0]
    assert "deblur" in interpretation.tasks
    summary, note = prompt.interpretation_label.text().split("\n")
    assert summary == f"→ {interpretation.summary()}"
    assert "camera shake" in note and "out-of-focus" in note and "dB" in note
    assert prompt.interpretation_label.property("warning") is False  # it still runs: a note, not a refusal


def test_off_topic_prompt_shows_the_engine_message_and_does_not_run(qtbot, prompt: QtPromptBox) -> None:  # noqa: ANN001
    runs = []
    prompt.runRequested.connect(runs.append)
    with qtbot.waitSignal(prompt.interpretationShown, timeout=INTERPRET_TIMEOUT_MS) as shown:
        prompt.set_text("what is the capital of France?")
        prompt.request_run()
    interpretation = shown.args[0]
    assert not interpretation.understood and interpretation.message
    assert prompt.interpretation_label.text() == interpretation.message
    assert prompt.interpretation_label.property("warning") is True
    qtbot.wait(200)
    assert runs == []


def test_run_on_an_understood_prompt_emits_its_interpretation(qtbot, prompt: QtPromptBox) -> None:  # noqa: ANN001
    prompt.set_text("brighten this dark photo")
    with qtbot.waitSignal(prompt.runRequested, timeout=INTERPRET_TIMEOUT_MS) as run:
        prompt.request_run()  # before the debounce fired: runs once the interpretation arrives
    assert run.args[0].text == "brighten this dark photo" and run.args[0].understood


def test_empty_prompt_runs_the_detected_suggestion(qtbot, prompt: QtPromptBox) -> None:  # noqa: ANN001
    from engine.instructions import interpret

    suggestion = interpret("remove the noise")
    prompt.set_suggestion(suggestion)
    assert "remove the noise" in prompt.line.placeholderText()
    assert suggestion.summary() in prompt.interpretation_label.text()
    with qtbot.waitSignal(prompt.runRequested, timeout=5_000) as run:
        prompt.request_run()
    assert run.args[0] is suggestion


def test_empty_prompt_without_suggestion_asks_for_words(qtbot, prompt: QtPromptBox) -> None:  # noqa: ANN001
    runs = []
    prompt.runRequested.connect(runs.append)
    prompt.request_run()
    assert runs == [] and prompt.interpretation_label.property("warning") is True


def test_examples_fill_the_box_and_history_keeps_the_latest_first(prompt: QtPromptBox) -> None:
    actions = prompt.examples.menu().actions()
    assert [a.text() for a in actions] == list(EXAMPLE_PROMPTS)
    actions[2].trigger()
    assert prompt.text() == EXAMPLE_PROMPTS[2]
    prompt.set_history(["remove the noise"])
    prompt.remember("fix the blur")
    prompt.remember("remove the noise")
    assert prompt.history() == ["remove the noise", "fix the blur"]
    assert prompt.text() == EXAMPLE_PROMPTS[2]  # the history list does not overwrite what is typed


def test_the_plan_shows_its_steps_in_order_before_anything_runs(qtbot, prompt: QtPromptBox) -> None:  # noqa: ANN001
    from engine.pipeline import make_plan

    runs = []
    prompt.runRequested.connect(runs.append)
    with qtbot.waitSignal(prompt.interpretationShown, timeout=INTERPRET_TIMEOUT_MS) as shown:
        prompt.set_text("it's dark and grainy")
    interpretation = shown.args[0]
    assert set(interpretation.tasks) == {"lowlight", "denoise"}
    # Brightening first: the grain step must see the noise at the strength it will have.
    assert prompt.plan_label.text() == "Plan: 1. brighten → 2. reduce noise"
    assert not prompt.plan_label.isHidden()
    # How each step is done, in the tooltip (the full method text is too long for the line).
    tooltip = prompt.plan_label.toolTip().split("\n")
    assert tooltip[1:] == make_plan(interpretation).describe()
    assert tooltip[1].startswith("1. brighten: ") and tooltip[2].startswith("2. reduce noise: grain level")
    assert prompt.interpretation_label.text() == f"→ {interpretation.summary()}"  # the summary is unchanged
    assert runs == []


def test_the_plan_follows_the_typing_and_goes_for_no_restoration_or_an_empty_box(
    qtbot,  # noqa: ANN001
    prompt: QtPromptBox,
) -> None:
    with qtbot.waitSignal(prompt.interpretationShown, timeout=INTERPRET_TIMEOUT_MS):
        prompt.set_text("remove the noise")
    assert prompt.plan_label.text() == "Plan: 1. reduce noise"
    with qtbot.waitSignal(prompt.interpretationShown, timeout=INTERPRET_TIMEOUT_MS) as shown:
        prompt.set_text("add film grain")  # adds a fault: not a restoration
    assert not shown.args[0].understood
    assert prompt.plan_label.isHidden() and prompt.plan_label.text() == ""
    assert prompt.plan_label.toolTip() == ""
    with qtbot.waitSignal(prompt.interpretationShown, timeout=INTERPRET_TIMEOUT_MS):
        prompt.set_text("it's dark and grainy")
    assert not prompt.plan_label.isHidden()
    prompt.set_text("")  # empty, nothing detected: no plan
    assert prompt.plan_label.isHidden() and prompt.plan_label.text() == ""


def test_an_empty_prompt_shows_the_plan_of_the_detected_suggestion(prompt: QtPromptBox) -> None:
    from engine.instructions import interpret

    prompt.set_suggestion(interpret("clean up the jpeg artifacts and remove the noise"))
    assert "Auto-detected:" in prompt.interpretation_label.text()
    # grain saved as a JPEG is one step (engine.restorers.grain_jpeg)
    assert prompt.plan_label.text() == "Plan: 1. clean up JPEG artefacts + reduce noise"
    assert not prompt.plan_label.isHidden()
    prompt.set_suggestion(None)  # another photo, nothing detected
    assert prompt.plan_label.isHidden()
