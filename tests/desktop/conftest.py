"""Desktop test fixtures: offscreen Qt, per-test user folders, a window that cleans up after itself."""

from __future__ import annotations

import os

# Must be set before the QApplication exists (pytest-qt creates it on first use of qtbot).
os.environ["QT_QPA_PLATFORM"] = "offscreen"

import warnings  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from tests.conftest import add_noise, save_rgb, textured_image  # noqa: E402


@pytest.fixture(autouse=True)
def garbage_in_the_gui_thread(qapp: QApplication) -> Iterator[None]:
    """As in the app (desktop/qt_gc.py): no automatic collection in worker threads, collected here."""
    from desktop.qt_gc import GuiThreadCollector

    collector = GuiThreadCollector(qapp)
    collector.start()
    yield
    collector.stop()


@pytest.fixture(autouse=True)
def user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """platformdirs reads XDG_* on every call: no test touches the real per-user settings or queue."""
    home = tmp_path / "user"
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))
    return home


@pytest.fixture
def noisy_photo(tmp_path: Path) -> Path:
    """A small noisy PNG, the kind of photo the restore model is asked to clean."""
    return save_rgb(tmp_path / "noisy.png", add_noise(textured_image(96, 128, seed=4), 0.12))


@pytest.fixture
def make_window(qtbot, tmp_path: Path) -> Iterator[Callable[..., object]]:  # noqa: ANN001
    """Build QtMainWindow instances with files under tmp_path; closes them and waits for workers."""
    from desktop.qt_main_window import QtMainWindow
    from desktop.qt_workers import wait_for_workers

    windows = []

    def make(**kwargs: object) -> QtMainWindow:
        kwargs.setdefault("settings_file", tmp_path / "settings.json")
        kwargs.setdefault("queue_file", tmp_path / "queue.json")
        window = QtMainWindow(confirm_close=False, **kwargs)  # type: ignore[arg-type]
        qtbot.addWidget(window)
        window.resize(900, 600)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.cancel_restore()
        window.batch.cancel()
        window.close()
    assert wait_for_workers(60000)


def drop(widget, paths: list[Path]) -> None:  # noqa: ANN001
    """What a file manager does: drag enter (Qt delivers the drop only to the accepting target), drop."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # PySide marks the QPoint constructor deprecated
        enter = QDragEnterEvent(
            QPoint(50, 50),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    event = QDropEvent(
        QPoint(50, 50).toPointF(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)


def colour_image(height: int, width: int, rgb: tuple[float, float, float]) -> np.ndarray:
    return np.broadcast_to(np.asarray(rgb, np.float32), (height, width, 3)).copy()
