"""Runs beside GIMP's GUI under Xvfb (root's python3 + xdotool): screenshot a dialog, press keys."""

from __future__ import annotations

import subprocess
import sys
import time

import gi

gi.require_version("Gdk", "3.0")
from gi.repository import Gdk  # noqa: E402


def find_window(name: str, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", name], capture_output=True, text=True
        )
        if found.stdout.split():
            return found.stdout.split()[-1]
        time.sleep(0.5)
    raise SystemExit(f"no window named {name!r} appeared")


def screenshot(path: str) -> None:
    Gdk.init([])
    root = Gdk.get_default_root_window()
    pixbuf = Gdk.pixbuf_get_from_window(root, 0, 0, root.get_width(), root.get_height())
    pixbuf.savev(path, "png", [], [])


def press(window: str, keys: str) -> None:
    # No window manager under Xvfb: give the window the keyboard focus ourselves, then type (XTEST).
    subprocess.run(["xdotool", "windowfocus", "--sync", window], check=True)
    subprocess.run(["xdotool", "key", "--clearmodifiers", keys], check=True)


def main(argv: list[str]) -> int:
    action = argv[0]
    if action == "dialog":  # dialog NAME IMAGE-WINDOW PNG: wait for it, place it, capture, accept it
        window = find_window(argv[1])
        # No window manager: lay the windows out as a desktop would (image window full screen, dialog
        # centred on it) so the screenshot shows the dialog over the image.
        subprocess.run(["xdotool", "windowsize", find_window(argv[2]), "1280", "800"], check=True)
        subprocess.run(["xdotool", "windowmove", window, "440", "260"], check=True)
        subprocess.run(["xdotool", "mousemove", "1150", "700"], check=True)  # empty dock: no tooltip
        time.sleep(3)
        screenshot(argv[3])
        press(window, "Return")
    elif action == "shot":  # shot PNG: the screen as it is now
        time.sleep(2)  # let GIMP finish redrawing the canvas and the layers dock
        screenshot(argv[1])
    elif action == "undo":  # undo IMAGE-WINDOW: Ctrl+Z in the image window
        press(find_window(argv[1]), "ctrl+z")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
