"""`photomend-gimp install|uninstall`: copy the GIMP 3 plug-in and a sidecar config into GIMP's plug-ins.

The installer is the plug-in's own command (pyproject `[project.scripts]`), not the engine's: the engine
imports nothing from plugin_gimp.

GIMP 3 loads `plug-ins/<name>/<name>.py` (folder and file share a name, the file executable). The sidecar
`photomend.json` beside it names the Python interpreter of *this* environment and the worker script, so the
plug-in (running under GIMP's own Python) can start the engine without PhotoMend's environment ever being put
on GIMP's PATH or PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

#: The installer's command (pyproject `[project.scripts]`).
PROG = "photomend-gimp"
PLUGIN_NAME = "photomend"
SIDECAR_NAME = "photomend.json"
GIMP_SERIES = "3.0"
_PACKAGE_DIR = Path(__file__).resolve().parent
PLUGIN_SOURCE = _PACKAGE_DIR / PLUGIN_NAME / f"{PLUGIN_NAME}.py"
WORKER_SOURCE = _PACKAGE_DIR / "worker.py"


def gimp_plugins_dir(
    platform: str | None = None, env: Mapping[str, str] | None = None, home: Path | None = None
) -> Path:
    """GIMP 3's per-user plug-in folder on this (or the given) platform."""
    platform = platform or sys.platform
    env = os.environ if env is None else env
    home = home or Path.home()
    if platform == "win32":
        appdata = env.get("APPDATA") or str(home / "AppData" / "Roaming")
        return Path(appdata) / "GIMP" / GIMP_SERIES / "plug-ins"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "GIMP" / GIMP_SERIES / "plug-ins"
    config = env.get("XDG_CONFIG_HOME") or str(home / ".config")
    return Path(config) / "GIMP" / GIMP_SERIES / "plug-ins"


def sidecar_config(python: Path | None = None) -> dict[str, str]:
    """What the plug-in needs to reach this environment's engine."""
    return {
        # Not resolved: a venv's python is a symlink, and the venv (not its base interpreter) has the engine.
        "python": str(python or Path(sys.executable).absolute()),
        "worker": str(WORKER_SOURCE),
        "version": _version(),
    }


def install(target_dir: Path | None = None, *, python: Path | None = None) -> Path:
    """Install or refresh the plug-in in target_dir (default: GIMP's plug-ins); returns the plug-in file."""
    plugins = Path(target_dir) if target_dir else gimp_plugins_dir()
    folder = plugins / PLUGIN_NAME
    folder.mkdir(parents=True, exist_ok=True)
    plugin = folder / f"{PLUGIN_NAME}.py"
    # Copy, not symlink: works on Windows and survives the checkout moving; reinstall to update.
    tmp = plugin.with_suffix(".py.tmp")
    shutil.copyfile(PLUGIN_SOURCE, tmp)
    tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IRUSR | stat.S_IRGRP)
    os.replace(tmp, plugin)
    sidecar = folder / SIDECAR_NAME
    sidecar.write_text(json.dumps(sidecar_config(python), indent=2) + "\n", encoding="utf-8")
    return plugin


def uninstall(target_dir: Path | None = None) -> Path | None:
    """Remove the plug-in folder installed by `install`; returns it, or None if nothing was installed."""
    plugins = Path(target_dir) if target_dir else gimp_plugins_dir()
    folder = plugins / PLUGIN_NAME
    if not (folder / f"{PLUGIN_NAME}.py").exists() and not (folder / SIDECAR_NAME).exists():
        return None
    shutil.rmtree(folder)
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    """`photomend-gimp install|uninstall [--target DIR] [--python PATH]`; returns the exit code."""
    parser = argparse.ArgumentParser(prog=PROG, description="Install or remove PhotoMend's GIMP 3 plug-in.")
    parser.add_argument("action", choices=["install", "uninstall"])
    parser.add_argument(
        "--target", type=Path, default=None, help=f"GIMP plug-ins folder (default: {gimp_plugins_dir()})"
    )
    parser.add_argument(
        "--python",
        type=Path,
        default=None,
        help="PhotoMend's Python for the plug-in to use (default: this one)",
    )
    args = parser.parse_args(argv)
    try:
        if args.action == "install":
            where = install(args.target, python=args.python)
            print(
                f"installed the PhotoMend plug-in in {where}; restart GIMP and look under Filters › Enhance"
            )
        else:
            removed = uninstall(args.target)
            print(
                f"removed the PhotoMend plug-in from {removed}"
                if removed
                else "the PhotoMend plug-in was not installed"
            )
    except OSError as exc:
        print(f"{PROG} {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0


def _version() -> str:
    try:
        from engine import __version__
    except ImportError:
        return "unknown"
    return __version__


if __name__ == "__main__":
    sys.exit(main())
