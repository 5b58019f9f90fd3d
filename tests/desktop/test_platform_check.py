"""The start-up check: without the libraries Qt's xcb plugin needs, photomend-app names the packages and
exits 1 instead of Qt's generic "could not load the Qt platform plugin" and an abort."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.platform_check import PlatformProblem, platform_problem, qt_platforms

ROOT = Path(__file__).resolve().parents[2]
# What a fresh Debian 12 desktop lacks (issue 31).
HIDDEN = ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1")
# Runs its arguments with the directories holding HIDDEN replaced, in a private mount namespace, by views
# of themselves without those files: the dynamic loader (and ldd) really cannot find them there.
HIDE_SCRIPT = r"""
set -e
scratch=$1; shift
dirs=$1; shift
i=0
for dir in $dirs; do
    i=$((i + 1))
    mkdir -p "$scratch/real$i" "$scratch/view$i"
    mount --bind "$dir" "$scratch/real$i" || exit 97
    ln -s "$scratch/real$i"/* "$scratch/view$i"/
    for name in HIDDEN_NAMES; do rm -f "$scratch/view$i/$name"*; done
    mount --bind "$scratch/view$i" "$dir" || exit 97
done
exec "$@"
"""


@pytest.mark.parametrize(
    ("environ", "platforms"),
    [
        ({}, ["xcb"]),
        ({"QT_QPA_PLATFORM": "offscreen"}, ["offscreen"]),
        ({"QT_QPA_PLATFORM": "wayland;xcb"}, ["wayland", "xcb"]),
        ({"QT_QPA_PLATFORM": "xcb:nomitshm"}, ["xcb"]),
        ({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"}, ["wayland", "xcb"]),
        ({"XDG_SESSION_TYPE": "wayland"}, ["xcb"]),  # no compositor to talk to
    ],
)
def test_the_platform_qt_will_try_first(environ: dict[str, str], platforms: list[str]) -> None:
    assert qt_platforms(environ) == platforms


@pytest.mark.parametrize("platform", ["offscreen", "minimal", "wayland"])
def test_other_platforms_are_not_checked_for_x11_libraries(platform: str) -> None:
    assert platform_problem({"QT_QPA_PLATFORM": platform}) is None


def test_the_message_names_the_packages_for_each_distribution() -> None:
    message = PlatformProblem("xcb", HIDDEN).message()
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4, libxcb-keysyms.so.1" in message
    assert "Debian/Ubuntu: sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in message
    assert "Fedora:        sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms" in message
    assert "Arch:          sudo pacman -S xcb-util-cursor xcb-util-wm xcb-util-keysyms" in message


def test_a_library_the_table_does_not_know_is_named_as_it_is() -> None:
    problem = PlatformProblem("xcb", ("libxcb-xinput.so.0", "libxcb-shape.so.0"))
    assert problem.packages(0) == ["libxcb-xinput.so.0", "libxcb-shape0"]
    assert problem.packages(1) == ["libxcb-xinput.so.0", "libxcb"]


def test_no_display_is_said_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    environ = {"QT_QPA_PLATFORM": "xcb"}
    problem = platform_problem(environ)
    if problem is not None and problem.missing:
        pytest.skip(f"this machine lacks {', '.join(problem.missing)}; the next test covers that")
    assert problem is not None and "DISPLAY is not set" in problem.message()


def library_dirs(sonames: tuple[str, ...]) -> list[str]:
    """The real folders the loader finds `sonames` in (ldconfig's cache), once each."""
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    found = []
    for soname in sonames:
        match = re.search(rf"^\s*{re.escape(soname)} \(.*x86-64.*\) => (\S+)$", cache, re.MULTILINE)
        if match is None:
            match = re.search(rf"^\s*{re.escape(soname)} .* => (\S+)$", cache, re.MULTILINE)
        if match:
            found.append(str(Path(match.group(1)).resolve().parent))
    return list(dict.fromkeys(found))


def run_without_xcb_libraries(argv: list[str], scratch: Path) -> subprocess.CompletedProcess[str]:
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("hiding libraries needs root and unshare (a private mount namespace)")
    dirs = library_dirs(HIDDEN)
    script = HIDE_SCRIPT.replace("HIDDEN_NAMES", " ".join(HIDDEN))
    env = {**os.environ, "DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}
    env.pop("WAYLAND_DISPLAY", None)
    done = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
            str(scratch),
            " ".join(dirs),
        ]
        + argv,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode == 97 or "unshare failed" in done.stderr:
        pytest.skip(f"cannot make a private mount namespace here: {done.stderr.strip()}")
    return done


def test_qt_alone_fails_without_the_libraries(tmp_path: Path) -> None:
    """The control: where the libraries are hidden, Qt itself cannot start its xcb plugin."""
    code = "from PySide6.QtWidgets import QApplication; QApplication([])"
    done = run_without_xcb_libraries([sys.executable, "-c", code], tmp_path)
    assert done.returncode != 0
    assert 'Could not load the Qt platform plugin "xcb"' in done.stderr


def test_photomend_app_names_the_packages_and_exits_1_without_the_libraries(tmp_path: Path) -> None:
    entry = Path(sys.executable).with_name("photomend-app")
    argv = [str(entry)] if entry.exists() else [sys.executable, "-m", "desktop.app"]
    done = run_without_xcb_libraries(argv, tmp_path)
    assert done.returncode == 1, done.stderr
    message = done.stderr
    assert "Qt's xcb platform plugin needs system libraries that are not installed" in message
    for soname in HIDDEN:
        assert soname in message
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1" in message
    assert "sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms" in message
    assert "sudo pacman -S xcb-util-cursor xcb-util-wm xcb-util-keysyms" in message
    assert "Could not load the Qt platform plugin" not in message  # Qt was never asked
