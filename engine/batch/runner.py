"""The batch runner: restores many photos into an output folder and survives crashes, bad files, full disks
and reruns with another instruction.

One photo's way through a batch is a chain of functions another runner (engine.cluster) can call on its own:
  plan_batch         inputs -> a BatchItem per photo (its output name: pattern, clashes, length) + the rest
  prepare_job        BatchItem + Journal -> Job: the source's sha256, the journal key; restore, skip or fail
  restore_job        Job -> (Photo, RestoreResult): read and restore one photo (no file written)
  write_job_output   the atomic write, between Journal.record_writing and Journal.record_done
run_batch strings them together in one process: open_output_folder first (the usage and folder checks), then
each photo in turn.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.batch.inputs import find_inputs
from engine.batch.journal import (
    DONE,
    JOURNAL_NAME,
    Journal,
    JournalEntry,
    JournalError,
    OutputStamp,
    file_sha256,
    source_name,
    stamp_of,
)
from engine.batch.keys import instruction_key, job_key, models_key, options_key
from engine.batch.naming import (
    DEFAULT_PATTERN,
    BatchUsageError,
    check_pattern,
    clash_key,
    keeps_outputs_apart,
    output_name,
    render_name,
)
from engine.errors import (
    Cancelled,
    DeviceError,
    InstructionError,
    ModelError,
    PhotoMendError,
    PhotoWriteError,
)
from engine.instructions import Interpretation
from engine.io import Photo, format_for_suffix, read_photo, remove_stale_temp_files, write_photo
from engine.pipeline import RestoreResult, StepReport, restore
from engine.progress import CancelToken, ProgressCallback, no_progress

__all__ = [
    "DEFAULT_PATTERN",
    "JOURNAL_NAME",
    "BatchItem",
    "BatchReport",
    "BatchSettings",
    "BatchUsageError",
    "ItemEvent",
    "Job",
    "OutputFolderError",
    "collect_inputs",
    "open_output_folder",
    "plan_batch",
    "prepare_job",
    "restore_job",
    "run_batch",
    "write_job_output",
]

#: errno values that say the output folder itself cannot take more files: every later photo would fail the
#: same way, so the batch stops (resumable once the cause is fixed) instead of failing them one by one.
FOLDER_ERRNOS = frozenset(
    code
    for code in (
        errno.ENOSPC,
        getattr(errno, "EDQUOT", None),
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.EIO,
        errno.EBUSY,
    )
    if code is not None
)
#: how an output of an earlier run, found in an input folder, is listed among the ignored entries
EARLIER_OUTPUT = "written by PhotoMend (an output of an earlier run), not taken as a photo to restore"

RESTORE, SKIP, FAIL = "restore", "skip", "fail"


class OutputFolderError(PhotoMendError):
    """The output folder cannot be written (no space, read-only, no permission, in use): the CLI's exit 5."""


@dataclass(frozen=True)
class BatchItem:
    """One photo to restore: where it comes from and where it goes."""

    source: Path
    output: Path


@dataclass(frozen=True)
class ItemEvent:
    """Per-item status for front-ends: running (with fraction), done, skipped, failed, cancelled."""

    item: BatchItem
    status: str
    fraction: float = 0.0
    reason: str = ""
    #: done: what the restoration found in this photo (RestoreResult.findings)
    findings: tuple[str, ...] = ()
    #: done: what each step of the plan did (RestoreResult.steps)
    steps: tuple[StepReport, ...] = ()
    #: done: why the output has another name than the pattern gives (a clash, a name too long), else ""
    note: str = ""
    #: done: what reading the file noted (Photo.notes: only an animation's first frame, damage recovered)
    read_notes: tuple[str, ...] = ()


