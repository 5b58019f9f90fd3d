"""Before the window opens: can Qt's platform plugin load here? If not, say which system packages to install.

PySide6's wheels carry Qt but not the X11 libraries its xcb plugin links against. Where one is missing
(on a fresh Debian 12 desktop: libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1), Qt prints a generic "could
not load the Qt platform plugin" and aborts. The loader knows exactly which files it could not find, so
this module asks it (`ldd` on the plugin) and names the packages that hold them, per distribution.

Nothing here imports Qt's GUI modules: QtCore alone finds the plugin folder.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# soname -> (Debian/Ubuntu, Fedora, Arch) package. The xcb plugin's own dependencies as of Qt 6.5-6.12;
# a soname missing from this table is named as it is.
PACKAGES: dict[str, tuple[str, str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util", "xcb-util"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"),
    "libxcb.so.1": ("libxcb1", "libxcb", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb", "libxcb"),
    "libX11.so.6": ("libx11-6", "libX11", "libx11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb", "libx11"),
    "libGL.so.1": ("libgl1", "libglvnd-glx", "libglvnd"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl", "libglvnd"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype", "freetype2"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs", "dbus"),
}
DISTRIBUTIONS = (
    ("Debian/Ubuntu", "sudo apt install"),
    ("Fedora", "sudo dnf install"),
    ("Arch", "sudo pacman -S"),
)
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)
_CANNOT_OPEN = re.compile(r"(\S+\.so[.\d]*): cannot open shared object file")


@dataclass(frozen=True)
class PlatformProblem:
    """Why the window cannot open: the platform Qt would use and the libraries its plugin lacks."""

    platform: str
    missing: tuple[str, ...] = ()
    reason: str = ""

    def packages(self, distribution: int) -> list[str]:
        """The packages that hold the missing libraries on DISTRIBUTIONS[distribution], each once."""
        names = [PACKAGES[so][distribution] if so in PACKAGES else so for so in self.missing]
        return list(dict.fromkeys(names))

    def message(self) -> str:
        if not self.missing:
            return f"PhotoMend cannot open its window: {self.reason}"
        lines = [
            f"PhotoMend cannot open its window: Qt's {self.platform} platform plugin needs system libraries "
            "that are not installed:",
            f"  {', '.join(self.missing)}",
            "Install them, then start photomend-app again:",
        ]
        width = max(len(name) for name, _ in DISTRIBUTIONS) + 2
        for index, (name, command) in enumerate(DISTRIBUTIONS):
            lines.append(f"  {(name + ':').ljust(width)}{command} {' '.join(self.packages(index))}")
        lines.append("(On a Wayland desktop, QT_QPA_PLATFORM=wayland uses Qt's Wayland plugin instead.)")
        return "\n".join(lines)


def qt_platforms(environ: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt will try, in order, as QGuiApplication chooses them on Linux."""
    requested = environ.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        return [entry.split(":", 1)[0].strip() for entry in requested.split(";") if entry.strip()]
    if environ.get("XDG_SESSION_TYPE") == "wayland" and environ.get("WAYLAND_DISPLAY"):
        return ["wayland", "xcb"]
    return ["xcb"]


def platform_plugin(name: str, environ: Mapping[str, str]) -> Path | None:
    """Where Qt would load the platform plugin `name` from (None when it is not there at all)."""
    folder = environ.get("QT_QPA_PLATFORM_PLUGIN_PATH")
    if folder:
        directory = Path(folder)
    else:
        from PySide6.QtCore import QLibraryInfo

        directory = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    plugin = directory / f"libq{name}.so"
    return plugin if plugin.is_file() else None


def missing_libraries(plugin: Path, environ: Mapping[str, str] | None = None) -> list[str]:
    """The shared libraries the dynamic loader cannot find for `plugin`, its Qt libraries' included.

    `ldd` runs the loader's own search (RUNPATH, LD_LIBRARY_PATH, ld.so.cache, the default folders) and
    lists every missing library at once; without `ldd`, loading the plugin names the first one.
    """
    env = dict(os.environ if environ is None else environ)
    ldd = shutil.which("ldd", path=env.get("PATH"))
    if ldd is not None:
        try:
            listing = subprocess.run(
                [ldd, str(plugin)], capture_output=True, text=True, env=env, timeout=30, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError):
            listing = None
        if listing is not None:
            return list(dict.fromkeys(_NOT_FOUND.findall(listing)))
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        found = _CANNOT_OPEN.search(str(exc))
        return [found.group(1)] if found else []
    return []


def platform_problem(environ: Mapping[str, str] | None = None) -> PlatformProblem | None:
    """What stops Qt from opening a window here, or None. Only Linux's xcb plugin is checked: the
    offscreen, minimal and Wayland plugins need nothing beyond PySide6, and on Windows and macOS the
    wheel carries everything."""
    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return None
    platforms = qt_platforms(environ)
    if not platforms or platforms[0] != "xcb":
        return None
    plugin = platform_plugin("xcb", environ)
    if plugin is None:
        return None  # a build without the xcb plugin: Qt's own message lists the plugins it has
    missing = missing_libraries(plugin, environ)
    if missing:
        return PlatformProblem("xcb", tuple(missing))
    if not environ.get("DISPLAY"):
        return PlatformProblem(
            "xcb",
            reason="no X display (DISPLAY is not set). Start it from a desktop session; "
            "for scripts without a screen, QT_QPA_PLATFORM=offscreen.",
        )
    return None


def main() -> int:
    """`python -m desktop.platform_check [--debian-packages]`: the message (exit 1) or nothing (exit 0);
    with --debian-packages, only the Debian package names, one per line (tools/install_test_deps.sh)."""
    problem = platform_problem({**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"})
    if "--debian-packages" in sys.argv[1:]:
        for name in problem.packages(0) if problem else []:
            print(name)
        return 0
    problem = platform_problem()
    if problem is None:
        return 0
    print(problem.message(), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
