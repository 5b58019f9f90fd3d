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