@dataclass
class BatchReport:
    done: list[BatchItem] = field(default_factory=list)
    skipped: list[tuple[BatchItem, str]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    ignored: list[tuple[Path, str]] = field(default_factory=list)
    cancelled: bool = False
    #: what the restoration found in each restored photo that had something to say (RestoreResult.findings)
    findings: dict[Path, tuple[str, ...]] = field(default_factory=dict)
    #: outputs named otherwise than the pattern says, and why (two photos with one name, a name too long)
    renamed: list[tuple[BatchItem, str]] = field(default_factory=list)
    #: one line each, about the batch rather than a photo (e.g. damaged journal lines)
    warnings: list[str] = field(default_factory=list)
    #: why the batch stopped before its end because the output folder could not be written; "" otherwise
    stopped: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed and not self.cancelled and not self.stopped

    def summary(self) -> str:
        parts = [f"{len(self.done)} restored", f"{len(self.skipped)} already done"]
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.renamed:
            parts.append(f"{len(self.renamed)} renamed")
        not_photos = sum(1 for _, reason in self.ignored if reason != EARLIER_OUTPUT)
        if not_photos:
            parts.append(f"{not_photos} not photos")
        if self.cancelled:
            parts.append("cancelled")
        if self.stopped:
            parts.append("stopped")
        return ", ".join(parts)


@dataclass(frozen=True)
class BatchSettings:
    """What every photo of a batch is given; `instruction` and `models` go into each journal key."""

    interpretation: Interpretation | None
    strength: float = 1.0
    overwrite: bool = False
    pattern: str = DEFAULT_PATTERN
    instruction: dict[str, Any] = field(default_factory=dict)
    models: str = ""

    @classmethod
    def make(
        cls,
        interpretation: Interpretation | None,
        *,
        strength: float = 1.0,
        overwrite: bool = False,
        pattern: str = DEFAULT_PATTERN,
    ) -> BatchSettings:
        return cls(
            interpretation, strength, overwrite, pattern, instruction_key(interpretation), models_key()
        )


@dataclass(frozen=True)
class Job:
    """What to do with one planned photo: RESTORE it into `item.output`, SKIP it, or FAIL it (`reason`)."""

    item: BatchItem
    action: str
    reason: str = ""
    key: str = ""
    source_sha256: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    #: RESTORE: why `item.output` is not the planned name (an earlier run's output of another photo has it)
    note: str = ""
    #: RESTORE: a file is at `item.output` and will be replaced (PhotoMend's own, or any with overwrite)
    replaces: bool = False


# --- inputs and names ---


def collect_inputs(inputs: Iterable[Path | str]) -> tuple[list[tuple[Path, Path]], BatchReport]:
    """Expand files and folders (recursively) into (photo, folder-relative parent) pairs.

    Inputs that cannot be photos (missing, a FIFO, a device, a dangling link) are failures, other entries
    of folders that are no photos are listed as ignored, each with its reason (engine.batch.inputs).
    """
    found, failed, ignored = find_inputs(inputs)
    return found, BatchReport(failed=failed, ignored=ignored)


def _real_key(path: Path) -> str:
    """clash_key of the file a path really names (symlinked folders followed)."""
    return clash_key(Path(os.path.realpath(path)))


def plan_batch(
    inputs: Iterable[Path | str],
    output_dir: Path,
    *,
    pattern: str = DEFAULT_PATTERN,
    journal: Journal | None = None,
) -> tuple[list[BatchItem], BatchReport]:
    """Decide every output path up front, so two inputs can never write the same file.

    Outputs mirror the folders below each input folder; a name the file system cannot hold is shortened;
    two photos given the same name (a/x.jpg and b/x.jpg, or x.jpg and x.png with '{stem}.png') keep it for
    the first and get '-2', '-3'... for the others, each listed in `report.renamed`. A file that the output
    folder's journal, or one in a subfolder of an input folder, says PhotoMend wrote is not an input (unless
    named itself), nor is a file that is another input's output; an output that would replace any input
    fails. BatchUsageError for a bad pattern.
    """
    check_pattern(pattern)
    paths = [Path(p) for p in inputs]
    output_dir = Path(output_dir)
    explicit = {_real_key(p) for p in paths if p.is_file()}
    found, report = collect_inputs(paths)
    if journal is None:
        try:
            journal = Journal(output_dir)
        except JournalError:
            journal = None
    ours = {_real_key(p) for p in journal.outputs()} if journal is not None else set()

    journals: dict[Path, set[str]] = {}
    named: list[tuple[Path, Path, str]] = []
    for source, rel_parent in found:
        key = _real_key(source)
        if key not in explicit and (key in ours or _in_a_nested_journal(source, rel_parent, key, journals)):
            report.ignored.append((source, EARLIER_OUTPUT))
            continue
        wanted, name = render_name(pattern, source), output_name(pattern, source)
        note = f"the name {wanted!r} is too long for the file system: shortened" if name != wanted else ""
        named.append((source, output_dir / rel_parent / name, note))

    # With the output folder among the inputs, an input that is another input's output is not a photo to
    # restore: it would otherwise be restored into a name of its own on every rerun.
    output_of = {_real_key(target): source for source, target, _ in named}
    kept: list[tuple[Path, Path, str]] = []
    for source, target, note in named:
        owner = output_of.get(_real_key(source))
        if owner is not None and owner != source and _real_key(source) not in explicit:
            report.ignored.append(
                (source, f"the naming pattern gives {owner} this name: taken for its output")
            )
        else:
            kept.append((source, target, note))

    sources = {_real_key(source) for source, _, _ in kept}
    reserved = sources | {clash_key(target) for _, target, _ in kept}
    first_with: dict[str, Path] = {}
    items: list[BatchItem] = []
    for source, target, note in kept:
        if _real_key(target) in sources:
            report.failed.append(
                (
                    source,
                    f"{source}: the output would overwrite the original {target}; choose another folder or a "
                    "naming pattern such as '{stem}-restored.{ext}'",
                )
            )
            continue
        if target.name == JOURNAL_NAME:
            report.failed.append((source, f"{source}: the output name {target.name} is the journal's"))
            continue
        key = clash_key(target)
        if key in first_with:
            n = 2
            while clash_key(renamed := target.with_name(output_name(pattern, source, n))) in reserved:
                n += 1
            reserved.add(clash_key(renamed))
            note = f"{first_with[key]} has the same output name {target.name}: written as {renamed.name}"
            target = renamed
        else:
            first_with[key] = source
        item = BatchItem(source=source, output=target)
        items.append(item)
        if note:
            report.renamed.append((item, note))
    return items, report


def _in_a_nested_journal(source: Path, rel_parent: Path, key: str, journals: dict[Path, set[str]]) -> bool:
    """Whether a journal in a subfolder of the input folder (an earlier run's output folder) lists `source`
    among its outputs. The input folder's own journal is not asked: an output folder given as the input is
    meant to be restored again."""
    folder = source.parent
    for _ in rel_parent.parts:
        if folder not in journals:
            journals[folder] = set()
            if (folder / JOURNAL_NAME).is_file():
                with contextlib.suppress(JournalError):
                    journals[folder] = {_real_key(p) for p in Journal(folder).outputs()}
        if key in journals[folder]:
            return True
        folder = folder.parent
    return False


# --- the output folder ---


def check_output_path(output_dir: Path) -> None:
    """BatchUsageError unless `output_dir` is a folder or can be made one (not a file, not under a file)."""
    if output_dir.is_symlink() and not output_dir.exists():
        raise BatchUsageError(
            f"{output_dir}: the output folder is a link to {os.readlink(output_dir)}, which does not exist"
        )
    if output_dir.exists() and not output_dir.is_dir():
        raise BatchUsageError(f"{output_dir}: the output folder is a file, not a folder")
    for parent in output_dir.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise BatchUsageError(f"{output_dir}: cannot make the output folder: {parent} is a file")
            break


def check_output_placement(
    inputs: Iterable[Path | str], output_dir: Path, pattern: str, journal: Journal | None
) -> None:
    """BatchUsageError when the output folder is an input folder, or inside one, and its outputs could be
    taken for the originals: allowed when the pattern marks every output ('{stem}-restored.{ext}'), or when
    the output folder is a subfolder holding no photo that PhotoMend did not write."""
    out = Path(os.path.realpath(output_dir))
    if keeps_outputs_apart(pattern):
        return
    ours = {_real_key(p) for p in journal.outputs()} if journal is not None else set()
    for raw in inputs:
        folder = Path(raw)
        if not folder.is_dir():
            continue
        root = Path(os.path.realpath(folder))
        if out == root:
            raise BatchUsageError(
                f"{output_dir}: the output folder is the input folder {folder}, so restored photos would "
                "replace or mix with the originals; choose another output folder, or a naming pattern that "
                "marks them, e.g. --pattern '{stem}-restored.{ext}'"
            )
        if root in out.parents:
            found, _, _ = find_inputs([output_dir])
            strangers = [photo for photo, _ in found if _real_key(photo) not in ours]
            if strangers:
                raise BatchUsageError(
                    f"{output_dir}: the output folder is inside the input folder {folder} and holds photos "
                    f"PhotoMend did not write (such as {strangers[0].name}), which would be restored into "
                    "their own folder; choose an output folder outside the inputs, or a naming pattern that "
                    "marks outputs, e.g. --pattern '{stem}-restored.{ext}'"
                )


def open_output_folder(output_dir: Path | str, inputs: Iterable[Path | str] = (), *, pattern: str) -> Journal:
    """Check the pattern and the output folder, make the folder and open (lock) its journal.

    BatchUsageError (a bad pattern, -o a file or under one, outputs that could be taken for inputs) before
    anything is made; OutputFolderError (cannot be made or written: permission, read-only, full, in use).
    """
    output_dir = Path(output_dir)
    check_pattern(pattern)
    check_output_path(output_dir)
    try:
        snapshot = Journal(output_dir)
    except JournalError as exc:
        raise OutputFolderError(_folder_reason(exc, output_dir)) from None
    check_output_placement(inputs, output_dir, pattern, snapshot)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise BatchUsageError(f"{output_dir}: cannot make the output folder: {exc.strerror}") from None
    except OSError as exc:
        raise OutputFolderError(_folder_reason(exc, output_dir)) from None
    try:
        journal = Journal(output_dir).open()
    except JournalError as exc:
        raise OutputFolderError(_folder_reason(exc, output_dir)) from None
    remove_stale_temp_files(output_dir, recursive=True)
    return journal


def _os_error(exc: BaseException) -> OSError | None:
    """The OSError behind an exception (PhotoWriteError keeps it as its cause)."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:
        if isinstance(current, OSError):
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def is_folder_failure(exc: BaseException) -> bool:
    """True when a write failed because of the output folder (FOLDER_ERRNOS), not because of this photo."""
    cause = _os_error(exc)
    return cause is not None and cause.errno in FOLDER_ERRNOS


def _folder_reason(exc: BaseException, output_dir: Path) -> str:
    """One line: where, what went wrong, and that a rerun resumes once it is fixed."""
    cause = _os_error(exc)
    code = cause.errno if cause is not None else None
    where = Path(cause.filename) if cause is not None and cause.filename else output_dir
    if isinstance(exc, PhotoWriteError):
        where = exc.path
    what = (cause.strerror if cause is not None else None) or str(exc)
    if code == errno.ENOSPC or code == getattr(errno, "EDQUOT", -1):
        fix = "free some space"
    elif code in (errno.EROFS, errno.EACCES, errno.EPERM):
        fix = "make the folder writable or choose another one"
    elif code == errno.EBUSY:
        fix = "wait for the other batch to finish"
    else:
        fix = "fix the cause"
    return f"{where}: {what}; {fix}, then run the same command again to resume"


# --- one photo ---


def prepare_job(
    item: BatchItem,
    settings: BatchSettings,
    journal: Journal,
    *,
    taken: set[str],
    source_sha256: str | None = None,
) -> Job:
    """Hash the source, key the job, and decide from the journal and the output folder what to do.

    SKIP: the journal has this very key for the output (the same photo bytes, instruction, models and
    options). RESTORE: nothing is there, or PhotoMend's own earlier output of this photo is (an edited
    original, another prompt), or anything is and `settings.overwrite` says replace. FAIL: the source cannot
    be read, or a file PhotoMend did not write (or that was changed since) is in the way. An earlier run's
    output of *another* photo with this name is kept, and this photo goes to the next free '-n' name (noted).
    `taken`: clash keys other photos of this batch have, or may yet claim; the chosen one is added.
    `source_sha256`: the source's sha256 when the caller has it (engine.cluster hashes an object-store
    photo through its file system); else the file is read here.
    """
    source = item.source
    if source_sha256 is None:
        try:
            source_sha256 = file_sha256(source)
        except OSError as exc:
            return Job(item, FAIL, f"{source}: cannot read the file: {exc.strerror or exc}")
    planned = item.output
    for n in range(1, 10_000):
        candidate = planned if n == 1 else planned.with_name(output_name(settings.pattern, source, n))
        if n > 1 and (candidate == planned or clash_key(candidate) in taken):
            continue
        job = _decide(item, candidate, source_sha256, settings, journal)
        if job is None:  # an earlier run's output of another photo: keep it, try the next name
            continue
        taken.add(clash_key(candidate))
        if n > 1 and job.action == RESTORE:
            note = (
                f"{planned.name} holds the output of another photo from an earlier run: "
                f"written as {candidate.name}"
            )
            return dataclasses.replace(job, note=note)
        return job
    return Job(item, FAIL, f"{planned}: no free name for the output")


def _decide(
    item: BatchItem, candidate: Path, source_sha256: str, settings: BatchSettings, journal: Journal
) -> Job | None:
    relative = journal.relative(candidate) or candidate.name
    options = options_key(relative, format_for_suffix(candidate), settings.strength)
    key = job_key(source_sha256, settings.instruction, settings.models, options)
    go = Job(
        BatchItem(item.source, candidate), RESTORE, key=key, source_sha256=source_sha256, options=options
    )
    try:
        info = os.lstat(candidate)
    except FileNotFoundError:
        return go
    except OSError as exc:
        return dataclasses.replace(go, action=FAIL, reason=f"{candidate}: {exc.strerror or exc}")
    if stat.S_ISDIR(info.st_mode):
        return dataclasses.replace(
            go, action=FAIL, reason=f"{candidate}: a folder is where the output should go"
        )
    entry = journal.entry(candidate)
    owned = stat.S_ISREG(info.st_mode) and journal.owns(candidate)
    if entry is not None and entry.state == DONE and entry.key == key:
        reason = "already restored" if owned else "already restored (the output was changed since; kept)"
        return dataclasses.replace(go, action=SKIP, reason=reason)
    if settings.overwrite:
        return dataclasses.replace(go, replaces=True)
    if entry is None or not owned:
        reason = (
            f"{candidate}: a file PhotoMend did not write (or one changed since) is in the way; it is kept — "
            "use --overwrite to replace it, or choose another output folder"
        )
        return dataclasses.replace(go, action=FAIL, reason=reason)
    if _same_photo(entry, item.source, source_sha256):
        return dataclasses.replace(go, replaces=True)
    return None


def _same_photo(entry: JournalEntry, source: Path, source_sha256: str) -> bool:
    """Whether a journal entry is about this photo: the same path (an edited original), the same bytes (a
    moved folder); a line of the first journal format knows only the path it was given, so its name."""
    if entry.source == source_name(source):
        return True
    if entry.legacy:
        return Path(entry.source).name == source.name
    return entry.source_sha256 == source_sha256


def restore_job(
    job: Job,
    settings: BatchSettings,
    *,
    device: str | None = None,
    tile_size: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> tuple[Photo, RestoreResult]:
    """Read and restore one photo as `settings` ask; nothing is written. Raises what read_photo and
    restore raise (PhotoReadError, InstructionError, ModelError, DeviceError, Cancelled...)."""
    photo = read_photo(job.item.source)
    result = restore(
        photo,
        settings.interpretation if settings.interpretation is not None else "",  # "": detect per photo
        strength=settings.strength,
        device=device,
        tile_size=tile_size,
        progress=progress,
        cancel=cancel,
    )
    return photo.with_pixels(result.pixels), result


def write_job_output(job: Job, photo: Photo) -> OutputStamp:
    """Write the restored photo to `job.item.output` atomically (complete or absent) and describe what was
    written. PhotoWriteError, or OSError for the folder it goes in."""
    output = job.item.output
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise PhotoWriteError(
            output, f"cannot make the folder {output.parent}: a file is in its way"
        ) from None
    try:
        if job.replaces and os.path.samefile(job.item.source, output):
            raise PhotoWriteError(output, "refusing to overwrite the original photo")
    except FileNotFoundError:
        pass
    write_photo(photo, output, overwrite=job.replaces)
    return stamp_of(output)


def job_details(settings: BatchSettings, job: Job, result: object) -> dict[str, Any]:
    """What the journal's "done" line keeps for people to read, beside the key."""
    details: dict[str, Any] = {
        "instruction": settings.instruction,
        "models": settings.models,
        "options": job.options,
    }
    interpretation = getattr(result, "interpretation", None)
    if settings.interpretation is None and interpretation is not None:
        details["detected"] = {"tasks": list(interpretation.tasks), "strength": interpretation.strength}
    return details


