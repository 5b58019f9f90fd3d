"""Python's cyclic garbage collector, run only in the GUI thread.

Left to itself, the collector runs in whichever thread an allocation crosses its threshold, worker
threads included. When the garbage holds Qt objects, destroying them outside the GUI thread can crash
the process: a test run died with a segmentation fault in a batch worker thread whose faulthandler trace
read "Garbage-collecting" (session 8; twice in about ten full runs). So, as pyqtgraph does, automatic
collection is switched off while the app runs, and a timer in the GUI thread collects instead, each
generation when the collector's own thresholds say it is due.

The later crash on quit, "Fatal Python error: bool_dealloc ... Garbage-collecting" (issue 31), had another
cause, PySide6 6.12's `Signal.emit()` taking a reference from `True`: see desktop/qt_signals.py.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    """Collects Python's cyclic garbage from a timer in the thread that owns it (the GUI thread)."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_due)
        self._was_enabled = gc.isenabled()

    def start(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def collect_due(self) -> int:
        """Collect the generations whose counts passed their thresholds, as automatic collection would."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        found = 0
        for generation in range(3):
            if counts[generation] <= thresholds[generation]:
                break
            found += gc.collect(generation)
        return found
