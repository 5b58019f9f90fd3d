"""desktop.qt_gc: Python's garbage is collected in the GUI thread only, while the app runs."""

from __future__ import annotations

import gc
import weakref

from PySide6.QtWidgets import QApplication

from desktop.qt_gc import GuiThreadCollector


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_automatic_collection_is_off_while_it_runs_and_back_after(qapp: QApplication) -> None:
    gc.enable()
    collector = GuiThreadCollector(qapp)
    collector.start()
    assert not gc.isenabled()
    collector.stop()
    assert gc.isenabled()


def test_the_timer_collects_cycles_when_they_are_due(qapp: QApplication, qtbot) -> None:  # noqa: ANN001
    collector = GuiThreadCollector(qapp, interval_ms=20)
    collector.start()
    try:
        gc.collect()
        watched = [weakref.ref(Node()) for _ in range(gc.get_threshold()[0] + 10)]
        assert gc.get_count()[0] > gc.get_threshold()[0]  # due, and not collected automatically
        assert all(ref() is not None for ref in watched)
        qtbot.waitUntil(lambda: all(ref() is None for ref in watched), timeout=2000)
    finally:
        collector.stop()
