"""Conversions between the engine's float32 pixel arrays and Qt images (display only, never saved)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QLoggingCategory, QMimeData, Qt
from PySide6.QtGui import QImage, QImageReader


def qimage_from_pixels(pixels: np.ndarray) -> QImage:
    """H x W x 3 float32 RGB in [0, 1] -> 8-bit QImage (a deep copy, so the array may go)."""
    rgb8 = np.ascontiguousarray((np.clip(pixels, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))
    height, width = rgb8.shape[:2]
    return QImage(rgb8.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def qimage_from_rgba(rgba: np.ndarray) -> QImage:
    """H x W x 4 uint8 RGBA (e.g. the blur heat-map) -> QImage, deep-copied."""
    rgba = np.ascontiguousarray(rgba, dtype=np.uint8)
    height, width = rgba.shape[:2]
    return QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()


def pixels_from_qimage(image: QImage) -> np.ndarray:
    """QImage -> H x W x 3 uint8 RGB (tests and screenshots read pixels back with this)."""
    converted = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = converted.width(), converted.height()
    buffer = np.frombuffer(converted.constBits(), dtype=np.uint8, count=converted.sizeInBytes())
    return buffer.reshape(height, converted.bytesPerLine())[:, : 3 * width].reshape(height, width, 3).copy()


def thumbnail_image(path: str, side: int = 64) -> QImage | None:
    """A small preview decoded at reduced size by Qt (JPEG decodes at 1/8 scale cheaply).

    A QImage, not a QPixmap, because this runs in pool threads where pixmaps may not be made.
    """
    reader = QImageReader(path)
    reader.setAutoTransform(True)  # honour EXIF orientation like the engine does
    size = reader.size()
    if size.isValid() and size.width() > 0 and size.height() > 0:
        reader.setScaledSize(size.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        return None
    return image


def quiet_image_decoders() -> None:
    """Keep Qt's image decoders from printing to the console ("Corrupt JPEG data: premature end of data
    segment"): the app decodes with Qt only for thumbnails, and a photo that cannot be read says so in its
    queue row when it runs. QT_LOGGING_RULES still wins, for debugging."""
    QLoggingCategory.setFilterRules("qt.gui.imageio*.warning=false")


def dropped_paths(mime: QMimeData) -> list[Path]:
    """The local files and folders in a drag-and-drop payload (remote URLs are ignored)."""
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