# --- the batch ---


def run_batch(
    inputs: Iterable[Path | str],
    interpretation: Interpretation | None,
    output_dir: Path | str,
    *,
    pattern: str = DEFAULT_PATTERN,
    strength: float = 1.0,
    device: str | None = None,
    tile_size: int | None = None,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    on_item: Callable[[ItemEvent], None] | None = None,
) -> BatchReport:
    """Restore every photo in `inputs` into `output_dir` as `interpretation` asks.

    The caller interprets the instruction once (engine.instructions.interpret); None means no instruction,
    and each photo then gets what the degradation detector finds in it. A photo whose journal key matches
    (engine.batch.keys) is skipped, so a killed run resumes where it stopped and anything changed is redone;
    a file in the output folder that PhotoMend did not write is never replaced unless `overwrite`. A bad
    file is recorded with its reason and the rest go on; when the output folder itself fails (no space,
    read-only) the batch stops with `report.stopped` and resumes on a rerun.

    Raises before touching any file: InstructionError (an interpretation not understood), BatchUsageError
    (bad pattern, output path, or outputs that could be taken for inputs), OutputFolderError (the output
    folder cannot be made or written). ModelError and DeviceError stop the batch where they happen.
    """
    if interpretation is not None and not interpretation.understood:
        raise InstructionError(interpretation.message)
    progress = progress or no_progress
    emit = on_item or (lambda event: None)
    inputs = [Path(p) for p in inputs]
    output_dir = Path(output_dir)
    journal = open_output_folder(output_dir, inputs, pattern=pattern)
    try:
        items, report = plan_batch(inputs, output_dir, pattern=pattern, journal=journal)
        report_damaged_journal(journal, report)
        settings = BatchSettings.make(interpretation, strength=strength, overwrite=overwrite, pattern=pattern)
        _run_items(items, settings, journal, report, device, tile_size, progress, cancel, emit)
    finally:
        journal.close()
    progress(1.0, "batch finished")
    return report


