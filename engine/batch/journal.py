"""The batch journal: which outputs in a folder PhotoMend wrote, from what, and how; append-only JSON lines.

Each output gets a "writing" line before its file is replaced and a "done" line once it is in place, with
the key of everything that made it (engine.batch.keys) and the size, mtime and sha256 of what was written.
So a file in the output folder is PhotoMend's own only while it is what the journal says was written there
(or was being written when a run was killed), and only PhotoMend's own files are ever replaced without
--overwrite. A line is appended whole or not at all (a failed append is cut back off), lines that do not
parse or have the wrong fields are ignored and counted, and one batch at a time holds the journal.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

try:  # POSIX; on Windows a second batch into the same folder is not locked out
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

JOURNAL_NAME = ".photomend-journal.jsonl"
JOURNAL_VERSION = 2
WRITING = "writing"
DONE = "done"
#: "the damaged lines before `upto` (a byte offset) were reported": each is warned about once, not every run
SEEN = "damage-reported"
_CHUNK = 1 << 20
#: "scheme://": a source that is an object-store URI (engine.cluster's s3://bucket/x.jpg), not a local path
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+://")


class JournalError(OSError):
    """The journal cannot be opened, read or appended to (an OSError: errno says why)."""


@dataclass(frozen=True)
class OutputStamp:
    """What was written: enough to recognise the file later, even after a copy that lost its mtime."""

    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True)
class JournalEntry:
    """The last line the journal holds for one output (its path relative to the output folder)."""

    output: str
    state: str  # WRITING or DONE
    key: str
    source: str
    source_sha256: str
    stamp: OutputStamp | None = None
    #: a line of the first journal format (size and mtime of the source, no stamp): trusted as PhotoMend's,
    #: never equal to a key of today's
    legacy: bool = False


def file_sha256(path: Path | str) -> str:
    """sha256 of a regular file's bytes, read in 1 MB pieces; OSError for anything else (a FIFO, a device,
    a folder), checked on the open file so a FIFO is never waited on."""
    nonblocking = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, os.O_RDONLY | nonblocking | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        if nonblocking:
            os.set_blocking(fd, True)
        digest = hashlib.sha256()
        while chunk := os.read(fd, _CHUNK):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(fd)


def source_name(source: os.PathLike[str] | str) -> str:
    """How the journal names a photo's source: its absolute path, or an object-store URI as it is (a source
    that is not a local path and reads as "scheme://...", e.g. engine.cluster's s3://bucket/photo.jpg)."""
    text = os.fspath(source)
    if not isinstance(source, PurePath) and _URI.match(text):
        return text
    return os.path.abspath(text)


def stamp_of(path: Path) -> OutputStamp:
    info = path.stat()
    return OutputStamp(size=info.st_size, mtime_ns=info.st_mtime_ns, sha256=file_sha256(path))


