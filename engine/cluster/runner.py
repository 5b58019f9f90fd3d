"""The batch on Ray: the driver plans, keys and journals every photo exactly as engine.batch.run_batch does,
and Ray actors (engine.cluster.worker) restore and write them.

Why actors the driver feeds, not Ray Data's map_batches: the journal must say "writing" after a photo is
restored and before its output is replaced, and "done" after, and only the driver may append to it (one
locked file). So a worker restores a photo and holds it, the driver journals "writing" and asks for the
write, and journals "done" with the stamp: run_batch's order, photo by photo. Feeding the workers itself
also lets the driver send a photo again when its worker died, prepared anew from the journal (as a rerun
would: an output the dead worker may have left is PhotoMend's own and is replaced, anyone else's never), stop
every worker at once on Ctrl-C, and count progress per photo. Each actor keeps its sessions for its
lifetime, and Ray restarts an actor whose process died.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.batch import (
    BatchItem,
    BatchReport,
    BatchSettings,
    BatchUsageError,
    ItemEvent,
    Job,
    Journal,
    JournalError,
    OutputStamp,
    open_output_folder,
    plan_batch,
    prepare_job,
)
from engine.batch.naming import DEFAULT_PATTERN, clash_key
from engine.batch.runner import FAIL, SKIP, _folder_reason, report_damaged_journal
from engine.cluster.connect import ClusterError, RayOptions, import_ray, ray_session
from engine.cluster.sizing import WorkerPlan, plan_workers
from engine.cluster.sources import (
    RemoteSource,
    find_remote,
    inside,
    is_uri,
    plan_remote,
    remote_sha256,
)
from engine.cluster.worker import DONE, FATAL, LOST, RESTORED, STOPPED, Outcome, PhotoWorker, WorkerInfo
from engine.errors import DeviceError, InstructionError, ModelError
from engine.instructions import Interpretation
from engine.io import remove_stale_temp_files
from engine.progress import CancelToken, ProgressCallback, no_progress

#: photos sent to one worker ahead of its results (one restoring, one waiting), so it never idles on a
#: round trip; each is journalled "writing" when sent
AHEAD = 2
#: seconds between looks at the cancel token and the clock while waiting on the workers
POLL = 0.2
#: seconds between asking a restarting worker whether it is up again
WAKE_WAIT = 0.5
#: seconds to wait for killed workers to be gone before their temp files are cleaned up
KILL_WAIT = 10.0


def run_batch_on_ray(
    inputs: Iterable[Path | str],
    interpretation: Interpretation | None,
    output_dir: Path | str,
    *,
    pattern: str = DEFAULT_PATTERN,
    strength: float = 1.0,
    device: str | None = None,
    tile_size: int | None = None,
    overwrite: bool = False,
    ray: RayOptions | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    on_item: Callable[[ItemEvent], None] | None = None,
) -> BatchReport:
    """run_batch's contract, on Ray: the same outputs (bit for bit on the CPU provider), journal, resume,
    failures, renames and exceptions, with inputs that may also be object-store URIs (s3://bucket/photos/,
    read through pyarrow) and outputs in a folder that the driver and every worker see.

    Progress reports counts and an estimate of the time left in its stage text. A worker that dies while
    restoring is restarted by Ray and its photos are sent again (`ray.retries` times), then failed with the
    reason. Cancel kills the workers at once: what they were writing is absent (never half-written), and a
    rerun restores those photos. Raises also ClusterUnavailable (Ray not installed) and ClusterError (the
    cluster cannot be reached or cannot run the workers).
    """
    if interpretation is not None and not interpretation.understood:
        raise InstructionError(interpretation.message)
    options = ray or RayOptions()
    import_ray()  # before any file is touched: says to install the extra
    if is_uri(output_dir):
        raise BatchUsageError(
            f"{output_dir}: the output folder must be a folder the driver and every worker see (a shared "
            "mount); object stores hold the inputs only"
        )
    progress = progress or no_progress
    emit = on_item or (lambda event: None)
    sources = list(inputs)
    local = [Path(p) for p in sources if not is_uri(p)]
    remote = [str(p) for p in sources if is_uri(p)]
    output_dir = Path(output_dir)
    journal = open_output_folder(output_dir, local, pattern=pattern)
    try:
        items, report = plan_batch(local, output_dir, pattern=pattern, journal=journal)
        if remote:
            found, failed, ignored = find_remote(remote)
            found, in_output = inside(found, output_dir)
            ignored.extend(in_output)
            # a URI stays a string in the report: a Path would turn "s3://b" into "s3:/b"
            report.failed.extend(failed)  # type: ignore[arg-type]
            report.ignored.extend(ignored)  # type: ignore[arg-type]
            reserved = {clash_key(i.output) for i in items} | {clash_key(i.source) for i in items}
            more, renamed = plan_remote(found, output_dir, pattern, reserved)
            items.extend(more)
            report.renamed.extend(renamed)
        report_damaged_journal(journal, report)
        settings = BatchSettings.make(interpretation, strength=strength, overwrite=overwrite, pattern=pattern)
        batch = _RayBatch(
            items, settings, journal, report, options, device, tile_size, progress, cancel, emit
        )
        if batch.has_work():  # a rerun with every photo done starts no Ray at all
            with ray_session(options.address) as session:
                batch.run(session)
    finally:
        journal.close()
    progress(1.0, "batch finished")
    return report


def run_tasks_on_ray(
    function: Callable[..., Any],
    calls: Sequence[tuple[Any, ...]],
    *,
    ray: RayOptions | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[Any]:
    """`function(*args)` for each of `calls` as Ray tasks (one CPU each unless `ray.cpus_per_worker` says
    otherwise; Ray runs a task again if its process dies), yielded in the order of `calls` with a bounded
    number in flight. For work that keeps no session (photomend blur). When `cancel` is set it stops
    yielding and cancels the tasks still in flight."""
    options = ray or RayOptions()
    with ray_session(options.address) as session:
        task = session.remote(num_cpus=options.cpus_per_worker or 1, max_retries=options.retries)(function)
        if options.env:
            task = task.options(runtime_env={"env_vars": dict(options.env)})
        window = options.workers or max(2, 2 * int(session.cluster_resources().get("CPU", 1)))
        pending = iter(calls)
        refs = [task.remote(*args) for args in itertools.islice(pending, window)]
        try:
            while refs:
                ready: list[Any] = []
                while not ready:
                    if cancel is not None and cancel.cancelled:
                        return
                    ready, _ = session.wait(refs[:1], timeout=POLL)
                yield session.get(refs.pop(0))
                refs.extend(task.remote(*args) for args in itertools.islice(pending, 1))
        finally:
            for ref in refs:
                with contextlib.suppress(Exception):
                    session.cancel(ref, force=True)


@dataclass
class _Sent:
    """A photo in flight: to which worker, as which job, from which planned item, on which try; being
    restored, or (`restored` set: what the restore found) being written."""

    worker: Any
    job: Job
    index: int
    attempt: int
    restored: Outcome | None = None


class _RayBatch:
    def __init__(
        self,
        items: list[BatchItem],
        settings: BatchSettings,
        journal: Journal,
        report: BatchReport,
        options: RayOptions,
        device: str | None,
        tile_size: int | None,
        progress: ProgressCallback,
        cancel: CancelToken | None,
        emit: Callable[[ItemEvent], None],
    ) -> None:
        self.items = items
        self.settings = settings
        self.journal = journal
        self.report = report
        self.options = options
        self.device = device
        self.tile_size = tile_size
        self.progress = progress
        self.cancel = cancel
        self.emit = emit
        self.ray: Any = None
        self.plan: WorkerPlan | None = None
        self.planned_notes = {item: note for item, note in report.renamed}
        self.taken = {clash_key(i.output) for i in items} | {clash_key(i.source) for i in items}
        self.finished = 0
        self.restored = 0
        self.failed = 0
        self.started = 0.0
        self.dead_streak = 0
        self.jobs = self._jobs()
        self.exhausted = False
        #: photos to send before the next planned one: the first one found, and those whose worker died
        self.queue: list[tuple[Job, int, int]] = []
        #: photos each worker holds (being restored, or restored and being written), by id(worker)
        self.load: dict[int, int] = {}
        #: (when, worker): workers Ray is restarting, to be asked whether they are up again
        self.waking: list[tuple[float, Any]] = []
        #: id() of the workers that started once
        self.has_run: set[int] = set()

    def _cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.cancelled

    def has_work(self) -> bool:
        """Prepare until the first photo to restore (skips and failures are reported on the way)."""
        first = self._next()
        if first is not None:
            self.queue.append(first)
        if self._cancelled():
            self.report.cancelled = True
        return first is not None and not self.report.cancelled

    # --- the run ---

    def run(self, ray: Any) -> None:
        self.ray = ray
        self.plan = plan_workers(
            [node["Resources"] for node in ray.nodes() if node.get("Alive")],
            device=self.device,
            workers=self.options.workers,
            cpus_per_worker=self.options.cpus_per_worker,
            gpus_per_worker=self.options.gpus_per_worker,
        )
        actor_class = ray.remote(PhotoWorker).options(
            num_cpus=self.plan.num_cpus,
            num_gpus=self.plan.num_gpus,
            max_restarts=-1,  # Ray restarts a worker whose process died; the driver sends its photos again
            max_task_retries=0,
            runtime_env={"env_vars": dict(self.options.env)} if self.options.env else None,
        )
        workers = [
            actor_class.remote(self.settings, self.journal.folder, self.device, self.tile_size)
            for _ in range(self.plan.count)
        ]
        starting = {worker.ready.remote(): worker for worker in workers}
        sent: dict[Any, _Sent] = {}
        self.load = {id(worker): 0 for worker in workers}
        ready: list[Any] = []
        self.progress(0.0, f"starting {self.plan.describe()}")
        try:
            while True:
                if self._cancelled():
                    self.report.cancelled = True
                    for flight in sent.values():
                        self.emit(ItemEvent(flight.job.item, "cancelled"))
                    break
                if self.report.stopped:
                    break
                for worker in ready:
                    while self.load[id(worker)] < AHEAD and not self.report.stopped:
                        nxt = self._next()
                        if nxt is None:
                            break
                        self._send(worker, *nxt, sent)
                if not sent and not self.queue and self.exhausted:
                    break
                if not ready and not starting and not self.waking:
                    raise ClusterError("no Ray worker is left to restore the photos")
                now = time.monotonic()
                for when, worker in [w for w in self.waking if w[0] <= now]:
                    self.waking.remove((when, worker))
                    starting[worker.ready.remote()] = worker
                waiting = list(sent) + list(starting)
                if not waiting:
                    time.sleep(POLL)
                    continue
                done, _ = ray.wait(waiting, num_returns=1, timeout=POLL)
                for ref in done:
                    if ref in starting:
                        self._started(ref, starting.pop(ref), ready)
                        continue
                    flight = sent.pop(ref)
                    if not self._finished(ref, flight, sent) and flight.worker in ready:
                        # its process died: Ray restarts it, and it gets photos again once it is up
                        ready.remove(flight.worker)
                        starting[flight.worker.ready.remote()] = flight.worker
                self._show_progress()
        finally:
            self._stop(workers, sent)

    def _next(self) -> tuple[Job, int, int] | None:
        if self.queue:
            return self.queue.pop(0)
        if self.exhausted or self.report.stopped:
            return None
        nxt = next(self.jobs, None)
        if nxt is None:
            self.exhausted = True
        return nxt

    def _jobs(self) -> Iterator[tuple[Job, int, int]]:
        """Each planned photo prepared in turn (engine.batch.prepare_job, as run_batch does): skips and
        failures reported at once, photos to restore yielded as (job, index, try)."""
        for index, item in enumerate(self.items):
            if self._cancelled():
                return
            self.taken.discard(clash_key(item.output))  # its own planned name is its own to take
            job = self._prepare(item)
            if job.action == SKIP:
                self.report.skipped.append((job.item, job.reason))
                self.emit(ItemEvent(job.item, "skipped", 1.0, job.reason))
                self._count()
                continue
            if job.action == FAIL:
                self._fail(job, job.reason, item.source)
                continue
            if job.note:
                self.report.renamed.append((job.item, job.note))
            yield job, index, 1

    def _prepare(self, item: BatchItem, source_sha256: str | None = None) -> Job:
        if source_sha256 is None and isinstance(item.source, RemoteSource):
            try:
                source_sha256 = remote_sha256(item.source)
            except OSError as exc:
                return Job(item, FAIL, f"{item.source}: cannot read the file: {exc}")
        return prepare_job(item, self.settings, self.journal, taken=self.taken, source_sha256=source_sha256)

    def _send(self, worker: Any, job: Job, index: int, attempt: int, sent: dict[Any, _Sent]) -> None:
        """Send a photo to be restored (and held: nothing is written yet)."""
        if not self.started:
            self.started = time.monotonic()
        sent[worker.restore.remote(job)] = _Sent(worker, job, index, attempt)
        self.load[id(worker)] += 1
        self.emit(ItemEvent(job.item, "running", 0.0))

    def _write(self, flight: _Sent, restored: Outcome, sent: dict[Any, _Sent]) -> None:
        """Journal "writing" for a restored photo, then have its worker write it (as run_batch does between
        restore_job and write_job_output)."""
        job = flight.job
        try:
            self.journal.record_writing(
                job.item.output, key=job.key, source=job.item.source, source_sha256=job.source_sha256
            )
        except JournalError as exc:
            self._release(flight)
            self._stop_batch(job, _folder_reason(exc, self.journal.folder))
            return
        sent[flight.worker.write.remote(job)] = dataclasses.replace(flight, restored=restored)

    def _release(self, flight: _Sent) -> None:
        self.load[id(flight.worker)] -= 1

    def _started(self, ref: Any, worker: Any, ready: list[Any]) -> None:
        """A worker answered `ready`: it gets photos. One that Ray is still restarting is asked again a
        moment later; one that cannot start stops the batch, unless it had run before (it is left out)."""
        errors = self.ray.exceptions
        try:
            info: WorkerInfo = self.ray.get(ref)
        except errors.ActorUnavailableError:
            self.waking.append((time.monotonic() + WAKE_WAIT, worker))
            return
        except errors.RayError as exc:
            if id(worker) in self.has_run:
                return
            raise ClusterError(f"a Ray worker could not start: {_short(exc)}") from None
        self.has_run.add(id(worker))
        if info.error == "model":
            raise ModelError(info.reason)
        if info.error == "device":
            raise DeviceError(info.reason)
        ready.append(worker)

    def _finished(self, ref: Any, flight: _Sent, sent: dict[Any, _Sent]) -> bool:
        """Take one answer of a worker: a restored photo is journalled and sent to be written, a written one
        journalled done, a failure reported. False when the worker died (the photo is queued again, or
        failed after its last try)."""
        job = flight.job
        errors = self.ray.exceptions
        try:
            outcome: Outcome = self.ray.get(ref)
        except (errors.RayActorError, errors.WorkerCrashedError) as exc:
            self._release(flight)
            self._worker_died(flight, _short(exc))
            return False
        except errors.RayError as exc:  # the worker raised what it should have caught: this photo's failure
            self._release(flight)
            self._fail(job, f"{job.item.source}: cannot be restored: {_short(exc)}")
            return True
        self.dead_streak = 0
        if outcome.status == RESTORED:
            self._write(flight, outcome, sent)
            return True
        self._release(flight)
        if outcome.status == FATAL:
            raise (ModelError if outcome.error == "model" else DeviceError)(outcome.reason)
        if outcome.status == STOPPED:
            self._stop_batch(job, outcome.reason)
        elif outcome.status == LOST:  # the worker was restarted between the restore and the write
            self._worker_died(flight, "the worker was restarted before it wrote the photo")
        elif outcome.status != DONE or outcome.stamp is None or flight.restored is None:
            self._fail(job, outcome.reason)
        else:
            self._done(flight, flight.restored, outcome.stamp)
        return True

    def _done(self, flight: _Sent, restored: Outcome, stamp: OutputStamp) -> None:
        job = flight.job
        try:
            self.journal.record_done(
                job.item.output,
                key=job.key,
                source=job.item.source,
                source_sha256=job.source_sha256,
                stamp=stamp,
                details=restored.details,
            )
        except JournalError as exc:
            self._stop_batch(job, _folder_reason(exc, self.journal.folder))
            return
        item = self.items[flight.index]
        self.report.done.append(job.item)
        if restored.findings:
            self.report.findings[item.source] = restored.findings
        note = job.note or self.planned_notes.get(item, "")
        self.emit(
            ItemEvent(job.item, "done", 1.0, findings=restored.findings, steps=restored.steps, note=note)
        )
        self.restored += 1
        self._count()

    def _worker_died(self, flight: _Sent, why: str) -> None:
        """The worker's process died with this photo: prepare it again from the journal (where it says
        "writing", an output the worker may have left is PhotoMend's own and is replaced, as on a rerun) and
        send it again, up to `retries` times."""
        self.dead_streak += 1
        workers = self.plan.count if self.plan is not None else 1
        if self.dead_streak > 2 * workers * (self.options.retries + 1):
            raise ClusterError(f"the Ray workers keep dying: {why}")
        job = flight.job
        if flight.attempt > self.options.retries:
            reason = (
                f"{job.item.source}: the Ray worker restoring it died {flight.attempt} times "
                f"({why}); the other photos went on"
            )
            self._fail(job, reason)
            return
        item = self.items[flight.index]
        self.taken.discard(clash_key(job.item.output))
        again = self._prepare(item, job.source_sha256)
        if again.action == SKIP:
            self.report.skipped.append((again.item, again.reason))
            self.emit(ItemEvent(again.item, "skipped", 1.0, again.reason))
            self._count()
        elif again.action == FAIL:
            self._fail(again, again.reason)
        else:
            self.queue.append((again, flight.index, flight.attempt + 1))

    def _fail(self, job: Job, reason: str, source: Any = None) -> None:
        self.report.failed.append((source if source is not None else job.item.source, reason))
        self.emit(ItemEvent(job.item, "failed", reason=reason))
        self._count(failed=True)

    def _stop_batch(self, job: Job, reason: str) -> None:
        self.report.stopped = reason
        self._fail(job, reason)

    # --- progress ---

    def _count(self, failed: bool = False) -> None:
        self.finished += 1
        self.failed += failed
        self._show_progress()

    def _show_progress(self) -> None:
        self.progress(min(self.finished / max(len(self.items), 1), 1.0), self.stage())

    def stage(self) -> str:
        """'37/100 done, 2 failed, ETA 1:20': finished photos (restored, skipped or failed) and the time
        left at the pace of the photos restored so far (an upper bound when some of the rest are done)."""
        text = f"{self.finished}/{len(self.items)} done"
        if self.failed:
            text += f", {self.failed} failed"
        if self.restored and self.started:
            rate = self.restored / max(time.monotonic() - self.started, 1e-6)
            text += f", ETA {_clock((len(self.items) - self.finished) / rate)}"
        return text

    # --- the end ---

    def _stop(self, workers: list[Any], sent: dict[Any, _Sent]) -> None:
        """Kill the workers (any still restoring stop mid-photo), wait until they are gone, then remove the
        temp files of writes they were killed in. The journal says "writing" for their photos, and a rerun
        restores them."""
        if not sent:  # a finished batch: let the workers remove their scratch folders first
            with contextlib.suppress(Exception):
                self.ray.get([worker.close.remote() for worker in workers], timeout=KILL_WAIT)
        for worker in workers:
            with contextlib.suppress(Exception):
                self.ray.kill(worker, no_restart=True)
        pending = list(sent)
        deadline = time.monotonic() + KILL_WAIT
        while pending and time.monotonic() < deadline:
            _, pending = self.ray.wait(pending, num_returns=len(pending), timeout=POLL)
        with contextlib.suppress(OSError):
            remove_stale_temp_files(self.journal.folder, recursive=True)
        order = {item.source: index for index, item in enumerate(self.items)}
        self.report.done.sort(key=lambda item: order.get(item.source, 0))


def _short(exc: BaseException) -> str:
    """The first line of a Ray error, without its traceback."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
