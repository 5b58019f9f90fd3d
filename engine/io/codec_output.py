"""What C codecs print on stderr while a file is decoded, caught so that it can be told with the file's name.

libtiff (inside Pillow), libpng and OpenCV's loader write warnings straight to file descriptor 2:
"LZWDecode: Not enough data at scanline 21", "libpng error: IDAT: CRC error". On a terminal those
lines name no file, and in a batch they land next to another photo's progress. For the length of one
decode, descriptor 2 points at a temporary file (never a pipe: a codec that prints more than a pipe
holds would block forever); afterwards the lines become the photo's notes or the failure's reason.

The redirection is process-wide: callers hold engine.io's read lock, so two reads never overlap here,
but a line another thread prints meanwhile is caught too (and told as the codec's).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from types import TracebackType
from typing import IO

#: At most this much captured text is kept per decode; codecs can repeat a warning per row.
_KEEP_BYTES = 16384
_MAX_LINES = 4
# OpenCV's logger prefixes "[ WARN:0@0.142] global grfmt_tiff.cpp:123 TIFF_Warning ": keep the message.
_OPENCV_PREFIX = re.compile(r"^\[\s*(?:WARN|ERROR|INFO)[^\]]*\]\s+global\s+\S+\s+(?:\S+\s+)?")
_LIBTIFF_OPENCV_TAG = re.compile(r"^(?:TIFF_Warning|TIFF_Error)\s+")


class CodecOutput:
    """Context manager: descriptor 2 goes to a temporary file; ``lines`` holds what arrived, once closed."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._saved_fd: int | None = None
        self._capture: IO[bytes] | None = None

    def __enter__(self) -> CodecOutput:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        try:
            capture = tempfile.TemporaryFile()
        except OSError:
            return self  # no temp space: the codecs print as before
        try:
            saved = os.dup(2)
        except OSError:
            capture.close()
            return self
        try:
            os.dup2(capture.fileno(), 2)
        except OSError:
            os.close(saved)
            capture.close()
            return self
        self._saved_fd, self._capture = saved, capture
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._saved_fd is None or self._capture is None:
            return
        try:
            os.dup2(self._saved_fd, 2)
        finally:
            os.close(self._saved_fd)
            self._saved_fd = None
        try:
            self._capture.seek(0)
            raw = self._capture.read(_KEEP_BYTES)
        except OSError:
            raw = b""
        finally:
            self._capture.close()
            self._capture = None
        self.lines = clean_lines(raw.decode("utf-8", errors="replace"))


def clean_lines(text: str) -> list[str]:
    """Distinct, non-empty message lines with OpenCV's logger prefix removed (at most _MAX_LINES)."""
    kept: list[str] = []
    for line in text.splitlines():
        message = _LIBTIFF_OPENCV_TAG.sub("", _OPENCV_PREFIX.sub("", line.strip())).strip()
        if message and message not in kept:
            kept.append(message[:200])
        if len(kept) == _MAX_LINES:
            break
    return kept
