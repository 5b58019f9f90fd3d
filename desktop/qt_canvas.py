"""QtCompareCanvas: the photo view with zoom, pan, a draggable before/after divider and side-by-side mode.

Both sides are painted through one transform (photo point -> pane point), so before and after stay
pixel-aligned at every zoom, whatever the resolution of the after image (a fast preview is smaller).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop.qt_signals import emit

MIN_SCALE = 0.02
MAX_SCALE = 32.0
WHEEL_STEP = 1.25
DIVIDER_GRAB_PX = 10
SIDE_GAP_PX = 4


class QtCompareCanvas(QWidget):
    """Shows `before` and, when there is one, `after`, split by a divider or side by side."""

    dividerMoved = Signal(float)
    zoomChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 150)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAcceptDrops(False)  # the main window takes drops for the whole window
        self._before: QImage | None = None
        self._after: QImage | None = None
        self._overlay: QImage | None = None
        self._photo_w = 0
        self._photo_h = 0
        self._scale = 1.0
        self._fit = True
        self._center = QPointF(0.0, 0.0)  # photo coordinates shown at each pane's centre
        self._divider = 0.5  # fraction of the pane width; before on the left
        self._side_by_side = False
        self._show_before = False
        self._drag: str | None = None  # "divider" | "pan"
        self._drag_origin = QPointF()
        self._drag_center = QPointF()
        self._placeholder = "Open a photo (Ctrl+O) or drop one here"

    # --- content -------------------------------------------------------------------------------
    def set_before(self, image: QImage | None) -> None:
        """A new photo: forget the after side and the overlay, fit it to the view."""
        self._before = image
        self._after = None
        self._overlay = None
        self._photo_w = image.width() if image else 0
        self._photo_h = image.height() if image else 0
        self._center = QPointF(self._photo_w / 2, self._photo_h / 2)
        self._fit = True
        self._apply_fit()
        emit(self.zoomChanged, self._scale)  # also when the new photo's zoom is the old one's
        self.update()

    def set_after(self, image: QImage | None) -> None:
        self._after = image
        self._follow_size(image if image is not None else self._before)
        self.update()

    def _follow_size(self, image: QImage | None) -> None:
        """The view's photo coordinates are the after side's pixels: an enlarged result is compared with the
        before side drawn at its size, at the same zoom (100 % is the result's pixels), and the view shows
        the same part of the photo as before the switch."""
        if image is None or (image.width(), image.height()) == (self._photo_w, self._photo_h):
            return
        fx = image.width() / self._photo_w if self._photo_w else 1.0
        fy = image.height() / self._photo_h if self._photo_h else 1.0
        self._photo_w, self._photo_h = image.width(), image.height()
        self._center = QPointF(self._center.x() * fx, self._center.y() * fy)
        if self._fit:
            self._apply_fit()
            return
        scale = min(max(self._scale / fx, MIN_SCALE), MAX_SCALE)
        if scale != self._scale:
            self._scale = scale
            emit(self.zoomChanged, scale)

    def set_overlay(self, image: QImage | None) -> None:
        self._overlay = image
        self.update()

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    @property
    def before(self) -> QImage | None:
        return self._before

    @property
    def after(self) -> QImage | None:
        return self._after

    @property
    def overlay(self) -> QImage | None:
        return self._overlay

    # --- view state ----------------------------------------------------------------------------
    @property
    def divider(self) -> float:
        return self._divider

    def set_divider(self, fraction: float) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        if fraction != self._divider:
            self._divider = fraction
            emit(self.dividerMoved, fraction)
            self.update()

    @property
    def scale(self) -> float:
        return self._scale

    @property
    def is_fit(self) -> bool:
        return self._fit

    @property
    def side_by_side(self) -> bool:
        return self._side_by_side

    def set_side_by_side(self, on: bool) -> None:
        self._side_by_side = bool(on)
        if self._fit:
            self._apply_fit()
        self.update()

    @property
    def show_before(self) -> bool:
        return self._show_before

    def set_show_before(self, on: bool) -> None:
        self._show_before = bool(on)
        self.update()

    def flip(self) -> None:
        """The before/after key: show the whole photo as it was, press again to come back."""
        self.set_show_before(not self._show_before)

    def zoom_fit(self) -> None:
        self._fit = True
        self._center = QPointF(self._photo_w / 2, self._photo_h / 2)
        self._apply_fit()
        self.update()

    def zoom_actual(self) -> None:
        self._set_scale(1.0, None)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self._set_scale(self._scale * factor, anchor)

    def center(self) -> QPointF:
        return QPointF(self._center)

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the view by (dx, dy) widget pixels, as a drag does."""
        if self._scale > 0:
            self._center = QPointF(self._center.x() - dx / self._scale, self._center.y() - dy / self._scale)
            self._fit = False
            self.update()

    # --- geometry ------------------------------------------------------------------------------
    def panes(self) -> list[QRectF]:
        """One pane in split mode; two (before, after) side by side."""
        full = QRectF(self.rect())
        if not self._side_by_side:
            return [full]
        half = (full.width() - SIDE_GAP_PX) / 2
        return [QRectF(0, 0, half, full.height()), QRectF(half + SIDE_GAP_PX, 0, half, full.height())]

    def photo_to_widget(self, point: QPointF, pane: int = 0) -> QPointF:
        rect = self.panes()[min(pane, len(self.panes()) - 1)]
        return QPointF(
            rect.center().x() + (point.x() - self._center.x()) * self._scale,
            rect.center().y() + (point.y() - self._center.y()) * self._scale,
        )

    def widget_to_photo(self, point: QPointF, pane: int | None = None) -> QPointF:
        panes = self.panes()
        if pane is None:
            pane = next((i for i, r in enumerate(panes) if r.contains(point)), 0)
        rect = panes[min(pane, len(panes) - 1)]
        return QPointF(
            self._center.x() + (point.x() - rect.center().x()) / self._scale,
            self._center.y() + (point.y() - rect.center().y()) / self._scale,
        )

    def photo_rect(self, pane: int = 0) -> QRectF:
        """Where the whole photo lands in widget coordinates for a pane."""
        top_left = self.photo_to_widget(QPointF(0, 0), pane)
        return QRectF(top_left.x(), top_left.y(), self._photo_w * self._scale, self._photo_h * self._scale)

    def divider_x(self) -> float:
        rect = self.panes()[0]
        return rect.left() + self._divider * rect.width()

    def _fit_scale(self) -> float:
        """The largest zoom showing the whole photo; from 100 % up, a whole multiple of it. A photo that
        fits at 100 % with room to spare is shown pixel for pixel, not enlarged by a hair (blurred by
        the resampling and labelled "101%"); a small one is enlarged 2, 3… times, each pixel a square."""
        if not self._photo_w or not self._photo_h:
            return 1.0
        pane = self.panes()[0]
        scale = min(pane.width() / self._photo_w, pane.height() / self._photo_h)
        if scale >= 1.0:
            return float(math.floor(scale))
        return max(scale, MIN_SCALE)

    def _apply_fit(self) -> None:
        old = self._scale
        self._scale = self._fit_scale()
        if old != self._scale:
            emit(self.zoomChanged, self._scale)

    def _set_scale(self, scale: float, anchor: QPointF | None) -> None:
        if self._before is None:
            return
        scale = min(max(scale, MIN_SCALE), MAX_SCALE)
        if anchor is not None:
            # Keep the photo point under the cursor where it is while zooming.
            pane = next((i for i, r in enumerate(self.panes()) if r.contains(anchor)), 0)
            fixed = self.widget_to_photo(anchor, pane)
            rect = self.panes()[pane]
            self._center = QPointF(
                fixed.x() - (anchor.x() - rect.center().x()) / scale,
                fixed.y() - (anchor.y() - rect.center().y()) / scale,
            )
        self._fit = False
        if scale != self._scale:
            self._scale = scale
            emit(self.zoomChanged, scale)
        self.update()

    # --- painting ------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(38, 38, 40))
        if self._before is None:
            painter.setPen(QColor(170, 170, 170))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._scale < 1.0)
        after = self._after if (self._after is not None and not self._show_before) else None
        if self._side_by_side:
            left, right = self.panes()
            self._draw_photo(painter, self._before, 0, left)
            self._draw_photo(painter, after or self._before, 1, right)
            self._draw_label(painter, left, "Before", Qt.AlignmentFlag.AlignLeft)
            self._draw_label(painter, right, "After" if after else "Before", Qt.AlignmentFlag.AlignRight)
        else:
            pane = self.panes()[0]
            if after is None:
                self._draw_photo(painter, self._before, 0, pane)
                if self._show_before and self._after is not None:
                    self._draw_label(painter, pane, "Before", Qt.AlignmentFlag.AlignLeft)
            else:
                split = self.divider_x()
                self._draw_photo(
                    painter, self._before, 0, QRectF(pane.left(), 0, split - pane.left(), pane.height())
                )
                self._draw_photo(painter, after, 0, QRectF(split, 0, pane.right() - split, pane.height()))
                self._draw_label(painter, pane, "Before", Qt.AlignmentFlag.AlignLeft)
                self._draw_label(painter, pane, "After", Qt.AlignmentFlag.AlignRight)
                self._draw_divider(painter, split, pane)
        painter.end()

    def _draw_photo(self, painter: QPainter, image: QImage, pane: int, clip: QRectF) -> None:
        if clip.width() <= 0:
            return
        target = self.photo_rect(pane)
        painter.save()
        painter.setClipRect(clip)
        painter.drawImage(target, image, QRectF(0, 0, image.width(), image.height()))
        if self._overlay is not None:
            painter.drawImage(
                target, self._overlay, QRectF(0, 0, self._overlay.width(), self._overlay.height())
            )
        painter.restore()

    def _draw_label(self, painter: QPainter, pane: QRectF, text: str, side: Qt.AlignmentFlag) -> None:
        metrics = painter.fontMetrics()
        width, height = metrics.horizontalAdvance(text) + 16, metrics.height() + 8
        x = pane.left() + 10 if side == Qt.AlignmentFlag.AlignLeft else pane.right() - 10 - width
        box = QRectF(x, pane.top() + 10, width, height)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor(240, 240, 240))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    def _draw_divider(self, painter: QPainter, x: float, pane: QRectF) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(255, 255, 255, 230), 2))
        painter.drawLine(QPointF(x, pane.top()), QPointF(x, pane.bottom()))
        knob = QPointF(x, pane.center().y())
        painter.setBrush(QColor(255, 255, 255, 235))
        painter.setPen(QPen(QColor(0, 0, 0, 90), 1))
        painter.drawEllipse(knob, 14, 14)
        arrows = QPainterPath()
        for direction in (-1, 1):
            tip = knob.x() + direction * 10
            arrows.moveTo(tip, knob.y())
            arrows.lineTo(tip - direction * 6, knob.y() - 6)
            arrows.lineTo(tip - direction * 6, knob.y() + 6)
            arrows.closeSubpath()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(40, 40, 40))
        painter.drawPath(arrows)
        painter.restore()

    # --- interaction ---------------------------------------------------------------------------
    def _near_divider(self, x: float) -> bool:
        return (
            not self._side_by_side
            and self._after is not None
            and not self._show_before
            and abs(x - self.divider_x()) <= DIVIDER_GRAB_PX
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton or self._before is None:
            super().mousePressEvent(event)
            return
        position = event.position()
        # The drag state is kept here rather than read from event.buttons() on move, which
        # synthetic (test) events do not always fill in.
        self._drag = "divider" if self._near_divider(position.x()) else "pan"
        self._drag_origin = position
        self._drag_center = QPointF(self._center)
        if self._drag == "divider":
            self.setCursor(Qt.CursorShape.SplitHCursor)
        else:
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        position = event.position()
        if self._drag == "divider":
            pane = self.panes()[0]
            self.set_divider((position.x() - pane.left()) / max(pane.width(), 1.0))
        elif self._drag == "pan":
            delta = position - self._drag_origin
            self._center = QPointF(
                self._drag_center.x() - delta.x() / self._scale,
                self._drag_center.y() - delta.y() / self._scale,
            )
            self._fit = False
            self.update()
        elif self._near_divider(position.x()):
            self.setCursor(Qt.CursorShape.SplitHCursor)
        else:
            self.setCursor(
                Qt.CursorShape.OpenHandCursor if self._before is not None else Qt.CursorShape.ArrowCursor
            )
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag is not None and event.button() == Qt.MouseButton.LeftButton:
            self._drag = None
            self.unsetCursor()
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._fit:
            self._set_scale(1.0, event.position())
        else:
            self.zoom_fit()
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        if steps and self._before is not None:
            self.zoom_by(WHEEL_STEP**steps, event.position())
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if (
            key in (Qt.Key.Key_Left, Qt.Key.Key_Right)
            and event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            # Shift+arrows nudge the divider, for keyboard users.
            self.set_divider(self._divider + (0.05 if key == Qt.Key.Key_Right else -0.05))
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down):
            step = 40.0
            dx = {Qt.Key.Key_Left: step, Qt.Key.Key_Right: -step}.get(Qt.Key(key), 0.0)
            dy = {Qt.Key.Key_Up: step, Qt.Key.Key_Down: -step}.get(Qt.Key(key), 0.0)
            self.pan_by(dx, dy)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001
        if self._fit:
            self._apply_fit()
        super().resizeEvent(event)
