"""QtPromptBox: the instruction field, its live interpretation and plan, history, examples and the strength
slider."""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.qt_signals import emit
from desktop.qt_workers import QtCallWorker, start

if TYPE_CHECKING:
    from engine.instructions import Interpretation

EXAMPLE_PROMPTS = (
    "remove the noise",
    "fix the blur, it's a bit shaky",
    "remove the haze",
    "brighten this dark photo",
    "remove the rain streaks",
    "clean up the jpeg artifacts",
    "gently denoise and brighten",
)

INTERPRET_DELAY_MS = 250
PLAN_ARROW = " → "


def _notes(interpretation: Interpretation) -> str:
    """The model's notes on the tasks asked for (what it does poorly), one per line after the summary."""
    from engine.pipeline import task_notes

    return "".join(f"\n{note}" for note in task_notes(interpretation.tasks))


def plan_text(interpretation: Interpretation | None) -> tuple[str, str]:
    """The steps a run of `interpretation` would take: ("Plan: 1. brighten → 2. reduce noise", the same steps
    with how each is done, one per line, for the tooltip). ("", "") when nothing would run: no instruction,
    one not understood, or one with no restoration in it."""
    from engine.instructions import Interpretation
    from engine.pipeline import make_plan

    plannable = isinstance(interpretation, Interpretation) and interpretation.understood
    if not plannable or not interpretation.tasks:
        return "", ""
    try:
        plan = make_plan(interpretation)
    except Exception:  # noqa: BLE001 - the plan is shown for information; the run reports its own errors
        traceback.print_exc()
        return "", ""
    if not plan.steps:
        return "", ""
    steps = PLAN_ARROW.join(f"{i}. {step.label}" for i, step in enumerate(plan.steps, 1))
    return f"Plan: {steps}", "\n".join(["How each step is done:", *plan.describe()])


