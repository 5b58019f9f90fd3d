"""How large a photo may be: a pixel limit from the memory the restore pipeline needs, and the least data
a declared size needs (a header claiming more pixels than the file could hold is truncated or a bomb)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from pathlib import Path

#: What restoring one pixel costs in memory at its peak: the float32 photo, the plan's copies (the photo
#: as it came, as it arrived at each step), the tiled output and its blending weights, the DCT filters'
#: working arrays and the quantised copy written out. Measured with tracemalloc on a 1.5 MP photo
#: (read -> restore -> write, CPU): "remove the noise" 159 B/px, "it's dark and grainy" 112 B/px, "the
#: camera shook" and "it's out of focus and grainy" below 160 B/px; rounded up for the decoder's own buffers.
BYTES_PER_PIXEL = 180
#: Share of the memory available at read time that one photo may plan to use.
MEMORY_SHARE = 0.8
#: Never refuse a photo this small for want of memory: a 16 MP phone photo is always tried (a real
#: shortage then surfaces as an out-of-memory error, which every face reports in one line).
MIN_PIXEL_LIMIT = 16_000_000


def available_memory() -> int | None:
    """Bytes of memory this process can still use (cgroup limit included), or None when unknown."""
    if sys.platform.startswith("linux"):
        return _linux_available()
    if sys.platform == "win32":
        return _windows_available()
    with contextlib.suppress(ValueError, OSError, AttributeError):
        # macOS and the BSDs: physical memory; the OS pages out others before refusing this process.
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    return None


def _linux_available() -> int | None:
    available: int | None = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
                break
    # A container's own limit (cgroup v2, then v1) is often far below the machine's free memory.
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        with contextlib.suppress(OSError, ValueError):
            limit_text = Path(limit_file).read_text().strip()
            if limit_text == "max":
                continue
            room = int(limit_text) - int(Path(usage_file).read_text().strip())
            if int(limit_text) < (1 << 60):  # v1 reports "no limit" as a huge number
                available = room if available is None else min(available, room)
    return None if available is None else max(available, 0)


def _windows_available() -> int | None:
    class _MemoryStatus(ctypes.Structure):
        _fields_ = [
            ("dwLength", ctypes.c_ulong),
            ("dwMemoryLoad", ctypes.c_ulong),
            ("ullTotalPhys", ctypes.c_ulonglong),
            ("ullAvailPhys", ctypes.c_ulonglong),
            ("ullTotalPageFile", ctypes.c_ulonglong),
            ("ullAvailPageFile", ctypes.c_ulonglong),
            ("ullTotalVirtual", ctypes.c_ulonglong),
            ("ullAvailVirtual", ctypes.c_ulonglong),
            ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
        ]

    status = _MemoryStatus()
    status.dwLength = ctypes.sizeof(_MemoryStatus)
    try:
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return int(status.ullAvailPhys)
    except (AttributeError, OSError):
        pass
    return None


def memory_pixel_limit(available: int | None = None) -> int | None:
    """Pixels the restore pipeline can hold in the memory available now (never below MIN_PIXEL_LIMIT);
    None when the available memory cannot be read."""
    if available is None:
        available = available_memory()
    if available is None:
        return None
    return max(MIN_PIXEL_LIMIT, int(available * MEMORY_SHARE / BYTES_PER_PIXEL))


def pixel_limit(max_pixels: int) -> tuple[int, bool]:
    """(the pixel limit in force, whether memory set it): the smaller of max_pixels and what memory allows."""
    by_memory = memory_pixel_limit()
    if by_memory is not None and by_memory < max_pixels:
        return by_memory, True
    return max_pixels, False


def least_jpeg_bytes(width: int, height: int) -> int:
    """The fewest bytes of Huffman-coded scan data that can hold a width x height JPEG.

    Every 8 x 8 block of the first component codes at least its DC difference, and a Huffman code is at
    least one bit long (libjpeg assigns no zero-length codes), in baseline and progressive files alike;
    a baseline block also needs an end-of-block code, which this bound leaves out to stay safe. Arithmetic
    coding has no such floor: the caller skips those (rare) files.
    """
    blocks = -(-width // 8) * -(-height // 8)
    return blocks // 8


def least_png_bytes(width: int, height: int, bits_per_pixel: int) -> int:
    """The fewest bytes of zlib data that can inflate into a width x height PNG's rows (deflate expands
    at most 1032:1: a 258-byte match per bit pair at best)."""
    row_bytes = 1 + -(-width * bits_per_pixel // 8)
    return (row_bytes * height) // 1032


def describe_bytes(count: float) -> str:
    """A byte count for a message: "14 GB", "820 MB"."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if count >= size:
            value = count / size
            return f"{value:,.0f} {unit}" if value >= 1000 else f"{value:.3g} {unit}"
    return f"{int(count)} bytes"