class Journal:
    """The journal of one output folder. `Journal(folder)` only reads (a missing journal is empty);
    `open()` creates and locks it for appending, `close()` lets go."""

    def __init__(self, output_dir: Path | str) -> None:
        self.folder = Path(output_dir)
        self.path = self.folder / JOURNAL_NAME
        self.entries: dict[str, JournalEntry] = {}
        #: lines that could not be read and were not reported before
        self.damaged = 0
        self._fd: int | None = None
        self._needs_newline = False
        self._load()

    # --- reading ---

    def _load(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        except FileNotFoundError:
            return
        except OSError as exc:
            raise JournalError(
                exc.errno, f"cannot read the journal: {exc.strerror}", str(self.path)
            ) from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise JournalError(errno.EINVAL, "the journal is not a regular file", str(self.path))
            with os.fdopen(os.dup(fd), "rb") as handle:
                data = handle.read()
        except JournalError:
            raise
        except OSError as exc:
            raise JournalError(
                exc.errno, f"cannot read the journal: {exc.strerror}", str(self.path)
            ) from None
        finally:
            os.close(fd)
        self._needs_newline = bool(data) and not data.endswith(b"\n")
        damaged_at: list[int] = []
        seen = 0  # damaged lines before this offset were reported by an earlier run
        offset = 0
        for raw in data.split(b"\n"):
            start, offset = offset, offset + len(raw) + 1
            if not raw.strip():
                continue
            entry = self._parse(raw)
            if isinstance(entry, int):
                seen = max(seen, entry)
            elif entry is None:
                damaged_at.append(start)
            else:
                self.entries[entry.output] = entry
        self.damaged = sum(1 for start in damaged_at if start >= seen)

    def _parse(self, raw: bytes) -> JournalEntry | int | None:
        """One line as an entry, an int for a SEEN line (the offset it covers), or None for a damaged line
        (cut short, not JSON, wrong fields or types)."""
        try:
            line = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return None
        if not isinstance(line, dict):
            return None
        if line.get("v") == JOURNAL_VERSION and line.get("state") == SEEN:
            upto = line.get("upto")
            return upto if isinstance(upto, int) and not isinstance(upto, bool) else None
        if line.get("v") == JOURNAL_VERSION:
            return _entry_v2(line)
        if "v" not in line and line.get("status") == "done":
            return self._entry_v1(line)
        return None

    def _entry_v1(self, line: dict[str, Any]) -> JournalEntry | None:
        output, source = line.get("output"), line.get("source")
        if not isinstance(output, str) or not isinstance(source, str):
            return None
        relative = self.relative(Path(output))
        if relative is None:
            return None
        return JournalEntry(relative, DONE, "", source, "", legacy=True)

    # --- what it knows ---

    def relative(self, output: Path) -> str | None:
        """`output`'s path inside the folder, as the journal writes it; None if it lies outside."""
        try:
            rel = Path(os.path.abspath(output)).relative_to(os.path.abspath(self.folder))
        except ValueError:
            return None
        return rel.as_posix() if rel.parts else None

    def entry(self, output: Path) -> JournalEntry | None:
        relative = self.relative(output)
        return self.entries.get(relative) if relative is not None else None

    def owns(self, output: Path) -> bool:
        """True when the file at `output` is one PhotoMend wrote and nobody changed since: the journal's
        stamp matches it (size, and mtime or else sha256), or a run was killed while writing it."""
        entry = self.entry(output)
        if entry is None:
            return False
        if entry.state == WRITING or entry.legacy or entry.stamp is None:
            return True
        try:
            info = output.stat()
            if info.st_size != entry.stamp.size:
                return False
            return info.st_mtime_ns == entry.stamp.mtime_ns or file_sha256(output) == entry.stamp.sha256
        except OSError:
            return False

    def outputs(self) -> list[Path]:
        """Every output the journal records, as paths in the folder."""
        return [self.folder / PurePosixPath(relative) for relative in self.entries]

    # --- appending ---

    def open(self) -> Journal:
        """Create (if need be) and lock the journal for appending, then read it again under the lock.
        JournalError when it cannot be written or another batch holds it."""
        if self._fd is not None:
            return self
        flags = (
            os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        )
        try:
            fd = os.open(self.path, flags, 0o666)
        except OSError as exc:
            raise JournalError(
                exc.errno, exc.strerror or "cannot create the journal", str(self.path)
            ) from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise JournalError(errno.EINVAL, "the journal is not a regular file", str(self.path))
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise JournalError(
                        errno.EBUSY, "another PhotoMend batch is writing into this folder", str(self.path)
                    ) from None
                except OSError:
                    pass  # a file system without locks (some network shares): go on unlocked
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self.entries.clear()
        self._load()
        return self

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # also releases the lock
            self._fd = None

    def __enter__(self) -> Journal:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record_writing(self, output: Path, *, key: str, source: Path, source_sha256: str) -> None:
        """Say that `output` is about to be replaced: if the run dies before record_done, the file there is
        still known as PhotoMend's and the next run restores it again."""
        relative = self._relative_or_fail(output)
        absolute = source_name(source)
        line = {"v": JOURNAL_VERSION, "state": WRITING, "output": relative, "key": key,
                "source": absolute, "source_sha256": source_sha256}  # fmt: skip
        self._append(line)
        self.entries[relative] = JournalEntry(relative, WRITING, key, absolute, source_sha256)

    def record_done(
        self,
        output: Path,
        *,
        key: str,
        source: Path,
        source_sha256: str,
        stamp: OutputStamp,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Say that `output` is in place, as `stamp` describes it; `details` are kept for people to read
        (the instruction, the models, the options, what was detected)."""
        relative = self._relative_or_fail(output)
        line: dict[str, Any] = {
            "v": JOURNAL_VERSION,
            "state": DONE,
            "output": relative,
            "key": key,
            "source": source_name(source),
            "source_sha256": source_sha256,
            "size": stamp.size,
            "mtime_ns": stamp.mtime_ns,
            "sha256": stamp.sha256,
            **(details or {}),
        }
        self._append(line)
        self.entries[relative] = JournalEntry(relative, DONE, key, line["source"], source_sha256, stamp)

    def mark_damage_reported(self) -> None:
        """Append a line saying the damaged lines so far were reported, so later runs do not warn again."""
        if self.damaged and self._fd is not None:
            self._append({"v": JOURNAL_VERSION, "state": SEEN, "upto": os.fstat(self._fd).st_size})
            self.damaged = 0

    def _relative_or_fail(self, output: Path) -> str:
        relative = self.relative(output)
        if relative is None:
            raise ValueError(f"{output} is not inside {self.folder}")
        return relative

    def _append(self, line: dict[str, Any]) -> None:
        """Append one line, whole, and fsync it; on any failure the journal is cut back to where it was, so
        it never holds half a line (ENOSPC, EFBIG, EIO come out as JournalError)."""
        if self._fd is None:
            raise RuntimeError("Journal.open() first")
        # ASCII JSON: a file name that is not UTF-8 is kept exactly (as \udcXX escapes), and the file stays
        # valid UTF-8 whatever the names.
        data = (json.dumps(line, ensure_ascii=True) + "\n").encode("ascii")
        if self._needs_newline:
            data = b"\n" + data  # the last line was cut short by a kill: do not glue onto it
        fd = self._fd
        start = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise JournalError(
                exc.errno, f"cannot write the journal: {exc.strerror or exc}", str(self.path)
            ) from None
        self._needs_newline = False


def _entry_v2(line: dict[str, Any]) -> JournalEntry | None:
    state, output = line.get("state"), line.get("output")
    texts = [line.get(name) for name in ("key", "source", "source_sha256")]
    if (
        state not in (WRITING, DONE)
        or not isinstance(output, str)
        or not all(isinstance(t, str) for t in texts)
    ):
        return None
    relative = PurePosixPath(output)
    if not output or relative.is_absolute() or ".." in relative.parts or "\\" in output:
        return None  # a journal line never names a file outside its folder
    key, source, source_sha256 = texts
    stamp = None
    if state == DONE:
        size, mtime_ns, sha256 = line.get("size"), line.get("mtime_ns"), line.get("sha256")
        if not (isinstance(size, int) and isinstance(mtime_ns, int) and isinstance(sha256, str)):
            return None
        if isinstance(size, bool) or isinstance(mtime_ns, bool) or size < 0:
            return None
        stamp = OutputStamp(size, mtime_ns, sha256)
    return JournalEntry(output, state, key, source, source_sha256, stamp)  # type: ignore[arg-type]
