"""QtMainWindow: open/drop a photo, type an instruction, compare before/after, save; plus the batch tab."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QKeySequence,
    QUndoCommand,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.qt_batch import QtBatchPanel, photo_filter
from desktop.qt_blur import QtBlurPanel
from desktop.qt_canvas import QtCompareCanvas
from desktop.qt_images import dropped_paths, qimage_from_pixels
from desktop.qt_prompt import QtPromptBox
from desktop.qt_settings import QtSettingsDialog
from desktop.qt_signals import emit
from desktop.qt_workers import QtCallWorker, QtRestoreWorker, RestoreJob, start, wait_for_workers
from desktop.settings import AppSettings
from engine.errors import PhotoMendError
from engine.io import format_for_suffix
from engine.paths import resources_dir

PREVIEW_MIN_SIDE = 512
# While the strength slider is dragged, big photos are re-mixed at this size so it keeps up;
# the full-resolution mix follows when the slider is released.
DRAG_BLEND_MAX_SIDE = 1600
# An error banner hides itself after this long (and at the next photo, run or save, or its close button).
BANNER_MS = 30_000
# Settings on every platform (Qt maps Ctrl to Cmd on macOS, where this is the usual key): Qt's
# StandardKey.Preferences has no binding on Linux or Windows.
SETTINGS_SHORTCUT = "Ctrl+,"
# Before each finding under its step in the Last run panel.
STEP_INDENT = "    "
FINDING_INDENT_PX = 14


@dataclass(frozen=True)
class EditState:
    """What the after side shows: a result (None: nothing yet) and the strength it is blended at."""

    result: object | None = None  # engine.pipeline.RestoreResult
    strength: float = 1.0


class _ResultCommand(QUndoCommand):
    """Undo/redo between results: each finished run is one step."""

    def __init__(self, window: QtMainWindow, before: EditState, after: EditState, text: str) -> None:
        super().__init__(text)
        self._window, self._before, self._after = window, before, after

    def redo(self) -> None:
        self._window.set_state(self._after)

    def undo(self) -> None:
        self._window.set_state(self._before)


class QtBanner(QFrame):
    """An error line above the photo, with a button to dismiss it; it hides itself after BANNER_MS."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setStyleSheet(
            "#banner { background: #fdecea; border-radius: 3px; } QLabel { color: #8e1b10; padding: 4px; }"
        )
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 2, 2)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def text(self) -> str:
        return self.label.text()

    def show_message(self, text: str) -> None:
        self.label.setText(text)
        self.show()
        self._timer.start(BANNER_MS)

    def hideEvent(self, event) -> None:  # noqa: N802, ANN001
        self._timer.stop()
        super().hideEvent(event)


_TILE_STAGE = re.compile(r"^tile \d+/\d+$")


def progress_text(fraction: float, stage: str, words: str) -> tuple[str, str]:
    """The status line for a run's progress, and the words to keep for the next report.

    The engine reports "tile 5/6" while its network works through a step's tiles; those counts belong to
    one pass of one step, not to the run, so next to the run's percentage they read as a contradiction
    ("tile 5/6… 13%"). The line keeps the last stage said in words and the run's one percentage."""
    if not _TILE_STAGE.match(stage) and stage != "done":
        words = stage
    shown = f"Restoring: {words}" if words else "Restoring"
    return f"{shown}… {fraction:.0%}", words


def app_icon() -> QIcon:
    icons = resources_dir() / "icons"
    for name in ("photomend.svg", "photomend.png"):
        if (icons / name).exists():
            return QIcon(str(icons / name))
    return QIcon()


