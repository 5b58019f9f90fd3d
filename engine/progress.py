"""Progress reporting and cooperative cancellation shared by every long-running engine call."""

from __future__ import annotations

import threading
from collections.abc import Callable

from engine.errors import Cancelled

#: progress(fraction in [0, 1], short stage label)
ProgressCallback = Callable[[float, str], None]


def no_progress(fraction: float, stage: str) -> None:
    """Default progress callback: ignore."""


class CancelToken:
    """Thread-safe flag checked by long loops; `cancel()` may be called from any thread."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


def scaled_progress(progress: ProgressCallback, start: float, end: float) -> ProgressCallback:
    """Map a sub-task's [0, 1] progress onto [start, end] of the parent's."""

    def report(fraction: float, stage: str) -> None:
        progress(start + (end - start) * min(max(fraction, 0.0), 1.0), stage)

    return report
