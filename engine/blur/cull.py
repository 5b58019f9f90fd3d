"""cull_folder: rank a folder's photos by sharpness and copy or move the blurry ones into a subfolder.

Nothing is ever deleted or overwritten: a move is a rename into the subfolder under a name that is
free there (IMG_1.jpg, IMG_1-1.jpg, ...), and unreadable files are skipped and reported.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from engine.blur.analysis import BLURRY_THRESHOLD, BlurReport, analyze_blur
from engine.errors import PhotoMendError, PhotoReadError
from engine.io import SUPPORTED_SUFFIXES, read_photo
from engine.progress import CancelToken, ProgressCallback

CullAction = Literal["none", "copy", "move"]
_ACTIONS: tuple[str, ...] = ("none", "copy", "move")


@dataclass(frozen=True)
class CullEntry:
    """One analysed photo; `destination` is where it was copied or moved, if it was."""

    path: Path
    report: BlurReport
    destination: Path | None = None


@dataclass
class CullReport:
    """The outcome of cull_folder: photos sharpest first, failures with their reason."""

    folder: Path
    action: str  # one of CullAction
    threshold: float
    ranked: list[CullEntry] = field(default_factory=list)  # sharpest first
    failed: list[tuple[Path, str]] = field(default_factory=list)  # unreadable photo or failed copy/move
    ignored: list[tuple[Path, str]] = field(default_factory=list)  # not a photo format: left alone
    cancelled: bool = False

    @property
    def blurry(self) -> list[CullEntry]:
        return [entry for entry in self.ranked if entry.report.blurry]

    @property
    def sharp(self) -> list[CullEntry]:
        return [entry for entry in self.ranked if not entry.report.blurry]


def _free_name(folder: Path, name: str) -> Path:
    """First of name, stem-1.ext, stem-2.ext... that does not exist in folder (a hint; see _place)."""
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    counter = 0
    while candidate.exists() or candidate.is_symlink():
        counter += 1
        candidate = folder / f"{stem}-{counter}{suffix}"
    return candidate


def _place(source: Path, folder: Path, move: bool) -> Path:
    """Copy or move source into folder under a free name without ever replacing an existing file.

    Free names are claimed atomically (hard link, or exclusive create for copies), so a file appearing
    meanwhile is never clobbered; a plain rename would silently replace it on POSIX.
    """
    for _ in range(1000):
        target = _free_name(folder, source.name)
        try:
            if move:
                try:
                    os.link(source, target)  # fails with EEXIST instead of replacing
                except OSError as exc:
                    if exc.errno == errno.EEXIST:
                        raise
                    # No hard links here (FAT, exFAT, some network shares): copy exclusively, then remove.
                    _copy_exclusive(source, target)
                source.unlink()
            else:
                _copy_exclusive(source, target)
            return target
        except FileExistsError:
            continue  # someone took that name between the check and the claim: try the next one
    raise OSError(errno.EEXIST, "no free file name in the subfolder")


def _copy_exclusive(source: Path, target: Path) -> None:
    with open(source, "rb") as src, open(target, "xb") as dst:
        try:
            shutil.copyfileobj(src, dst, 1 << 20)
        except BaseException:
            dst.close()
            target.unlink(missing_ok=True)  # our own partial copy, never a user's file
            raise
    shutil.copystat(source, target)


def list_photos(folder: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Photo files directly in folder (sorted; hidden files skipped) and the other files, with a reason."""
    photos: list[Path] = []
    ignored: list[tuple[Path, str]] = []
    for child in sorted(folder.iterdir()):
        if child.name.startswith(".") or not child.is_file():
            continue
        if child.suffix.lower() in SUPPORTED_SUFFIXES:
            photos.append(child)
        else:
            ignored.append((child, "not a supported photo format"))
    return photos, ignored


def cull_folder(
    folder: Path | str,
    *,
    action: CullAction | str = "none",
    subfolder: str = "blurry",
    threshold: float | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> CullReport:
    """Analyse every photo directly in `folder`, rank them by sharpness, copy/move the blurry ones.

    `action`: "none" only ranks; "copy" or "move" puts blurry photos into folder/`subfolder` (created on
    demand). `threshold` overrides the calibrated score threshold. Photos are judged at full resolution
    (about 25 ms per megapixel, less than decoding a JPEG takes). Cancelling stops between photos and
    returns what was done so far (cancelled=True); every copy or move already made is complete.
    """
    root = Path(folder)
    if action not in _ACTIONS:
        raise ValueError(f"action must be 'none', 'copy' or 'move', not {action!r}")
    if not subfolder or Path(subfolder).name != subfolder or subfolder in (".", ".."):
        raise ValueError(f"subfolder must be a plain folder name, not {subfolder!r}")
    if not root.is_dir():
        raise PhotoMendError(f"{root}: not a folder")
    photos, ignored = list_photos(root)
    limit = BLURRY_THRESHOLD if threshold is None else float(threshold)
    report = CullReport(folder=root, action=action, threshold=limit, ignored=ignored)
    analysed: list[tuple[Path, BlurReport]] = []
    for index, path in enumerate(photos):
        if cancel is not None and cancel.cancelled:
            report.cancelled = True
            break
        if progress is not None:
            progress(index / max(len(photos), 1), f"measuring {path.name}")
        try:
            # One expression: the full-size pixels are freed before the next photo is decoded.
            blur = analyze_blur(read_photo(path).pixels, threshold=limit)
        except PhotoReadError as exc:  # its message names the file already
            report.failed.append((path, str(exc)))
            continue
        except (PhotoMendError, ValueError, MemoryError) as exc:  # e.g. a 3 x 3 px image: too small to judge
            report.failed.append((path, f"{path}: {exc}"))
            continue
        analysed.append((path, blur))

    analysed.sort(key=lambda item: (-item[1].score, item[0].name))
    target_dir = root / subfolder
    for path, blur in analysed:
        destination: Path | None = None
        if blur.blurry and action != "none" and not report.cancelled:
            try:
                target_dir.mkdir(exist_ok=True)
                destination = _place(path, target_dir, move=action == "move")
            except OSError as exc:
                reason = exc.strerror or str(exc)
                report.failed.append((path, f"{path}: cannot {action} it to {target_dir}: {reason}"))
        report.ranked.append(CullEntry(path=path, report=blur, destination=destination))
    if progress is not None:
        progress(1.0, "done")
    return report