class QtMainWindow(QMainWindow):
    """The PhotoMend window. Every engine call goes through a worker; the window only shows results."""

    photoLoaded = Signal(object)  # noqa: N815  Path
    restoreFinished = Signal(object)  # noqa: N815  RestoreResult
    restoreFailed = Signal(str)  # noqa: N815
    restoreCancelled = Signal()  # noqa: N815
    previewShown = Signal(object)  # noqa: N815  RestoreResult (screen-sized)

    def __init__(
        self,
        *,
        settings_file: Path | None = None,
        queue_file: Path | None = None,
        confirm_close: bool = True,
    ) -> None:
        super().__init__()
        self.setWindowTitle("PhotoMend")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self._settings_file = settings_file
        self.settings = AppSettings.load(settings_file)
        self.confirm_close = confirm_close
        self.photo: object | None = None  # engine.io.Photo
        self.state = EditState()
        self.save_path: Path | None = None
        self._worker: QtRestoreWorker | None = None
        self._last_device: str | None = None
        self._running_suggestion = False  # the current run uses the auto-detected instruction
        self._progress_words = ""
        self._suggest_token = 0
        self.settings_dialog: QtSettingsDialog | None = None
        self._drag_pair_of: object | None = None
        self._drag_pair_cache: tuple[np.ndarray, np.ndarray] | None = None

        self.canvas = QtCompareCanvas()
        self.prompt = QtPromptBox()
        self.prompt.set_history(self.settings.prompt_history)
        self.blur_panel = QtBlurPanel()
        self.run_info = QLabel()
        self.run_info.setWordWrap(True)
        self.run_info.setTextFormat(Qt.TextFormat.RichText)  # a step's findings wrap under the step
        self._run_lines: list[str] = []
        self._show_run(["No run yet."])
        self.photo_info = QLabel("No photo open.")
        self.photo_info.setWordWrap(True)
        self.banner = QtBanner()

        side = QWidget()
        side_layout = QVBoxLayout(side)
        photo_box = QGroupBox("Photo")
        QVBoxLayout(photo_box).addWidget(self.photo_info)
        run_box = QGroupBox("Last run")
        QFormLayout(run_box).addRow(self.run_info)
        side_layout.addWidget(photo_box)
        side_layout.addWidget(self.blur_panel)
        side_layout.addWidget(run_box)
        side_layout.addStretch(1)
        side.setMinimumWidth(230)
        side.setMaximumWidth(320)

        splitter = QSplitter()
        splitter.addWidget(self.canvas)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 1)
        splitter.setCollapsible(0, False)
        editor = QWidget()
        editor_layout = QVBoxLayout(editor)
        editor_layout.setContentsMargins(4, 4, 4, 4)
        editor_layout.addWidget(self.banner)
        editor_layout.addWidget(splitter, 1)
        editor_layout.addWidget(self.prompt)

        self.batch = QtBatchPanel(self.settings, queue_file=queue_file)
        self.tabs = QTabWidget()
        self.tabs.addTab(editor, "Photo")
        self.tabs.addTab(self.batch, "&Batch")  # Alt+B
        self.setCentralWidget(self.tabs)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.zoom_label = QLabel()
        # The last run's time stays until the next run or photo: a temporary status message went after
        # eight seconds, usually while the user was still comparing (dragging the divider).
        self.run_status = QLabel()
        self.statusBar().addPermanentWidget(self.run_status)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.zoom_label)

        self.undo_stack = QUndoStack(self)
        self._build_actions()
        self._build_menus()

        self.prompt.runRequested.connect(self.run_restore)
        self.prompt.cancelRequested.connect(self.cancel_restore)
        self.prompt.strengthChanged.connect(self._strength_changed)
        self.prompt.strength.sliderReleased.connect(self._strength_released)
        self.blur_panel.overlayChanged.connect(self.canvas.set_overlay)
        self.canvas.zoomChanged.connect(self._show_zoom)
        self.batch.messageChanged.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.tabs.currentChanged.connect(self._tab_changed)
        self._update_actions()

    # --- actions and menus ---------------------------------------------------------------------
    def _action(
        self,
        text: str,
        slot,
        shortcut: QKeySequence | str | None = None,
        *,  # noqa: ANN001
        checkable: bool = False,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        # Checkable actions pass their state; `triggered` would call Qt slots without it.
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)  # shortcuts work even while the menu bar is hidden
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action("&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.save_action = self._action("&Save", self.save, QKeySequence.StandardKey.Save)
        self.save_as_action = self._action("Save &As…", self.save_as, QKeySequence.StandardKey.SaveAs)
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.undo_action = self.undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        self.addAction(self.undo_action)
        self.addAction(self.redo_action)
        self.settings_action = self._action("&Settings…", self.open_settings, SETTINGS_SHORTCUT)
        # Also the platform's own binding where it has another one; the menu shows the first.
        ours = QKeySequence(SETTINGS_SHORTCUT)
        native = QKeySequence.keyBindings(QKeySequence.StandardKey.Preferences)
        self.settings_action.setShortcuts([ours, *(key for key in native if key != ours)])
        self.instruction_action = self._action(
            "Edit the &instruction", self.prompt.focus_instruction, "Ctrl+L"
        )
        self.fit_action = self._action("&Fit to window", self.canvas.zoom_fit, "Ctrl+0")
        self.actual_action = self._action("&100%", self.canvas.zoom_actual, "Ctrl+1")
        self.zoom_in_action = self._action(
            "Zoom &in", lambda: self.canvas.zoom_by(1.25), QKeySequence.StandardKey.ZoomIn
        )
        self.zoom_out_action = self._action(
            "Zoom &out", lambda: self.canvas.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut
        )
        self.flip_action = self._action(
            "Show &before (flip)", self.canvas.set_show_before, "\\", checkable=True
        )
        self.side_action = self._action("&Side by side", self.canvas.set_side_by_side, "Y", checkable=True)
        self.overlay_action = self._action(
            "Blur &map overlay", self.blur_panel.overlay_box.setChecked, "B", checkable=True
        )
        self.blur_panel.overlay_box.toggled.connect(self.overlay_action.setChecked)
        self.run_action = self._action("&Run", self.prompt.request_run, "Ctrl+Return")
        self.cancel_action = self._action("&Cancel", self.cancel_restore, "Esc")

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.save_as_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = self.menuBar().addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.settings_action)
        view_menu = self.menuBar().addMenu("&View")
        for action in (self.fit_action, self.actual_action, self.zoom_in_action, self.zoom_out_action):
            view_menu.addAction(action)
        view_menu.addSeparator()
        for action in (self.flip_action, self.side_action, self.overlay_action):
            view_menu.addAction(action)
        photo_menu = self.menuBar().addMenu("&Photo")
        photo_menu.addAction(self.instruction_action)
        photo_menu.addAction(self.run_action)
        photo_menu.addAction(self.cancel_action)
        self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        for entry in self.settings.recent_files:
            action = self.recent_menu.addAction(entry)
            action.triggered.connect(lambda _checked=False, p=entry: self.open_photo(Path(p)))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))

    def _update_actions(self) -> None:
        has_photo = self.photo is not None
        has_result = self.state.result is not None
        busy = self._worker is not None
        self.save_action.setEnabled(has_result)
        self.save_as_action.setEnabled(has_result)
        self.run_action.setEnabled(has_photo and not busy)
        self.cancel_action.setEnabled(busy)
        self.prompt.set_busy(busy)
        self.prompt.run_button.setEnabled(has_photo and not busy)

    # --- opening -------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        start_dir = str(Path(self.settings.recent_files[0]).parent) if self.settings.recent_files else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a photo", start_dir, photo_filter())
        if path:
            self.open_photo(Path(path))

    def open_paths(self, paths: list[Path]) -> None:
        """Command line and drops: the first photo opens here; folders and further files go to the batch."""
        paths = [Path(p) for p in paths]
        files = [p for p in paths if not p.is_dir()]
        folders = [p for p in paths if p.is_dir()]
        on_batch_tab = self.tabs.currentWidget() is self.batch
        if files and not on_batch_tab:
            self.open_photo(files[0])
            rest = files[1:] + folders
        else:
            rest = paths
        if rest:
            self.batch.add_paths(rest)
            if not files or on_batch_tab:
                self.tabs.setCurrentWidget(self.batch)

    def open_photo(self, path: Path) -> bool:
        from engine.io import read_photo

        if self._worker is not None:
            self._error("A restoration is running — cancel it before opening another photo.")
            return False
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            photo = read_photo(path)
        except PhotoMendError as exc:
            self._error(str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - a bad file must never close the app
            self._error(f"{path}: cannot open ({exc})")
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.photo = photo
        self.save_path = None
        self.undo_stack.clear()
        self.state = EditState(None, self.prompt.strength_value_f())
        self.banner.hide()
        self.run_status.clear()
        self.canvas.set_before(qimage_from_pixels(photo.pixels))  # type: ignore[attr-defined]
        self.canvas.setFocus()
        self.tabs.setCurrentIndex(0)
        self._describe_photo(Path(path))
        self.blur_panel.analyse(photo.pixels)  # type: ignore[attr-defined]
        self._suggest()
        self._show_run(["No run yet."])
        self.settings.add_recent(Path(path))
        self._save_settings()
        self._rebuild_recent()
        self.setWindowTitle(f"{Path(path).name}[*] — PhotoMend")  # "[*]": "*" while unsaved
        self.dirty = False
        self._update_actions()
        emit(self.photoLoaded, Path(path))
        return True

    def _describe_photo(self, path: Path) -> None:
        photo = self.photo
        height, width = photo.pixels.shape[:2]  # type: ignore[attr-defined]
        parts = [path.name, f"{width} × {height}", f"{photo.format}, {photo.bit_depth}-bit"]  # type: ignore[attr-defined]
        if photo.grayscale:  # type: ignore[attr-defined]
            parts.append("greyscale")
        if photo.alpha is not None:  # type: ignore[attr-defined]
            parts.append("with transparency")
        if photo.exif:  # type: ignore[attr-defined]
            parts.append("EXIF kept")
        if photo.icc_profile:  # type: ignore[attr-defined]
            parts.append("ICC profile kept")
        self.photo_info.setText("\n".join(parts))

    def _suggest(self) -> None:
        """Detect what the photo needs as it stands now: the after side when there is one. Done on opening
        and again whenever the after side changes (a run, undo, redo, the strength), so that Run with an
        empty prompt never re-applies a fix the photo no longer needs."""
        if self.photo is None:
            return
        self._suggest_token += 1
        token = self._suggest_token
        pixels = self.input_pixels()
        device = self.settings.engine_device
        self.prompt.begin_detection()
        worker = QtCallWorker(lambda: _suggest_instruction(pixels, device))
        worker.signals.finished.connect(lambda suggestion: self._suggested(token, suggestion))
        # A missing detector model just means no suggestion; the prompt still works.
        worker.signals.failed.connect(lambda _message: self._suggested(token, None))
        start(worker)

    def _suggested(self, token: int, suggestion: object) -> None:
        if token == self._suggest_token:  # else the photo or its after side changed meanwhile
            self.prompt.set_suggestion(suggestion)  # type: ignore[arg-type]

    # --- running -------------------------------------------------------------------------------
    def input_pixels(self) -> np.ndarray:
        """What the next run starts from: the current result (runs chain), else the photo."""
        if self.state.result is not None:
            return self._blended(self.state)
        return self.photo.pixels  # type: ignore[attr-defined, union-attr]

    def preview_side(self) -> int:
        ratio = self.canvas.devicePixelRatioF()
        return max(PREVIEW_MIN_SIDE, round(max(self.canvas.width(), self.canvas.height()) * ratio))

    def run_restore(self, instruction: object) -> bool:
        """Start a run for an Interpretation (or text) on the open photo."""
        if self.photo is None:
            self._error("Open a photo first (File ▸ Open, or drop one on the window).")
            return False
        if self._worker is not None:
            return False
        text = getattr(instruction, "text", str(instruction))
        self._running_suggestion = instruction is self.prompt.suggestion
        self.prompt.remember(text)
        self.settings.add_prompt(text)
        self._save_settings()
        job = RestoreJob(
            pixels=self.input_pixels(),
            instruction=instruction,  # type: ignore[arg-type]
            strength=1.0,  # the slider blends afterwards; the network always runs at full strength
            device=self.settings.engine_device,
            tile_size=self.settings.engine_tile_size,
            preview_side=self.preview_side(),
        )
        worker = QtRestoreWorker(job)
        worker.signals.progress.connect(self._progress)
        worker.signals.preview.connect(self._preview)
        worker.signals.finished.connect(self._finished)
        worker.signals.failed.connect(self._failed)
        worker.signals.cancelled.connect(self._cancelled)
        self._worker = worker
        self.banner.hide()
        self.run_status.clear()
        self.progress.setValue(0)
        self.progress.show()
        self._progress_words = ""
        self.statusBar().showMessage("Restoring…")
        self._update_actions()
        start(worker)
        return True

    def cancel_restore(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self.statusBar().showMessage("Cancelling…")

    def _progress(self, fraction: float, stage: str) -> None:
        self.progress.setValue(round(fraction * 1000))
        text, self._progress_words = progress_text(fraction, stage, self._progress_words)
        self.statusBar().showMessage(text)

    def _preview(self, result: object) -> None:
        if self._worker is None:
            return  # cancelled meanwhile
        self.canvas.set_after(qimage_from_pixels(self._blend(result, self.prompt.strength_value_f())))
        emit(self.previewShown, result)

    def _finish_worker(self) -> None:
        self._worker = None
        self.progress.hide()
        self._update_actions()

    def _finished(self, result: object) -> None:
        self._finish_worker()
        before = self.state
        after = EditState(result, self.prompt.strength_value_f())
        summary = result.interpretation.summary()  # type: ignore[attr-defined]
        self.undo_stack.push(_ResultCommand(self, before, after, summary))  # shows it (redo)
        self.dirty = True
        self._last_device = f"{result.device} ({', '.join(result.providers)})"  # type: ignore[attr-defined]
        auto_detected = self._running_suggestion or getattr(result, "auto_detected", False)
        auto = " (auto-detected)" if auto_detected else ""
        plan = getattr(result, "plan", None)
        planned = plan.describe() if plan is not None else []
        self._show_run(
            [
                f"{summary}{auto}",
                f"{result.seconds:.1f} s on {result.device}, tile {result.tile_size} px",  # type: ignore[attr-defined]
                *run_step_lines(result),
            ],
            "\n".join(["How each step is done:", *planned]) if planned else "",
        )
        self.statusBar().clearMessage()
        self.run_status.setText(f"Done in {result.seconds:.1f} s on {result.device}.")  # type: ignore[attr-defined]
        emit(self.restoreFinished, result)

    def _failed(self, message: str) -> None:
        self._finish_worker()
        self.set_state(self.state)  # drop a preview that has no full-resolution result behind it
        self._error(message)
        emit(self.restoreFailed, message)

    def _cancelled(self) -> None:
        self._finish_worker()
        self.set_state(self.state)
        self.statusBar().showMessage("Cancelled: the photo is as it was.", 8000)
        emit(self.restoreCancelled)

    def run_text(self) -> str:
        """The Last run panel as plain text, one line each (a step's findings indented by STEP_INDENT)."""
        return "\n".join(self._run_lines)

    def _show_run(self, lines: list[str], tooltip: str = "") -> None:
        self._run_lines = list(lines)
        self.run_info.setText(run_html(lines))
        self.run_info.setToolTip(tooltip)
        self.run_info.setAccessibleDescription(self.run_text())

    # --- results, strength, undo ---------------------------------------------------------------
    @staticmethod
    def _blend(result: object, strength: float) -> np.ndarray:
        # Runs use strength 1, so result.strength is the engine's own mix for the instruction
        # ("gently" mixes less); the slider scales that mix.
        return result.blend(strength * result.strength)  # type: ignore[attr-defined]

    def _blended(self, state: EditState) -> np.ndarray:
        return self._blend(state.result, state.strength)

    def set_state(self, state: EditState) -> None:
        """Show `state` on the after side (used by undo/redo and after runs)."""
        changed = state.result is not self.state.result
        self.state = state
        if state.result is None:
            self.canvas.set_after(None)
        else:
            self.canvas.set_after(qimage_from_pixels(self._blended(state)))
            self.prompt.strength.blockSignals(True)
            self.prompt.set_strength(state.strength)
            self.prompt.strength_value.setText(f"{round(state.strength * 100)}%")
            self.prompt.strength.blockSignals(False)
        self._update_actions()
        if changed:
            self._suggest()

    def after_pixels(self) -> np.ndarray | None:
        return None if self.state.result is None else self._blended(self.state)

    def _strength_changed(self, strength: float) -> None:
        if self.state.result is None:
            return
        # Instant: RestoreResult.blend mixes the kept network output, no re-run.
        self.state = EditState(self.state.result, strength)
        self.dirty = True
        if self.prompt.strength.isSliderDown():
            pair = self._drag_pair()
            if pair is not None:
                from engine.pipeline import blend

                original, restored = pair
                amount = strength * self.state.result.strength  # type: ignore[union-attr]
                self.canvas.set_after(qimage_from_pixels(blend(original, restored, amount)))
                return
        self.canvas.set_after(qimage_from_pixels(self._blended(self.state)))

    def _strength_released(self) -> None:
        if self.state.result is not None:
            self.canvas.set_after(qimage_from_pixels(self._blended(self.state)))
            self._suggest()  # the next run starts from this mix

    def _drag_pair(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Display-sized (original, restored) of the current result, made once per result; None if small."""
        result = self.state.result
        if self._drag_pair_of is result:
            return self._drag_pair_cache
        pair = None
        height, width = result.restored.shape[:2]  # type: ignore[union-attr]
        if max(height, width) > DRAG_BLEND_MAX_SIDE:
            import cv2

            scale = DRAG_BLEND_MAX_SIDE / max(height, width)
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            pair = (
                cv2.resize(result.original, size, interpolation=cv2.INTER_AREA),  # type: ignore[union-attr]
                cv2.resize(result.restored, size, interpolation=cv2.INTER_AREA),  # type: ignore[union-attr]
            )
        self._drag_pair_of, self._drag_pair_cache = result, pair
        return pair

    # --- saving --------------------------------------------------------------------------------
    def default_save_path(self) -> Path:
        from engine.io import output_suffix

        source = Path(self.photo.source or "photo.png")  # type: ignore[union-attr, attr-defined]
        suffix = output_suffix(source) or ".png"  # a RAW is saved as a 16-bit TIFF, never as RAW
        if self.settings.engine_format:
            suffix = _suffix_for(self.settings.engine_format, suffix)
        return source.with_name(f"{source.stem}-restored{suffix}")

    def save(self) -> bool:
        if self.save_path is None:
            return self.save_as()
        return self.write_to(self.save_path, confirmed=True)

    def save_as(self) -> bool:
        if self.state.result is None:
            return False
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the restored photo", str(self.default_save_path()), photo_filter()
        )
        if not path:
            return False
        # QFileDialog has already asked about replacing an existing file.
        return self.write_to(Path(path), confirmed=True)

    def write_to(self, path: Path, *, confirmed: bool = False) -> bool:
        """Write the after side with the source's depth and metadata; the original only after asking."""
        from engine.io import write_photo

        if self.state.result is None or self.photo is None:
            return False
        source = self.photo.source  # type: ignore[attr-defined]
        overwrite = confirmed
        if source is not None and Path(path).resolve() == Path(source).resolve():
            answer = QMessageBox.question(
                self,
                "Overwrite the original?",
                f"{Path(path).name} is the original photo. Replace it with the restored version?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
            overwrite = True
        photo = self.photo.with_pixels(self._blended(self.state))  # type: ignore[attr-defined]
        fmt = format_for_suffix(path) or self.settings.engine_format
        try:
            written = write_photo(photo, path, format=fmt, quality=self.settings.quality, overwrite=overwrite)
        except PhotoMendError as exc:
            self._error(str(exc))
            return False
        self.save_path = Path(written)
        self.dirty = False
        self.banner.hide()
        self.statusBar().showMessage(f"Saved {written}", 8000)
        return True

    # --- settings ------------------------------------------------------------------------------
    def open_settings(self) -> None:
        """The settings dialog, window-modal but without a nested event loop (it may be open at quit)."""
        if self.settings_dialog is not None:
            self.settings_dialog.raise_()
            self.settings_dialog.activateWindow()
            return
        dialog = QtSettingsDialog(
            self.settings, in_use=self._last_device, path=self._settings_file, parent=self
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self._settings_closed)
        self.settings_dialog = dialog
        dialog.open()

    def _settings_closed(self, _result: int) -> None:
        self.settings_dialog = None

    def _save_settings(self) -> None:
        try:
            self.settings.save(self._settings_file)
        except OSError as exc:
            self.statusBar().showMessage(f"Settings not saved: {exc}", 8000)

    # --- messages, drops, closing --------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        """The after side holds a result that is not saved; the title shows "*"."""
        return self.isWindowModified()

    @dirty.setter
    def dirty(self, value: bool) -> None:
        self.setWindowModified(bool(value) and self.photo is not None)

    def _error(self, message: str) -> None:
        # Inline, not a modal box: the user keeps working and tests never block on a dialog.
        self.banner.show_message(message)
        self.statusBar().showMessage(message.splitlines()[0] if message else "", 10000)

    @property
    def error_text(self) -> str:
        return self.banner.text() if self.banner.isVisibleTo(self) else ""

    def _tab_changed(self, _index: int) -> None:
        # The last run's time and the zoom are about the photo: on the Batch tab they read as the batch's.
        on_photo = self.tabs.currentWidget() is not self.batch
        self.run_status.setVisible(on_photo)
        self.zoom_label.setVisible(on_photo)

    def _show_zoom(self, scale: float) -> None:
        self.zoom_label.setText(f"{scale:.0%}")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = dropped_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            # Let the drag finish before reading a possibly large file.
            QTimer.singleShot(0, lambda: self.open_paths(paths))

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.confirm_close and self.dirty and not self._may_quit_unsaved():
            event.ignore()
            return
        if self._worker is not None:
            self._worker.cancel()
        self.batch.shutdown()
        self.settings.prompt_history = self.prompt.history()
        self._save_settings()
        wait_for_workers(10000)
        event.accept()

    def _may_quit_unsaved(self) -> bool:
        """Ask about the unsaved result: save it, quit without it, or stay (Esc)."""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Unsaved result",
            "The restored photo is not saved.",
            QMessageBox.StandardButton.NoButton,
            self,
        )
        save = box.addButton("&Save…", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("&Quit without saving", QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.setEscapeButton(cancel)
        box.exec()
        clicked = box.clickedButton()
        if clicked is save:
            return self.save()
        return clicked is discard

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(1280, 820)


_SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif", "WEBP": ".webp", "BMP": ".bmp"}


def _suffix_for(fmt: str, fallback: str) -> str:
    return _SUFFIXES.get(fmt.upper(), fallback)


def run_step_lines(result: object) -> list[str]:
    """The Last run panel's account of each step, in the order they ran: "1. reduce noise (grain, 1.2 s)"
    (the step, the restorer that ran, its time), then what it found, one indented line per finding. A result
    without steps gives its findings as they are."""
    steps = getattr(result, "steps", ())
    if not steps:
        return list(getattr(result, "findings", ()))
    lines = []
    for number, step in enumerate(steps, 1):
        lines.append(f"{number}. {step.label} ({step.restorer}, {step.seconds:.1f} s)")
        lines.extend(f"{STEP_INDENT}{finding}" for finding in step.findings)
    return lines


def run_html(lines: list[str]) -> str:
    """`lines` for the Last run panel: a line indented by STEP_INDENT (a step's finding) keeps its indent when
    it wraps."""
    blocks = []
    for line in lines:
        indented = line.startswith(STEP_INDENT)
        style = f' style="margin-left: {FINDING_INDENT_PX}px"' if indented else ""
        blocks.append(f"<div{style}>{html.escape(line.strip() if indented else line)}</div>")
    return "".join(blocks)


def _suggest_instruction(pixels: np.ndarray, device: str | None) -> object:
    from engine.pipeline import suggest_instruction

    return suggest_instruction(pixels, device=device)
