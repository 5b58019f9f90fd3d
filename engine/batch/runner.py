"""The batch runner: restores many photos into an output folder and survives crashes and bad files."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import Cancelled, DeviceError, InstructionError, ModelError, PhotoMendError
from engine.instructions import Interpretation
from engine.io import SUPPORTED_SUFFIXES, read_photo, remove_stale_temp_files, write_photo
from engine.pipeline import StepReport, restore
from engine.progress import CancelToken, ProgressCallback, no_progress

JOURNAL_NAME = ".photomend-journal.jsonl"
DEFAULT_PATTERN = "{stem}.{ext}"


@dataclass(frozen=True)
class BatchItem:
    """One photo to restore: where it comes from and where it goes."""

    source: Path
    output: Path


@dataclass(frozen=True)
class ItemEvent:
    """Per-item status for front-ends: running (with fraction), done, skipped, failed."""

    item: BatchItem
    status: str
    fraction: float = 0.0
    reason: str = ""
    #: done: what the restoration found in this photo (RestoreResult.findings)
    findings: tuple[str, ...] = ()
    #: done: what each step of the plan did (RestoreResult.steps)
    steps: tuple[StepReport, ...] = ()


@dataclass
class BatchReport:
    done: list[BatchItem] = field(default_factory=list)
    skipped: list[tuple[BatchItem, str]] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    ignored: list[tuple[Path, str]] = field(default_factory=list)
    cancelled: bool = False
    #: what the restoration found in each restored photo that had something to say (RestoreResult.findings)
    findings: dict[Path, tuple[str, ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.cancelled

    def summary(self) -> str:
        parts = [f"{len(self.done)} restored", f"{len(self.skipped)} already done"]
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.ignored:
            parts.append(f"{len(self.ignored)} not photos")
        if self.cancelled:
            parts.append("cancelled")
        return ", ".join(parts)


def collect_inputs(inputs: Iterable[Path | str]) -> tuple[list[tuple[Path, Path]], BatchReport]:
    """Expand files and folders (recursively) into (photo, folder-relative parent) pairs.

    Missing paths become failures and non-photo files found in folders are listed as ignored,
    so the caller can report them at the end instead of stopping.
    """
    report = BatchReport()
    found: list[tuple[Path, Path]] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if any(part.startswith(".") for part in rel.parts) or not child.is_file():
                    continue
                if child.suffix.lower() in SUPPORTED_SUFFIXES:
                    found.append((child, rel.parent))
                else:
                    report.ignored.append((child, "not a supported photo format"))
        elif path.is_file():
            found.append((path, Path()))
        else:
            report.failed.append((path, "no such file or folder"))
    return found, report


def _output_name(source: Path, pattern: str) -> str:
    ext = source.suffix[1:] or "png"
    try:
        return pattern.format(stem=source.stem, ext=ext, name=source.name)
    except (KeyError, IndexError, ValueError) as exc:
        raise PhotoMendError(f"bad naming pattern {pattern!r}: use {{stem}}, {{ext}} and {{name}}") from exc


def plan_batch(
    inputs: Iterable[Path | str],
    output_dir: Path,
    *,
    pattern: str = DEFAULT_PATTERN,
) -> tuple[list[BatchItem], BatchReport]:
    """Decide every output path up front, so two inputs can never write the same file."""
    paths = [Path(p) for p in inputs]
    explicit = {p.resolve() for p in paths if p.is_file()}
    found, report = collect_inputs(paths)
    output_dir = Path(output_dir)
    out_resolved = output_dir.resolve()
    items: list[BatchItem] = []
    taken: set[Path] = set()
    for source, rel_parent in found:
        if out_resolved in source.resolve().parents and source.resolve() not in explicit:
            continue  # results of an earlier run inside an input folder are not inputs
        target = output_dir / rel_parent / _output_name(source, pattern)
        n = 2
        base = target
        while target.resolve() in taken:
            target = base.with_name(f"{base.stem}-{n}{base.suffix}")
            n += 1
        if target.resolve() == source.resolve():
            report.failed.append((source, "output would overwrite the original; choose another folder"))
            continue
        taken.add(target.resolve())
        items.append(BatchItem(source=source, output=target))
    return items, report


class _Journal:
    """Append-only JSONL record of finished items; a line is written only after the output is in place."""

    def __init__(self, output_dir: Path) -> None:
        self.path = output_dir / JOURNAL_NAME
        self.finished: dict[str, str] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a kill
                if entry.get("status") == "done":
                    self.finished[entry["output"]] = entry.get("key", "")

    @staticmethod
    def key(item: BatchItem, instruction: str, strength: float) -> str:
        stat = item.source.stat()
        return f"{stat.st_size}:{stat.st_mtime_ns}:{strength:.4f}:{instruction}"

    def is_done(self, item: BatchItem, key: str) -> bool:
        return self.finished.get(str(item.output)) == key and item.output.exists()

    def record(self, item: BatchItem, key: str) -> None:
        entry = {"status": "done", "source": str(item.source), "output": str(item.output), "key": key}
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.finished[str(item.output)] = key


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
    and each photo then gets what the degradation detector finds in it. Finished outputs (journal entry or
    existing file) are skipped, so a killed run resumes where it stopped; a bad file is recorded with its
    reason and the rest go on; an interpretation that was not understood fails before any file is touched
    (InstructionError).
    """
    if interpretation is not None and not interpretation.understood:
        raise InstructionError(interpretation.message)
    progress = progress or no_progress
    emit = on_item or (lambda event: None)
    output_dir = Path(output_dir)
    items, report = plan_batch(inputs, output_dir, pattern=pattern)
    # The journal keys a finished photo by the instruction's text: "" for detection per photo.
    text = interpretation.text if interpretation is not None else ""

    output_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(output_dir, recursive=True)
    journal = _Journal(output_dir)
    total = max(len(items), 1)
    for index, item in enumerate(items):
        if cancel is not None and cancel.cancelled:
            report.cancelled = True
            break
        try:
            key = journal.key(item, text, strength)
        except OSError as exc:
            report.failed.append((item.source, exc.strerror or "cannot read the file"))
            emit(ItemEvent(item, "failed", reason=exc.strerror or "cannot read the file"))
            continue
        if journal.is_done(item, key) or (item.output.exists() and not overwrite):
            reason = "already restored" if journal.is_done(item, key) else "output exists"
            report.skipped.append((item, reason))
            emit(ItemEvent(item, "skipped", 1.0, reason))
            continue
        emit(ItemEvent(item, "running", 0.0))

        def item_progress(fraction: float, stage: str, _item: BatchItem = item, _i: int = index) -> None:
            emit(ItemEvent(_item, "running", fraction))
            progress((_i + fraction) / total, _item.source.name)

        try:
            photo = read_photo(item.source)
            result = restore(
                photo,
                interpretation if interpretation is not None else "",  # "": detect per photo
                strength=strength,
                device=device,
                tile_size=tile_size,
                progress=item_progress,
                cancel=cancel,
            )
            item.output.parent.mkdir(parents=True, exist_ok=True)
            write_photo(photo.with_pixels(result.pixels), item.output, overwrite=overwrite)
        except (ModelError, DeviceError):
            raise  # not about this file: every other file would fail the same way
        except Cancelled:
            report.cancelled = True
            emit(ItemEvent(item, "cancelled"))
            break
        except PhotoMendError as exc:
            report.failed.append((item.source, str(exc)))
            emit(ItemEvent(item, "failed", reason=str(exc)))
            continue
        except (OSError, ValueError, MemoryError) as exc:
            reason = f"{item.source}: {exc}"
            report.failed.append((item.source, reason))
            emit(ItemEvent(item, "failed", reason=reason))
            continue
        journal.record(item, key)
        report.done.append(item)
        if result.findings:
            report.findings[item.source] = result.findings
        emit(ItemEvent(item, "done", 1.0, findings=result.findings, steps=result.steps))
    progress(1.0, "batch finished")
    return report
