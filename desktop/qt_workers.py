"""Background workers (QRunnable) that call the engine off the GUI thread and report through Qt signals.

Signals are emitted from the pool thread; Qt queues them to the receivers in the GUI thread. Each
worker catches every exception and turns it into a `failed` signal: a worker must never take the app down.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from desktop.qt_signals import emit
from engine.errors import Cancelled, DeviceError, ModelError, PhotoMendError
from engine.progress import CancelToken, ProgressCallback, scaled_progress

if TYPE_CHECKING:
    from engine.batch import BatchReport
    from engine.instructions import Interpretation

# A photo this much bigger than the screen preview gets a fast preview pass first.
PREVIEW_MARGIN = 1.25


# Workers in flight, kept alive here until they report `released` (in the GUI thread): a QRunnable
# whose Python wrapper is collected while the pool still runs it would crash the app.
_live: set[QRunnable] = set()


def thread_pool() -> QThreadPool:
    return QThreadPool.globalInstance()


def start(worker: QtCallWorker | QtRestoreWorker | QtBatchWorker) -> None:
    """Queue `worker` on the shared pool and keep it alive until it has finished."""
    _live.add(worker)
    worker.signals.released.connect(lambda: _live.discard(worker))
    thread_pool().start(worker)


def wait_for_workers(msecs: int = 30000) -> bool:
    """Block until every worker has returned (window close, test teardown)."""
    return thread_pool().waitForDone(msecs)


class WorkerSignals(QObject):
    released = Signal()


def describe_error(exc: BaseException) -> str:
    """One line for the user; engine errors already are one line."""
    if isinstance(exc, PhotoMendError):
        return str(exc)
    return f"Unexpected error: {type(exc).__name__}: {exc}"


class CallSignals(WorkerSignals):
    finished = Signal(object)
    failed = Signal(str)


class QtCallWorker(QRunnable):
    """Runs one short engine call (interpret, analyze_blur, suggest_instruction...) in the pool."""

    def __init__(self, function: Callable[[], object]) -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python owns it; the pool must not delete it under us
        self._function = function
        self.signals = CallSignals()

    def run(self) -> None:
        try:
            result = self._function()
        except Exception as exc:  # noqa: BLE001 - reported, never raised into Qt
            if not isinstance(exc, PhotoMendError):
                traceback.print_exc()
            emit(self.signals.failed, describe_error(exc))
        else:
            emit(self.signals.finished, result)
        finally:
            emit(self.signals.released)


class RestoreSignals(WorkerSignals):
    progress = Signal(float, str)
    preview = Signal(object)  # RestoreResult at screen resolution
    finished = Signal(object)  # RestoreResult at full resolution
    failed = Signal(str)
    cancelled = Signal()


@dataclass
class RestoreJob:
    """Everything one run needs; `pixels` are the input the user sees as "before" for this run."""

    pixels: np.ndarray
    instruction: str | Interpretation
    strength: float = 1.0
    device: str | None = None
    tile_size: int | None = None
    preview_side: int | None = None


class QtRestoreWorker(QRunnable):
    """engine.pipeline.restore(): a fast preview at screen size first, then full resolution."""

    def __init__(self, job: RestoreJob) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.job = job
        self.cancel_token = CancelToken()
        self.signals = RestoreSignals()
        self.done = threading.Event()

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def _progress(self, start: float, end: float) -> ProgressCallback:
        return scaled_progress(lambda f, stage: emit(self.signals.progress, f, stage), start, end)

    def run(self) -> None:
        job = self.job
        try:
            from engine.pipeline import restore

            instruction = job.instruction
            height, width = job.pixels.shape[:2]
            full_start = 0.0
            if job.preview_side and max(height, width) > job.preview_side * PREVIEW_MARGIN:
                preview = restore(
                    job.pixels,
                    instruction,
                    strength=job.strength,
                    device=job.device,
                    tile_size=job.tile_size,
                    max_side=job.preview_side,
                    progress=self._progress(0.0, 0.2),
                    cancel=self.cancel_token,
                )
                emit(self.signals.preview, preview)
                # Reuse what the preview understood so an empty prompt is not auto-detected twice.
                instruction = preview.interpretation
                full_start = 0.2
            self.cancel_token.raise_if_cancelled()
            result = restore(
                job.pixels,
                instruction,
                strength=job.strength,
                device=job.device,
                tile_size=job.tile_size,
                progress=self._progress(full_start, 1.0),
                cancel=self.cancel_token,
            )
            self.cancel_token.raise_if_cancelled()
            emit(self.signals.finished, result)
        except Cancelled:
            emit(self.signals.cancelled)
        except Exception as exc:  # noqa: BLE001
            if not isinstance(exc, PhotoMendError):
                traceback.print_exc()
            emit(self.signals.failed, describe_error(exc))
        finally:
            self.done.set()
            emit(self.signals.released)


class BatchSignals(WorkerSignals):
    itemStarted = Signal(str)  # noqa: N815 (Qt signal naming)
    itemProgress = Signal(str, float, str)  # noqa: N815
    itemFinished = Signal(str, str, str, str)  # noqa: N815  id, status, reason, output
    queueFinished = Signal(str)  # noqa: N815  one-line summary ("" when all went through)


@dataclass
class BatchJob:
    item_id: str
    path: Path
    instruction: str


class QtBatchWorker(QRunnable):
    """Runs queue items one by one through engine.batch.run_batch, so each has its own status and
    instruction; between items it honours pause, and cancel reaches into the running item. Each distinct
    instruction is interpreted once; an empty one leaves each photo to automatic detection."""

    def __init__(
        self,
        jobs: list[BatchJob],
        output_dir: Path,
        *,
        pattern: str,
        strength: float = 1.0,
        device: str | None = None,
        tile_size: int | None = None,
    ) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.tile_size = tile_size
        self.jobs = jobs
        self.output_dir = output_dir
        self.pattern = pattern
        self.strength = strength
        self.device = device
        self.cancel_token = CancelToken()
        self._pause = threading.Event()
        self.signals = BatchSignals()
        self.done = threading.Event()

    def pause(self) -> None:
        """Stop after the item that is running now."""
        self._pause.set()

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def run(self) -> None:
        summary = ""
        try:
            try:
                from engine.batch import run_batch
                from engine.instructions import interpret
            except Exception as exc:  # noqa: BLE001 - a broken install is reported, not raised into Qt
                traceback.print_exc()
                summary = describe_error(exc)
                return
            interpretations: dict[str, Interpretation] = {}
            for job in self.jobs:
                if self.cancel_token.cancelled:
                    summary = "cancelled"
                    break
                if self._pause.is_set():
                    summary = "paused"
                    break
                emit(self.signals.itemStarted, job.item_id)
                item_id = job.item_id
                try:
                    interpretation: Interpretation | None = None  # None: the detector decides per photo
                    if job.instruction.strip():
                        if job.instruction not in interpretations:
                            interpretations[job.instruction] = interpret(job.instruction)
                        interpretation = interpretations[job.instruction]
                    # run_batch refuses an instruction that was not understood (InstructionError): that
                    # item fails with the reason, and the others go on.
                    report = run_batch(
                        [job.path],
                        interpretation,
                        self.output_dir,
                        pattern=self.pattern,
                        strength=self.strength,
                        device=self.device,
                        tile_size=self.tile_size,
                        progress=lambda f, stage, item_id=item_id: emit(
                            self.signals.itemProgress, item_id, f, stage
                        ),
                        cancel=self.cancel_token,
                    )
                except Cancelled:
                    emit(self.signals.itemFinished, item_id, "cancelled", "cancelled", "")
                    summary = "cancelled"
                    break
                except (ModelError, DeviceError) as exc:
                    # Every other item would fail the same way: stop and say why once.
                    emit(self.signals.itemFinished, item_id, "failed", str(exc), "")
                    summary = str(exc)
                    break
                except Exception as exc:  # noqa: BLE001 - one bad item must not stop the others
                    if not isinstance(exc, PhotoMendError):
                        traceback.print_exc()
                    emit(self.signals.itemFinished, item_id, "failed", describe_error(exc), "")
                    continue
                status, reason, output = batch_outcome(report)
                emit(self.signals.itemFinished, item_id, status, reason, output)
                if status == "cancelled":
                    summary = "cancelled"
                    break
        finally:
            self.done.set()
            emit(self.signals.queueFinished, summary)
            emit(self.signals.released)


def batch_outcome(report: BatchReport) -> tuple[str, str, str]:
    """(status, reason, output path) of the single file a run_batch call was given; for a restored photo
    the reason is what the restoration found in it, if anything (e.g. the out-of-focus blur it undid)."""
    if report.failed:
        return "failed", report.failed[0][1], ""
    if report.cancelled:
        return "cancelled", "cancelled", ""
    if report.skipped:
        item, reason = report.skipped[0]
        return "skipped", reason, str(item.output)
    if report.done:
        item = report.done[0]
        return "done", " ".join(report.findings.get(item.source, ())), str(item.output)
    if report.ignored:
        return "failed", report.ignored[0][1], ""
    return "failed", "nothing was written", ""
