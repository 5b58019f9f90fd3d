"""Which files a batch's inputs name: folders searched recursively, and every entry that is not a photo file
(a FIFO, a device, a dangling link, an unreadable folder) reported by name with what it is."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from engine.io import SUPPORTED_SUFFIXES

NOT_A_PHOTO = "not a supported photo format"


def what_it_is(mode: int) -> str:
    """A file system object that is not a regular file, in words."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe), not a photo file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a photo file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a photo file"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def _target(link: Path) -> str:
    try:
        return os.readlink(link)
    except OSError:
        return "somewhere that cannot be read"


def _problem(path: Path) -> tuple[os.stat_result | None, str]:
    """(stat following links, "") for an entry that can be looked at, else (None, why not)."""
    try:
        return path.stat(), ""
    except FileNotFoundError:
        if path.is_symlink():
            return None, f"a link to {_target(path)}, which does not exist"
        return None, "no such file or folder"
    except OSError as exc:
        if path.is_symlink():
            return None, f"a link that cannot be followed: {exc.strerror}"
        return None, exc.strerror or "cannot be read"


def find_inputs(
    inputs: Iterable[Path | str],
) -> tuple[list[tuple[Path, Path]], list[tuple[Path, str]], list[tuple[Path, str]]]:
    """Expand files and folders (recursively, in name order) into (photo, folder-relative parent) pairs.

    Returns (found, failed, ignored). Hidden entries (a leading '.') inside folders are passed over. A
    named input that is not a file or folder, and an entry in a folder with a photo's suffix that is not a
    readable regular file (a FIFO, a device or a link to one, a dangling or looping link, a folder), are
    failures with the reason; other entries that are no photos are ignored with the reason (a link to a
    folder is not followed: name it as an input to include it). An input file is taken whatever its suffix:
    reading it says whether it is a photo.
    """
    found: list[tuple[Path, Path]] = []
    failed: list[tuple[Path, str]] = []
    ignored: list[tuple[Path, str]] = []
    for raw in inputs:
        path = Path(raw)
        info, reason = _problem(path)
        if info is None:
            failed.append((path, reason))
        elif stat.S_ISDIR(info.st_mode):
            _walk(path, found, failed, ignored)
        elif stat.S_ISREG(info.st_mode):
            found.append((path, Path()))
        else:
            failed.append((path, what_it_is(info.st_mode)))
    return found, failed, ignored


def _walk(
    root: Path,
    found: list[tuple[Path, Path]],
    failed: list[tuple[Path, str]],
    ignored: list[tuple[Path, str]],
) -> None:
    photos: list[tuple[Path, Path]] = []
    bad: list[tuple[Path, str]] = []
    other: list[tuple[Path, str]] = []
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                names = sorted(entry.name for entry in listing)
        except OSError as exc:
            bad.append((folder, f"cannot open the folder: {exc.strerror or exc}"))
            continue
        for name in names:
            if name.startswith("."):
                continue
            child = folder / name
            is_photo_name = child.suffix.lower() in SUPPORTED_SUFFIXES
            info, reason = _problem(child)
            if info is not None and stat.S_ISDIR(info.st_mode):
                if child.is_symlink():
                    other.append(
                        (child, "a link to a folder, not followed (name it as an input to include it)")
                    )
                else:
                    folders.append(child)
                continue
            if info is not None and stat.S_ISREG(info.st_mode):
                if is_photo_name:
                    photos.append((child, child.parent.relative_to(root)))
                else:
                    other.append((child, NOT_A_PHOTO))
                continue
            if info is not None:
                reason = what_it_is(info.st_mode)
                if child.is_symlink():
                    reason = f"a link to {_target(child)}: {reason}"
            (bad if is_photo_name else other).append((child, reason))
    found.extend(sorted(photos))
    failed.extend(sorted(bad))
    ignored.extend(sorted(other))