def report_damaged_journal(journal: Journal, report: BatchReport) -> None:
    """Warn once (in `report.warnings`) about journal lines that could not be read."""
    if journal.damaged:
        report.warnings.append(
            f"{journal.path}: {journal.damaged} damaged line(s) ignored; any photo they recorded is "
            "restored again (where its earlier output is in the way, it is named among the failures)"
        )
        with contextlib.suppress(JournalError):  # else said again next time
            journal.mark_damage_reported()


def _run_items(
    items: list[BatchItem],
    settings: BatchSettings,
    journal: Journal,
    report: BatchReport,
    device: str | None,
    tile_size: int | None,
    progress: ProgressCallback,
    cancel: CancelToken | None,
    emit: Callable[[ItemEvent], None],
) -> None:
    total = max(len(items), 1)
    planned_notes = {item: note for item, note in report.renamed}
    taken = {clash_key(item.output) for item in items} | {clash_key(item.source) for item in items}
    for index, item in enumerate(items):
        if cancel is not None and cancel.cancelled:
            report.cancelled = True
            break
        taken.discard(clash_key(item.output))  # its own planned name is its own to take
        job = prepare_job(item, settings, journal, taken=taken)
        if job.action == SKIP:
            report.skipped.append((job.item, job.reason))
            emit(ItemEvent(job.item, "skipped", 1.0, job.reason))
            continue
        if job.action == FAIL:
            report.failed.append((item.source, job.reason))
            emit(ItemEvent(job.item, "failed", reason=job.reason))
            continue
        if job.note:
            report.renamed.append((job.item, job.note))
        emit(ItemEvent(job.item, "running", 0.0))

        def item_progress(fraction: float, stage: str, _item: BatchItem = job.item, _i: int = index) -> None:
            emit(ItemEvent(_item, "running", fraction))
            progress((_i + fraction) / total, _item.source.name)

        try:
            photo, result = restore_job(
                job, settings, device=device, tile_size=tile_size, progress=item_progress, cancel=cancel
            )
        except (ModelError, DeviceError):
            raise  # not about this file: every other file would fail the same way
        except Cancelled:
            report.cancelled = True
            emit(ItemEvent(job.item, "cancelled"))
            break
        except PhotoMendError as exc:
            _fail(report, emit, job, str(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - a decoder's error of any type is this file's failure
            _fail(report, emit, job, f"{item.source}: cannot be restored: {type(exc).__name__}: {exc}")
            continue
        try:
            journal.record_writing(
                job.item.output, key=job.key, source=item.source, source_sha256=job.source_sha256
            )
            stamp = write_job_output(job, photo)
            journal.record_done(
                job.item.output,
                key=job.key,
                source=item.source,
                source_sha256=job.source_sha256,
                stamp=stamp,
                details=job_details(settings, job, result),
            )
        except (PhotoMendError, OSError) as exc:
            if isinstance(exc, JournalError) or is_folder_failure(exc):  # every later photo would fail too
                report.stopped = _folder_reason(exc, journal.folder)
                _fail(report, emit, job, report.stopped)
                break
            reason = (
                str(exc) if isinstance(exc, PhotoMendError) else f"{job.item.output}: {exc.strerror or exc}"
            )
            _fail(report, emit, job, reason)
            continue
        report.done.append(job.item)
        if result.findings:
            report.findings[item.source] = result.findings
        note = job.note or planned_notes.get(item, "")
        emit(
            ItemEvent(
                job.item,
                "done",
                1.0,
                findings=result.findings,
                steps=result.steps,
                note=note,
                read_notes=photo.notes,
            )
        )


def _fail(report: BatchReport, emit: Callable[[ItemEvent], None], job: Job, reason: str) -> None:
    report.failed.append((job.item.source, reason))
    emit(ItemEvent(job.item, "failed", reason=reason))
