"""Exceptions every face of PhotoMend can turn into a one-line message."""

from __future__ import annotations

from pathlib import Path


class PhotoMendError(Exception):
    """Base class: str(exc) is a one-line, user-facing message."""


class PhotoReadError(PhotoMendError):
    """A file could not be read as a photo (missing, truncated, bomb, unsupported...)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class PhotoWriteError(PhotoMendError):
    """A photo could not be written (refused overwrite, disk error...)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ModelError(PhotoMendError):
    """A model file is missing, corrupt (sha256 mismatch) or cannot be loaded."""


class DeviceError(PhotoMendError):
    """The requested execution device is not available."""


class OutOfMemoryError(PhotoMendError):
    """Inference ran out of memory even at the smallest tile size."""


class TooLargeError(PhotoMendError):
    """The result asked for is too large to make (an enlargement past the output limit or the free memory)."""


class InstructionError(PhotoMendError):
    """The instruction is not a restoration request PhotoMend can carry out."""


class Cancelled(PhotoMendError):
    """The user cancelled a long-running operation."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)
