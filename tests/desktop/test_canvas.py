"""The compare canvas: divider drag, flip key, side-by-side alignment at every zoom, wheel zoom, pan."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from desktop.qt_canvas import QtCompareCanvas
from desktop.qt_images import pixels_from_qimage, qimage_from_pixels
from tests.desktop.conftest import colour_image

RED, BLUE = (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)


@pytest.fixture
def canvas(qtbot) -> QtCompareCanvas:  # noqa: ANN001
    widget = QtCompareCanvas()
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.show()
    qtbot.waitExposed(widget)
    # 40 x 30 photo: fit scale is exactly 10, so the photo fills the 400 x 300 canvas.
    widget.set_before(qimage_from_pixels(colour_image(30, 40, RED)))
    widget.set_after(qimage_from_pixels(colour_image(30, 40, BLUE)))
    return widget


def shown(canvas: QtCompareCanvas) -> np.ndarray:
    return pixels_from_qimage(canvas.grab().toImage())


def colour_at(canvas: QtCompareCanvas, x: int, y: int = 250) -> str:
    r, g, b = shown(canvas)[y, x].astype(int)
    if r > 200 and b < 60:
        return "before"
    if b > 200 and r < 60:
        return "after"
    return f"other({r},{g},{b})"


def test_divider_splits_before_left_after_right(canvas: QtCompareCanvas) -> None:
    assert canvas.scale == pytest.approx(10.0)
    assert colour_at(canvas, 100) == "before"
    assert colour_at(canvas, 300) == "after"


def test_dragging_the_divider_moves_it(qtbot, canvas: QtCompareCanvas) -> None:  # noqa: ANN001
    moved = []
    canvas.dividerMoved.connect(moved.append)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(200, 150))
    qtbot.mouseMove(canvas, QPoint(260, 150))
    qtbot.mouseMove(canvas, QPoint(320, 150))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(320, 150))
    assert canvas.divider == pytest.approx(0.8, abs=0.01)
    assert moved and moved[-1] == pytest.approx(0.8, abs=0.01)
    # What was the after side at x=300 now shows the photo as it was.
    assert colour_at(canvas, 300) == "before"
    assert colour_at(canvas, 360) == "after"


def test_dragging_away_from_the_divider_pans_instead(qtbot, canvas: QtCompareCanvas) -> None:  # noqa: ANN001
    canvas.zoom_actual()
    center = canvas.center()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(60, 60))
    qtbot.mouseMove(canvas, QPoint(90, 80))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(90, 80))
    assert canvas.divider == 0.5
    assert canvas.center().x() == pytest.approx(center.x() - 30)
    assert canvas.center().y() == pytest.approx(center.y() - 20)


def test_flip_shows_before_everywhere_and_back(canvas: QtCompareCanvas) -> None:
    canvas.flip()
    assert colour_at(canvas, 300) == "before"
    canvas.flip()
    assert colour_at(canvas, 300) == "after"


def marker_images() -> tuple[np.ndarray, np.ndarray]:
    before = colour_image(30, 40, (0.0, 0.0, 0.0))
    before[8:12, 10:14] = 1.0  # a white square at a known photo position
    after = before.copy()
    after[8:12, 10:14] = (0.0, 1.0, 0.0)  # the same square, green, on the after side
    return before, after


def marker_centre(pixels: np.ndarray, x0: float, x1: float, colour: str) -> tuple[float, float]:
    top = 40  # below the "Before"/"After" labels, whose white text would look like the marker
    region = pixels[top:, round(x0) : round(x1)].astype(int)
    if colour == "white":
        mask = (region[..., 0] > 200) & (region[..., 1] > 200) & (region[..., 2] > 200)
    else:
        mask = (region[..., 1] > 200) & (region[..., 0] < 60)
    ys, xs = np.nonzero(mask)
    assert len(xs), f"{colour} marker not visible"
    return float(xs.mean()) + round(x0), float(ys.mean()) + top


@pytest.mark.parametrize("zoom", [None, 0.5, 1.0, 3.0, 7.5])
def test_side_by_side_panes_stay_aligned_at_every_zoom(canvas: QtCompareCanvas, zoom: float | None) -> None:
    before, after = marker_images()
    canvas.set_before(qimage_from_pixels(before))
    canvas.set_after(qimage_from_pixels(after))
    canvas.set_side_by_side(True)
    if zoom is not None:
        canvas.zoom_by(zoom / canvas.scale)
        canvas.pan_by(-25, 10)
    left, right = canvas.panes()
    pixels = shown(canvas)
    lx, ly = marker_centre(pixels, left.left(), left.right(), "white")
    rx, ry = marker_centre(pixels, right.left(), right.right(), "green")
    assert lx - left.left() == pytest.approx(rx - right.left(), abs=1.0)
    assert ly == pytest.approx(ry, abs=1.0)
    # And the square sits where the shared transform says it is.
    expected = canvas.photo_to_widget(QPointF(12, 10), 0)
    assert lx == pytest.approx(expected.x(), abs=1.5)
    assert ly == pytest.approx(expected.y(), abs=1.5)


def test_wheel_zooms_around_the_cursor_and_fit_and_100_percent(canvas: QtCompareCanvas) -> None:
    cursor = QPointF(120, 90)
    under = canvas.widget_to_photo(cursor)
    event = QWheelEvent(
        cursor,
        canvas.mapToGlobal(cursor),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(canvas, event)
    assert canvas.scale == pytest.approx(12.5)
    after = canvas.widget_to_photo(cursor)
    assert (after.x(), after.y()) == pytest.approx((under.x(), under.y()))
    canvas.zoom_actual()
    assert canvas.scale == 1.0 and not canvas.is_fit
    canvas.zoom_fit()
    assert canvas.scale == pytest.approx(10.0) and canvas.is_fit


@pytest.mark.parametrize(
    ("height", "width", "scale"),
    [
        (290, 390, 1.0),  # fits with a few pixels to spare: 100 %, not 102 %
        (64, 96, 4.0),  # small: enlarged a whole number of times (it was 4.17)
        (600, 1000, 0.4),  # bigger than the canvas: shrunk exactly to fit, as before
    ],
)
def test_fit_enlarges_only_by_whole_multiples(
    canvas: QtCompareCanvas, height: int, width: int, scale: float
) -> None:
    canvas.set_before(qimage_from_pixels(colour_image(height, width, RED)))
    assert canvas.is_fit
    assert canvas.scale == pytest.approx(scale)


def test_an_enlarged_after_side_is_compared_at_its_size_with_the_before_side_scaled_to_it(
    canvas: QtCompareCanvas,
) -> None:
    # The photo fills the canvas at 10x; its ×2 result takes over the view's pixels: 5x, the same picture.
    canvas.set_after(qimage_from_pixels(colour_image(60, 80, BLUE)))
    assert canvas.scale == pytest.approx(5.0)
    assert (canvas.photo_rect().width(), canvas.photo_rect().height()) == pytest.approx((400, 300))
    assert colour_at(canvas, 100) == "before" and colour_at(canvas, 300) == "after"
    canvas.zoom_actual()  # 100 %: one result pixel per screen pixel, the before side enlarged alike
    assert canvas.photo_rect().width() == pytest.approx(80)
    canvas.set_after(None)  # undone: back to the photo's own pixels, the view unchanged on screen
    assert canvas.photo_rect().width() == pytest.approx(80) and canvas.scale == pytest.approx(2.0)
