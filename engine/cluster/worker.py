"""The Ray worker: one actor process that restores photos with the ONNX Runtime sessions it loads once and
keeps for its lifetime (engine.runtime's session cache lives in the process), and writes each output
atomically itself. It never touches the journal: a photo is restored and held, the driver journals "writing"
and asks for the write (as run_batch journals between restore_job and write_job_output), then journals
"done" with the stamp that comes back."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.batch import (
    BatchItem,
    BatchSettings,
    Job,
    JournalError,
    OutputStamp,
    restore_job,
    write_job_output,
)
from engine.batch.runner import _folder_reason, is_folder_failure, job_details
from engine.cluster.sources import RemoteSource, fetch, local_reason
from engine.errors import DeviceError, ModelError, PhotoMendError
from engine.io import Photo
from engine.pipeline import StepReport

RESTORED, DONE, FAILED, STOPPED, FATAL, LOST = "restored", "done", "failed", "stopped", "fatal", "lost"

#: For the tests only: "N:STAGE:MARKER[,...]" makes a worker kill itself with SIGKILL at STAGE of its N-th
#: photo: "restored" (restored and held, the driver not yet told) or "written" (the output in place, the
#: driver not yet told); once per MARKER file (created when it fires, so the restarted worker goes on).
CRASH_ENV = "PHOTOMEND_CLUSTER_TEST_CRASH"


@dataclass(frozen=True)
class WorkerInfo:
    """What a started worker says about itself; `error` ("model" or "device") when it cannot restore."""

    host: str
    pid: int
    device: str = ""
    providers: tuple[str, ...] = ()
    error: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Outcome:
    """What a worker did with one photo. restore: RESTORED (held for the write), FAILED (this photo: the
    reason) or FATAL (model or device: the batch stops; `error` says which). write: DONE (with the stamp of
    what was written), FAILED, STOPPED (the output folder cannot be written: the batch stops) or LOST (the
    worker was restarted since it restored the photo: restore it again)."""

    status: str
    reason: str = ""
    stamp: OutputStamp | None = None
    details: dict[str, Any] = field(default_factory=dict)
    findings: tuple[str, ...] = ()
    steps: tuple[StepReport, ...] = ()
    error: str = ""


class PhotoWorker:
    """Restores the jobs the driver sends, one at a time, as `settings` ask (made into a Ray actor by
    engine.cluster.runner)."""

    def __init__(
        self, settings: BatchSettings, output_dir: Path, device: str | None, tile_size: int | None
    ) -> None:
        self.settings = settings
        self.output_dir = Path(output_dir)
        self.device = device
        self.tile_size = tile_size
        self.photos = 0  # restored by this process
        self.written = 0  # written by this process
        #: restored photos waiting for the driver's go to be written, by job key
        self.held: dict[str, Photo] = {}
        #: where object-store photos are fetched to, made at the first one
        self.scratch: Path | None = None

    def ready(self) -> WorkerInfo:
        """Load the restoration network's session now (the first photo need not wait, and a missing model
        or device shows before any photo is sent) and say where this worker runs."""
        from engine.models import RESTORE
        from engine.runtime import get_session

        host, pid = socket.gethostname(), os.getpid()
        try:
            session = get_session(RESTORE, self.device)
        except ModelError as exc:
            return WorkerInfo(host, pid, error="model", reason=str(exc))
        except DeviceError as exc:
            return WorkerInfo(host, pid, error="device", reason=str(exc))
        return WorkerInfo(host, pid, session.device, tuple(session.providers))

    def restore(self, job: Job) -> Outcome:
        """Read and restore one photo (engine.batch.restore_job, the local runner's very step) and hold it
        for `write`; nothing is written."""
        self.photos += 1
        source = job.item.source
        local = job
        fetched: Path | None = None
        try:
            if isinstance(source, RemoteSource):
                if self.scratch is None:
                    self.scratch = Path(tempfile.mkdtemp(prefix="photomend-ray-"))
                try:
                    fetched = fetch(source, self.scratch)
                except OSError as exc:
                    return Outcome(FAILED, f"{source}: cannot read the file: {exc}")
                local = dataclasses.replace(job, item=BatchItem(fetched, job.item.output))
            photo, result = restore_job(local, self.settings, device=self.device, tile_size=self.tile_size)
        except ModelError as exc:
            return Outcome(FATAL, str(exc), error="model")
        except DeviceError as exc:
            return Outcome(FATAL, str(exc), error="device")
        except PhotoMendError as exc:
            return self._failed(str(exc), fetched, source)
        except Exception as exc:  # noqa: BLE001 - a decoder's error of any type is this file's failure
            return self._failed(f"{source}: cannot be restored: {type(exc).__name__}: {exc}", fetched, source)
        finally:
            if fetched is not None:
                with contextlib.suppress(OSError):
                    fetched.unlink()
        self.held[job.key] = photo
        self._crash_if_asked("restored")
        return Outcome(
            RESTORED,
            details=job_details(self.settings, job, result),
            findings=tuple(result.findings),
            steps=tuple(result.steps),
        )

    def write(self, job: Job) -> Outcome:
        """Write the photo `restore` holds for `job` to its output atomically (engine.batch.write_job_output:
        complete or absent) and say what was written."""
        photo = self.held.pop(job.key, None)
        if photo is None:
            return Outcome(LOST)
        try:
            stamp = write_job_output(job, photo)
        except (PhotoMendError, OSError) as exc:
            if isinstance(exc, JournalError) or is_folder_failure(exc):  # every later photo would fail too
                return Outcome(STOPPED, _folder_reason(exc, self.output_dir))
            reason = (
                str(exc) if isinstance(exc, PhotoMendError) else f"{job.item.output}: {exc.strerror or exc}"
            )
            return Outcome(FAILED, reason)
        self.written += 1
        self._crash_if_asked("written")
        return Outcome(DONE, stamp=stamp)

    def close(self) -> None:
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def _failed(self, reason: str, fetched: Path | None, source: object) -> Outcome:
        if fetched is not None and isinstance(source, RemoteSource):
            reason = local_reason(reason, fetched, source)
        return Outcome(FAILED, reason)

    def _crash_if_asked(self, stage: str) -> None:
        for spec in filter(None, os.environ.get(CRASH_ENV, "").split(",")):
            number, at, marker = spec.split(":", 2)
            if at != stage or int(number) != (self.photos if stage == "restored" else self.written):
                continue
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                continue
            os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
