"""QtBlurPanel: sharpness score, verdict and kind of the open photo, and its blur map as an overlay."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QLabel, QWidget

from desktop.qt_images import qimage_from_rgba
from desktop.qt_signals import emit
from desktop.qt_workers import QtCallWorker, start

# The heat-map is only ever shown on screen: a display-sized one is enough and cheap.
OVERLAY_MAX_SIDE = 1024

_KIND_TEXT = {"sharp": "sharp", "motion": "motion blur (camera shake)", "defocus": "out of focus"}


class QtBlurPanel(QGroupBox):
    """Wraps engine.blur.analyze_blur / blur_heatmap for the photo in the window."""

    overlayChanged = Signal(object)  # noqa: N815  QImage | None
    analysed = Signal(object)  # BlurReport

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Sharpness", parent)
        self._report: object | None = None
        self._size = (0, 0)
        self._token = 0
        self.score_label = QLabel("—")
        self.verdict_label = QLabel("—")
        self.kind_label = QLabel("—")
        self.kind_label.setWordWrap(True)  # "sharp subject, background out of focus" is longer than the panel
        self.overlay_box = QCheckBox("Show blur map")
        self.overlay_box.setToolTip("Warm: out of focus; clear: sharp; grey hatching: too flat to judge (B)")
        self.overlay_box.setEnabled(False)
        layout = QFormLayout(self)
        layout.addRow("Score:", self.score_label)
        layout.addRow("Verdict:", self.verdict_label)
        layout.addRow("Kind:", self.kind_label)
        layout.addRow(self.overlay_box)
        self.overlay_box.toggled.connect(self._overlay_toggled)

    @property
    def report(self) -> object | None:
        return self._report

    def clear(self) -> None:
        self._token += 1
        self._report = None
        for label in (self.score_label, self.verdict_label, self.kind_label):
            label.setText("—")
        self.overlay_box.setChecked(False)
        self.overlay_box.setEnabled(False)

    def analyse(self, pixels: np.ndarray) -> None:
        """Measure `pixels` in the background; results replace the labels when they arrive."""
        self.clear()
        self._size = (pixels.shape[1], pixels.shape[0])
        self.score_label.setText("measuring…")
        token = self._token
        worker = QtCallWorker(lambda: _analyse(pixels))
        worker.signals.finished.connect(lambda report: self._show(report, token))
        worker.signals.failed.connect(lambda message: self._failed(message, token))
        start(worker)

    def _failed(self, message: str, token: int) -> None:
        if token == self._token:
            self.score_label.setText("unavailable")
            self.verdict_label.setText(message)

    def _show(self, report: object, token: int) -> None:
        if token != self._token:
            return  # a newer photo was opened meanwhile
        self._report = report
        self.score_label.setText(f"{report.score:.1f}")  # type: ignore[attr-defined]
        blurry = bool(report.blurry)  # type: ignore[attr-defined]
        self.verdict_label.setText("blurry" if blurry else "sharp enough")
        self.verdict_label.setStyleSheet(
            "color: #c0392b; font-weight: bold;" if blurry else "color: #2e8b57;"
        )
        kind = str(report.kind)  # type: ignore[attr-defined]
        if not blurry and report.background_out_of_focus:  # type: ignore[attr-defined]
            self.kind_label.setText("sharp subject, background out of focus")
        else:
            self.kind_label.setText(_KIND_TEXT.get(kind, kind))
        self.overlay_box.setEnabled(True)
        emit(self.analysed, report)
        if self.overlay_box.isChecked():
            emit(self.overlayChanged, self.overlay_image())

    def overlay_image(self) -> QImage | None:
        if self._report is None:
            return None
        from engine.blur import blur_heatmap

        width, height = self._size
        scale = min(1.0, OVERLAY_MAX_SIDE / max(width, height, 1))
        rgba = blur_heatmap(self._report, max(1, round(width * scale)), max(1, round(height * scale)))
        return qimage_from_rgba(rgba)

    def _overlay_toggled(self, on: bool) -> None:
        emit(self.overlayChanged, self.overlay_image() if on else None)


def _analyse(pixels: np.ndarray) -> object:
    # Imported in the worker so that an engine problem becomes a message in the panel.
    from engine.blur import analyze_blur

    return analyze_blur(pixels)
