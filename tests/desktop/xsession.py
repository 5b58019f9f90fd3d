"""A real X session for the desktop tests: Xvfb, a window manager (openbox), real key and mouse events
(xdotool, through the XTEST extension), window queries (xwininfo) and screen grabs (ImageMagick's import).

The app runs as its own process, as a user starts it; nothing in it knows it is being tested. What the tests
see is what a person sees: windows by title, pixels on the screen, files the app writes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SCREEN = (1600, 1000)
DRAG_SOURCE = Path(__file__).with_name("xdnd_source.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # the drag source runs on the system Python with Debian's python3-xlib
# (command, Debian package) the session needs.
TOOLS = (
    ("Xvfb", "xvfb"),
    ("openbox", "openbox"),
    ("xdotool", "xdotool"),
    ("xwininfo", "x11-utils"),
    ("xprop", "x11-utils"),
    ("import", "imagemagick"),
)


def missing_packages() -> list[str]:
    """The Debian packages this session needs that are not installed (tools/install_test_deps.sh
    installs them): its tools, python3-xlib for the drag source, and the libraries Qt's xcb plugin needs."""
    from desktop.platform_check import platform_problem

    missing = [package for command, package in TOOLS if shutil.which(command) is None]
    has_xlib = os.access(SYSTEM_PYTHON, os.X_OK) and (
        subprocess.run([SYSTEM_PYTHON, "-c", "import Xlib"], capture_output=True, check=False).returncode == 0
    )
    if not has_xlib:
        missing.append("python3-xlib")
    problem = platform_problem({**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"})
    if problem is not None:
        missing.extend(problem.packages(0))
    return list(dict.fromkeys(missing))


def wait_until(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.05) -> object:
    """Poll `condition` until it returns something truthy (returned), or fail saying `what` never happened."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


@dataclass(frozen=True)
class Geometry:
    x: int
    y: int
    width: int
    height: int
    viewable: bool

    def crop(self, screen: np.ndarray) -> np.ndarray:
        return screen[self.y : self.y + self.height, self.x : self.x + self.width]


class XSession:
    """One Xvfb display with openbox on it; `env` is what a program started on it gets."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._processes: list[subprocess.Popen] = []
        read_end, write_end = os.pipe()
        width, height = SCREEN
        self.server = subprocess.Popen(
            [
                "Xvfb",
                "-displayfd",
                str(write_end),
                "-screen",
                "0",
                f"{width}x{height}x24",
                "-nolisten",
                "tcp",
            ],
            pass_fds=(write_end,),
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "xvfb.log").open("w"),
        )
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            number = pipe.readline().strip()  # written once the server accepts connections
        if not number:
            raise RuntimeError(f"Xvfb did not start: {(workdir / 'xvfb.log').read_text()}")
        self.display = f":{number}"
        self.env = {**os.environ, "DISPLAY": self.display, "QT_QPA_PLATFORM": "xcb"}
        for name in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE"):
            self.env.pop(name, None)
        self.window_manager = self.spawn(["openbox", "--sm-disable"], "openbox")
        wait_until(
            lambda: "window id" in self.run(["xprop", "-root", "_NET_SUPPORTING_WM_CHECK"], check=False),
            10,
            "openbox managing the screen",
        )

    # --- processes -----------------------------------------------------------------------------------
    def spawn(self, argv: Sequence[str], name: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start a program on this display; its output goes to WORKDIR/NAME.out and NAME.err."""
        process = subprocess.Popen(
            list(argv),
            env={**self.env, **(env or {})},
            cwd=ROOT,
            stdout=(self.workdir / f"{name}.out").open("w"),
            stderr=(self.workdir / f"{name}.err").open("w"),
        )
        self._processes.append(process)
        return process

    def run(self, argv: Sequence[str], *, check: bool = True) -> str:
        done = subprocess.run(
            list(argv), env=self.env, capture_output=True, text=True, timeout=30, check=False
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()}")
        return done.stdout

    def close(self) -> None:
        for process in reversed([*self._processes, self.server]):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(10)

    # --- windows -------------------------------------------------------------------------------------
    def windows(self, title_pattern: str) -> list[int]:
        """Visible windows whose title matches the regular expression."""
        out = self.run(["xdotool", "search", "--onlyvisible", "--name", title_pattern], check=False)
        return [int(line) for line in out.split()]

    def wait_window(self, title_pattern: str, timeout: float = 30) -> int:
        found = wait_until(lambda: self.windows(title_pattern), timeout, f"a window titled {title_pattern!r}")
        return found[0]  # type: ignore[index]

    def wait_no_window(self, title_pattern: str, timeout: float = 15) -> None:
        wait_until(lambda: not self.windows(title_pattern), timeout, f"{title_pattern!r} closing")

    def title(self, window: int) -> str:
        return self.run(["xdotool", "getwindowname", str(window)], check=False).strip()

    def geometry(self, window: int) -> Geometry:
        """Where the window's contents are on the screen (xwininfo: absolute, without the frame)."""
        info = self.run(["xwininfo", "-id", str(window)])

        def field(name: str) -> int:
            return int(re.search(rf"{name}:\s+(-?\d+)", info).group(1))  # type: ignore[union-attr]

        return Geometry(
            field("Absolute upper-left X"),
            field("Absolute upper-left Y"),
            field("Width"),
            field("Height"),
            "IsViewable" in info,
        )

    def move(self, window: int, x: int, y: int) -> None:
        self.run(["xdotool", "windowmove", "--sync", str(window), str(x), str(y)], check=False)

    def activate(self, window: int) -> None:
        self.run(["xdotool", "windowactivate", "--sync", str(window)], check=False)

    # --- input ---------------------------------------------------------------------------------------
    def key(self, *keys: str) -> None:
        self.run(["xdotool", "key", "--clearmodifiers", *keys])

    def type(self, text: str) -> None:
        self.run(["xdotool", "type", "--delay", "15", text])

    def click(self, x: int, y: int) -> None:
        self.run(["xdotool", "mousemove", "--sync", str(x), str(y), "click", "1"])

    def drag(
        self, start: tuple[int, int], end: tuple[int, int], steps: int = 12, pause: float = 0.03
    ) -> None:
        """Press at `start`, move in steps to `end`, release: the pointer as a hand moves it."""
        self.run(["xdotool", "mousemove", "--sync", str(start[0]), str(start[1])])
        time.sleep(0.1)
        self.run(["xdotool", "mousedown", "1"])
        for i in range(1, steps + 1):
            x = round(start[0] + (end[0] - start[0]) * i / steps)
            y = round(start[1] + (end[1] - start[1]) * i / steps)
            self.run(["xdotool", "mousemove", str(x), str(y)])
            time.sleep(pause)
        time.sleep(0.2)  # a drop target answers each position before the release counts
        self.run(["xdotool", "mouseup", "1"])

    def drop_files(self, paths: Sequence[Path], at: tuple[int, int]) -> str:
        """Drag `paths` from a stand-in file manager window (xdnd_source.py) and drop them at `at` (screen
        coordinates); returns what the source reports ("dropped: accepted")."""
        source = self.spawn([SYSTEM_PYTHON, str(DRAG_SOURCE), *map(str, paths)], "drag-source")
        window = self.wait_window("^PhotoMend test drag source$", 15)
        self.move(window, SCREEN[0] - 260, 40)
        box = self.geometry(window)
        self.drag((box.x + box.width // 2, box.y + box.height // 2), at, steps=16, pause=0.04)
        source.wait(20)
        return (self.workdir / "drag-source.out").read_text().strip()

    # --- the screen ----------------------------------------------------------------------------------
    def screenshot(self, path: Path) -> np.ndarray:
        """Grab the whole screen to `path` (PNG) and return it as H x W x 3 uint8."""
        from PIL import Image

        self.run(["import", "-window", "root", f"png:{path}"])
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))


class AppProcess:
    """photomend-app started on the session's display with its own settings and queue folders."""

    def __init__(self, session: XSession, args: Sequence[str], home: Path, name: str = "app") -> None:
        self.session = session
        self.name = name
        entry = Path(sys.executable).with_name("photomend-app")
        argv = [str(entry)] if entry.exists() else [sys.executable, "-m", "desktop.app"]
        env = {
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "PYTHONFAULTHANDLER": "1",
        }
        self.process = session.spawn([*argv, *args], name, env)

    def wait(self, timeout: float = 60) -> int:
        return self.process.wait(timeout)

    @property
    def stderr(self) -> str:
        return (self.session.workdir / f"{self.name}.err").read_text(errors="replace")
