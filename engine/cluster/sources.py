"""Photos named by URIs (s3://, gs://, hdfs://, file://...): listed, hashed and fetched through pyarrow's file
system layer, the one Ray Data reads object stores with. The outputs and the journal stay on a folder every
worker and the driver see (a shared mount): an object store has no atomic rename and no lock."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any, cast

from engine.batch import BatchItem
from engine.batch.inputs import NOT_A_PHOTO
from engine.batch.naming import clash_key, output_name, render_name
from engine.io import SUPPORTED_SUFFIXES

_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+://")
_CHUNK = 1 << 20


def is_uri(text: object) -> bool:
    """Whether an input is a URI ("s3://bucket/photos/") rather than a local path."""
    return isinstance(text, str) and bool(_URI.match(text))


@dataclass(frozen=True)
class RemoteSource:
    """A photo on an object store: what a BatchItem's `source` is for it. `uri` names it for people (and the
    journal); `root` is the URI the user gave, which pyarrow opens, and `path` the photo's path in that file
    system. Its name parts (name, stem, suffix) are the object's, so output names follow the pattern as for a
    local file."""

    uri: str
    root: str
    path: str

    def __fspath__(self) -> str:
        return self.uri

    def __str__(self) -> str:
        return self.uri

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def stem(self) -> str:
        return PurePosixPath(self.path).stem

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.path).suffix


@lru_cache(maxsize=32)
def _file_system(root: str) -> tuple[Any, str]:
    """(pyarrow FileSystem, path inside it) for a URI; one per URI and process (a worker reuses it)."""
    from pyarrow import fs

    return fs.FileSystem.from_uri(root)


def find_remote(
    uris: Iterable[str],
) -> tuple[list[tuple[RemoteSource, Path]], list[tuple[str, str]], list[tuple[str, str]]]:
    """List each URI, as engine.batch.inputs lists a local input: (found, failed, ignored).

    A URI naming an object is taken whatever its suffix; one naming a folder (a prefix) is listed
    recursively, in name order, hidden entries (a leading '.') passed over and objects without a photo's
    suffix ignored. `found` pairs each photo with its folder below the URI, mirrored in the output folder.
    """
    from pyarrow import fs

    found: list[tuple[RemoteSource, Path]] = []
    failed: list[tuple[str, str]] = []
    ignored: list[tuple[str, str]] = []
    for uri in uris:
        try:
            filesystem, root = _file_system(uri)
            info = filesystem.get_file_info(root)
            if info.type == fs.FileType.File:
                found.append((RemoteSource(uri, uri, root), Path()))
                continue
            if info.type != fs.FileType.Directory:
                failed.append((uri, "no such file or folder"))
                continue
            listing = filesystem.get_file_info(fs.FileSelector(root, recursive=True))
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError, its IO errors OSErrors
            failed.append((uri, f"cannot be listed: {exc}"))
            continue
        photos: list[tuple[RemoteSource, Path]] = []
        for entry in listing:
            if entry.type != fs.FileType.File:
                continue
            relative = PurePosixPath(entry.path).relative_to(PurePosixPath(root))
            if any(part.startswith(".") for part in relative.parts):
                continue
            shown = f"{uri.rstrip('/')}/{relative.as_posix()}"
            if relative.suffix.lower() not in SUPPORTED_SUFFIXES:
                ignored.append((shown, NOT_A_PHOTO))
                continue
            photos.append((RemoteSource(shown, uri, entry.path), Path(*relative.parent.parts)))
        found.extend(sorted(photos, key=lambda pair: pair[0].uri))
    return found, failed, ignored


def inside(
    found: list[tuple[RemoteSource, Path]], folder: Path
) -> tuple[list[tuple[RemoteSource, Path]], list[tuple[str, str]]]:
    """Split off the photos of a file:// URI that lie in `folder` (the output folder: its outputs are never
    taken for photos to restore). Returns (kept, ignored with the reason)."""
    root = os.path.realpath(folder)
    kept: list[tuple[RemoteSource, Path]] = []
    ignored: list[tuple[str, str]] = []
    for source, rel_parent in found:
        local = os.path.realpath(source.path) if source.root.lower().startswith("file:") else None
        if local is not None and (local == root or local.startswith(root + os.sep)):
            ignored.append((source.uri, "inside the output folder: not taken as a photo to restore"))
        else:
            kept.append((source, rel_parent))
    return kept, ignored


def plan_remote(
    found: Iterable[tuple[RemoteSource, Path]], output_dir: Path, pattern: str, reserved: set[str]
) -> tuple[list[BatchItem], list[tuple[BatchItem, str]]]:
    """Name the outputs of remote photos as engine.batch.plan_batch names local ones: the pattern, the folders
    below the URI mirrored, a name too long shortened, and a clash with any name in `reserved` (the local
    photos' outputs and sources; the chosen ones are added) resolved by '-2', '-3'... Returns (items,
    renamed)."""
    items: list[BatchItem] = []
    renamed: list[tuple[BatchItem, str]] = []
    for source, rel_parent in found:
        named = cast(Path, source)  # the naming helpers read only .name, .stem and .suffix, which it has
        wanted, name = render_name(pattern, named), output_name(pattern, named)
        target = output_dir / rel_parent / name
        note = f"the name {wanted!r} is too long for the file system: shortened" if name != wanted else ""
        if clash_key(target) in reserved:
            n = 2
            while clash_key(candidate := target.with_name(output_name(pattern, named, n))) in reserved:
                n += 1
            note = f"another photo has the same output name {target.name}: written as {candidate.name}"
            target = candidate
        reserved.add(clash_key(target))
        item = BatchItem(source=named, output=target)
        items.append(item)
        if note:
            renamed.append((item, note))
    return items, renamed


def remote_sha256(source: RemoteSource) -> str:
    """sha256 of the object's bytes, read in 1 MB pieces."""
    filesystem, _ = _file_system(source.root)
    digest = hashlib.sha256()
    with filesystem.open_input_stream(source.path) as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(source: RemoteSource, folder: Path) -> Path:
    """Copy the object into `folder` under its own name (read_photo tells formats by suffix too); the
    caller removes it."""
    filesystem, _ = _file_system(source.root)
    target = folder / (source.name or "photo")
    with filesystem.open_input_stream(source.path) as stream, open(target, "wb") as out:
        while chunk := stream.read(_CHUNK):
            out.write(chunk)
    return target


def local_reason(reason: str, local: os.PathLike[str] | str, source: RemoteSource) -> str:
    """A failure's reason naming the object rather than the worker's temporary copy of it."""
    return reason.replace(os.fspath(local), source.uri)