class QtPromptBox(QWidget):
    """Emits `runRequested(Interpretation)` only for an instruction the engine understood."""

    runRequested = Signal(object)  # noqa: N815
    cancelRequested = Signal()  # noqa: N815
    strengthChanged = Signal(float)  # noqa: N815
    interpretationShown = Signal(object)  # noqa: N815

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._interpretation: Interpretation | None = None  # for the current text
        self._suggestion: Interpretation | None = None  # auto-detected, for an empty prompt
        self._detecting = False  # a detection of what the photo needs is under way
        self._run_when_detected = False
        self._run_when_interpreted = False
        self._busy = False

        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)  # history is added on run, not on Enter
        self.combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.combo.setToolTip("What should be fixed? Plain words; history in the list.")
        self.line = self.combo.lineEdit()
        self.line.setClearButtonEnabled(True)
        self.line.setPlaceholderText("Describe the fix, e.g. “remove the noise and brighten”")

        self.examples = QToolButton()
        self.examples.setText("Examples")
        self.examples.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.examples)
        for text in EXAMPLE_PROMPTS:
            action = QAction(text, menu)
            action.triggered.connect(lambda _checked=False, t=text: self.set_text(t))
            menu.addAction(action)
        self.examples.setMenu(menu)

        self.run_button = QPushButton("Run")
        self.run_button.setDefault(True)
        self.run_button.setToolTip("Restore the photo (Ctrl+Return)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)

        self.interpretation_label = QLabel()
        self.interpretation_label.setWordWrap(True)
        self.interpretation_label.setTextFormat(Qt.TextFormat.PlainText)
        self.interpretation_label.setMinimumHeight(20)
        # The steps the run will take, in order (hidden when nothing would run); their methods in the tooltip.
        self.plan_label = QLabel()
        self.plan_label.setWordWrap(True)
        self.plan_label.setTextFormat(Qt.TextFormat.PlainText)
        self.plan_label.hide()

        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setRange(0, 100)
        self.strength.setValue(100)
        self.strength.setToolTip("Mix of original and restored; changes instantly, no re-run")
        self.strength_value = QLabel("100%")
        self.strength_value.setMinimumWidth(40)

        top = QHBoxLayout()
        top.addWidget(QLabel("Instruction:"))
        top.addWidget(self.combo, 1)
        top.addWidget(self.examples)
        top.addWidget(self.run_button)
        top.addWidget(self.cancel_button)
        said_box = QWidget()
        said = QVBoxLayout(said_box)
        said.setContentsMargins(0, 0, 0, 0)
        said.setSpacing(2)
        said.addWidget(self.interpretation_label)
        said.addWidget(self.plan_label)
        said.addStretch(1)
        # Room for the usual two lines (what was understood, the plan) whether or not they show, so that
        # the photo above does not jump as the lines come and go while typing; notes may still add more.
        self.interpretation_label.setText("→")
        self.plan_label.setText("Plan:")
        self.plan_label.setHidden(False)
        said_box.setMinimumHeight(said.sizeHint().height())
        self.plan_label.hide()
        bottom = QHBoxLayout()
        bottom.addWidget(said_box, 1)
        bottom.addSpacing(12)
        bottom.addWidget(QLabel("Strength:"))
        bottom.addWidget(self.strength)
        bottom.addWidget(self.strength_value)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(top)
        layout.addLayout(bottom)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(INTERPRET_DELAY_MS)
        self._timer.timeout.connect(self._interpret_now)
        self.line.textChanged.connect(self._text_changed)
        self.line.returnPressed.connect(self.request_run)
        self.run_button.clicked.connect(self.request_run)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.strength.valueChanged.connect(self._strength_moved)
        self._show_idle()

    # --- public API ----------------------------------------------------------------------------
    def text(self) -> str:
        return self.line.text().strip()

    def set_text(self, text: str) -> None:
        self.line.setText(text)

    def set_history(self, history: list[str]) -> None:
        current = self.line.text()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems(history)
        self.combo.setCurrentIndex(-1)
        self.combo.blockSignals(False)
        self.line.setText(current)

    def history(self) -> list[str]:
        return [self.combo.itemText(i) for i in range(self.combo.count())]

    def remember(self, text: str) -> None:
        """Put `text` on top of the history list (done when a run starts)."""
        text = text.strip()
        if not text:
            return
        history = [text] + [t for t in self.history() if t != text]
        self.set_history(history)

    def strength_value_f(self) -> float:
        return self.strength.value() / 100.0

    def set_strength(self, value: float) -> None:
        self.strength.setValue(round(min(max(value, 0.0), 1.0) * 100))

    @property
    def interpretation(self) -> Interpretation | None:
        return self._interpretation

    @property
    def suggestion(self) -> Interpretation | None:
        return self._suggestion

    @property
    def detecting(self) -> bool:
        return self._detecting

    def begin_detection(self) -> None:
        """The photo (or its after side) changed: forget the suggestion until the new one arrives."""
        self._suggestion = None
        self._detecting = True
        self.line.setPlaceholderText("Looking at what the photo needs… or type your own")
        if not self.text():
            self._show_idle()

    def set_suggestion(self, suggestion: Interpretation | None) -> None:
        """The automatically detected instruction shown (and used) while the prompt is empty; None: the
        photo needs nothing that detection can see."""
        self._suggestion = suggestion
        self._detecting = False
        if suggestion is not None:
            self.line.setPlaceholderText(f"Suggested: {suggestion.text} — press Run, or type your own")
        else:
            self.line.setPlaceholderText("Describe the fix, e.g. “remove the noise and brighten”")
        if not self.text():
            self._show_idle()
        if self._run_when_detected:
            self._run_when_detected = False
            if not self.text():
                self.request_run()

    def focus_instruction(self) -> None:
        """Ctrl+L: into the instruction box, its text selected so typing replaces it."""
        self.line.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.line.selectAll()

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.run_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def request_run(self) -> None:
        """Run: an empty prompt uses the suggestion; an off-topic prompt shows the engine's message."""
        if self._busy:
            return
        if not self.text():
            if self._detecting:
                # Run as soon as detection has had its say, rather than claim it found nothing.
                self._run_when_detected = True
                self._show_message(
                    "Looking at what the photo needs; the run starts once that is known…", False
                )
                return
            if self._suggestion is None:
                self._show_message(
                    "Type what is wrong with the photo — nothing was detected automatically.", True
                )
                return
            emit(self.runRequested, self._suggestion)
            return
        if self._interpretation is not None and self._interpretation.text == self.text():
            self._emit_if_understood(self._interpretation)
        else:
            # The interpretation for this text is on its way: run as soon as it arrives.
            self._run_when_interpreted = True
            self._interpret_now()

    # --- internals -----------------------------------------------------------------------------
    def _strength_moved(self, value: int) -> None:
        self.strength_value.setText(f"{value}%")
        emit(self.strengthChanged, value / 100.0)

    def _text_changed(self, _text: str) -> None:
        self._interpretation = None
        self._run_when_interpreted = False
        self._run_when_detected = False
        if not self.text():
            self._timer.stop()
            self._show_idle()
            return
        self._timer.start()

    def _interpret_now(self) -> None:
        self._timer.stop()
        text = self.text()
        if not text:
            return
        from engine.instructions import interpret

        worker = QtCallWorker(lambda: interpret(text))
        worker.signals.finished.connect(self._interpreted)
        worker.signals.failed.connect(self._interpret_failed)
        start(worker)

    def _interpret_failed(self, message: str) -> None:
        self._show_message(message, True)
        self._show_plan(None)

    def _interpreted(self, interpretation: Interpretation) -> None:
        if interpretation.text.strip() != self.text():
            return  # the user has typed on since; a newer request is under way
        self._interpretation = interpretation
        self._show_interpretation(interpretation)
        if self._run_when_interpreted:
            self._run_when_interpreted = False
            self._emit_if_understood(interpretation)

    def _emit_if_understood(self, interpretation: Interpretation) -> None:
        if interpretation.understood:
            emit(self.runRequested, interpretation)
        else:
            self._show_interpretation(interpretation)

    def _show_interpretation(self, interpretation: Interpretation) -> None:
        if interpretation.understood:
            self._show_message(f"→ {interpretation.summary()}{_notes(interpretation)}", False)
        else:
            self._show_message(interpretation.message or "This is not a restoration instruction.", True)
        self._show_plan(interpretation)
        emit(self.interpretationShown, interpretation)

    def _show_idle(self) -> None:
        if self._suggestion is not None:
            self._show_message(
                f"Auto-detected: {self._suggestion.summary()}{_notes(self._suggestion)}", False
            )
        elif self._detecting:
            self._show_message("Looking at what the photo needs…", False)
        else:
            self._show_message(
                "Type an instruction; its interpretation shows here before anything runs.", False
            )
        self._show_plan(self._suggestion)

    def _show_plan(self, interpretation: Interpretation | None) -> None:
        text, methods = plan_text(interpretation)
        self.plan_label.setText(text)
        self.plan_label.setToolTip(methods)
        self.plan_label.setVisible(bool(text))

    def _show_message(self, text: str, warning: bool) -> None:
        self.interpretation_label.setText(text)
        self.interpretation_label.setStyleSheet("color: #c0392b;" if warning else "")
        self.interpretation_label.setProperty("warning", warning)
