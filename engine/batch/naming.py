"""Output names of a batch: the --pattern's fixed fields, names that stay inside the output folder, and
names shortened to what the file system holds."""

from __future__ import annotations

import os
import string
from pathlib import Path

from engine.errors import PhotoMendError
from engine.io.formats import format_for_suffix, normalize_format, output_suffix

#: The fields a --pattern may use: the source's name without its extension, the output's extension (without
#: the dot: the source's, "tif" for a camera RAW, "png" for a file without one), and the source's whole name.
PATTERN_FIELDS = ("stem", "ext", "name")
DEFAULT_PATTERN = "{stem}.{ext}"
#: Bytes in one file name on every file system PhotoMend writes to (ext4, APFS, NTFS: 255).
NAME_MAX = 255
#: Characters no pattern may add: path separators would leave the output folder, ':' names a drive or a
#: stream on Windows, and control characters make names no one can type.
_FORBIDDEN = frozenset("/\\:") | frozenset(chr(c) for c in range(32)) | {"\x7f"}
_FIELDS_HELP = "use {stem}, {ext} and {name}, e.g. '{stem}-restored.{ext}'"


class BatchUsageError(PhotoMendError):
    """The batch cannot start as asked (naming pattern, output folder): the CLI's usage error (exit 2)."""


def check_pattern(pattern: str) -> None:
    """Raise BatchUsageError (one line) unless `pattern` names a photo file inside the output folder.

    Only the fields PATTERN_FIELDS, as plain `{field}`: no attribute or index access, format specs or
    conversions (str.format would otherwise run them on the file name). The literal text adds no path
    separator, ':' or control character, the name does not start with '.' (hidden: never read back, and the
    journal's place), it contains {stem} or {name} (else every photo gets the same name), and it ends in a
    suffix PhotoMend writes.
    """
    if not pattern.strip():
        raise BatchUsageError(f"the naming pattern is empty: {_FIELDS_HELP}")
    try:
        parts = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise BatchUsageError(f"bad naming pattern {pattern!r} ({exc}): {_FIELDS_HELP}") from None
    uses_source = False
    for literal, field, spec, conversion in parts:
        bad = sorted({c for c in literal if c in _FORBIDDEN})
        if bad:
            shown = ", ".join(repr(c) for c in bad)
            raise BatchUsageError(
                f"bad naming pattern {pattern!r}: it names a file inside the output folder, so it may not "
                f"contain {shown}"
            )
        if field is None:
            continue
        if field not in PATTERN_FIELDS:
            raise BatchUsageError(
                f"bad naming pattern {pattern!r}: unknown field {{{field}}}; {_FIELDS_HELP}"
            )
        if spec or conversion:
            raise BatchUsageError(
                f"bad naming pattern {pattern!r}: write fields plain, as {{{field}}}; {_FIELDS_HELP}"
            )
        uses_source = uses_source or field in ("stem", "name")
    if not uses_source:
        raise BatchUsageError(
            f"bad naming pattern {pattern!r}: without {{stem}} or {{name}} every photo gets the same name; "
            f"{_FIELDS_HELP}"
        )
    sample = render_name(pattern, Path("photo.jpg"))
    if sample.startswith("."):
        raise BatchUsageError(f"bad naming pattern {pattern!r}: names starting with '.' are hidden files")
    fmt = format_for_suffix(sample)
    if fmt is None or normalize_format(fmt) is None:
        suffix = Path(sample).suffix or "no suffix"
        raise BatchUsageError(
            f"bad naming pattern {pattern!r}: it gives names with {suffix}, which is not a format PhotoMend "
            "writes (end it in .{ext}, .jpg, .png, .tif or .webp)"
        )


def render_name(pattern: str, source: Path, stem: str | None = None) -> str:
    """The output file name `pattern` (checked by check_pattern) gives `source`; {ext} is the source's own
    extension, "tif" for a camera RAW (never written back as RAW), "png" for a file without one. `stem`
    replaces the source's stem (in {stem} and {name}) to shorten the name."""
    stem = source.stem if stem is None else stem
    ext = output_suffix(source)[1:] or "png"
    return pattern.format_map({"stem": stem, "ext": ext, "name": stem + source.suffix})


def keeps_outputs_apart(pattern: str) -> bool:
    """True when every output name differs from its source's stem (a prefix or suffix such as
    '{stem}-restored.{ext}'), so outputs written next to their originals can be told from them."""
    return Path(render_name(pattern, Path("photo.jpg"))).stem != "photo"


def output_name(pattern: str, source: Path, n: int = 1, limit: int = NAME_MAX) -> str:
    """The name `pattern` gives `source`, with '-n' before its suffix for n > 1 (the visible rename of a
    clash), the source's stem shortened (whole characters, from its end) until the name fits in `limit`
    bytes as the file system stores it; what the pattern adds (e.g. '-restored') is kept whole."""
    stem = source.stem
    while True:
        name = render_name(pattern, source, stem)
        if n > 1:
            path = Path(name)
            name = f"{path.stem}-{n}{path.suffix}"
        if len(os.fsencode(name)) <= limit or not stem:
            return name  # with nothing left to shorten, the write says the name is too long
        stem = stem[:-1]


def clash_key(path: Path) -> str:
    """How two output paths are compared for a clash: absolute and case-folded, because the output folder
    may live on (or be copied to) a case-insensitive file system where X.jpg and x.jpg are one file."""
    return os.path.normcase(os.path.abspath(path)).casefold()
