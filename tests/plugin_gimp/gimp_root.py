"""Build (once) and enter a Debian 13 root with GIMP 3, for headless plug-in tests on hosts without GIMP 3."""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

SUITE = "trixie"
# gir1.2-gimp-3.0 carries the Gimp/GimpUi typelibs and python3-gi the bindings: together they are GIMP 3's
# Python plug-in support. xvfb + xauth run GIMP's GUI without a display (dialog screenshot) and xdotool
# presses its keys (Ctrl+Z: undo is a GUI action, not in the PDB).
PACKAGES = (
    "gimp",
    "python3-gi",
    "python3-gi-cairo",
    "gir1.2-gimp-3.0",
    "xvfb",
    "xauth",
    "xdotool",
    "fonts-dejavu-core",
)
DEFAULT_MIRROR = "http://deb.debian.org/debian"
STAMP = ".photomend-root-ok"


def default_root() -> Path:
    override = os.environ.get("PHOTOMEND_GIMP_ROOT")
    if override:
        return Path(override)
    return Path.home() / ".cache" / "photomend-tests" / f"{SUITE}-gimp"


def native_gimp_console() -> str | None:
    """The host's own gimp-console-3.0, when the host has GIMP 3 (then no root is needed)."""
    return shutil.which("gimp-console-3.0")


def mirror_from_apt_sources(etc_apt: Path = Path("/etc/apt")) -> str:
    """The Debian archive this machine already uses (deb822 .sources or one-line .list), else Debian's CDN."""
    candidates: list[str] = []
    files = sorted((etc_apt / "sources.list.d").glob("*")) + [etc_apt / "sources.list"]
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        candidates += re.findall(r"^\s*URIs:\s*(\S+)", text, flags=re.MULTILINE)
        candidates += re.findall(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, flags=re.MULTILINE)
    for uri in candidates:
        # The main archive, not -security/-updates mirrors or third-party repositories.
        if uri.rstrip("/").endswith("/debian"):
            return uri.rstrip("/")
    return DEFAULT_MIRROR


def _stamp_text() -> str:
    # A root built for another package list is rebuilt rather than silently missing a tool.
    return f"{SUITE}: {' '.join(PACKAGES)}\n"


def is_built(root: Path) -> bool:
    stamp = root / STAMP
    return (
        stamp.is_file()
        and stamp.read_text() == _stamp_text()
        and (root / "usr/bin/gimp-console-3.0").exists()
    )


def _apt_install(package: str) -> None:
    """Install a host package; a fresh machine's apt lists may be empty, so update once and retry."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-q", package]
    if subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
        subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL, check=True)
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)


@contextmanager
def _build_lock(root: Path) -> Iterator[None]:
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        # Two test sessions starting together must not both build (or one use a half-built root).
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build_root(root: Path | None = None, *, mirror: str | None = None, log: Path | None = None) -> Path:
    """Create the root with mmdebstrap unless it is already there; returns its path."""
    root = root or default_root()
    with _build_lock(root):
        if is_built(root):
            return root
        if os.geteuid() != 0:
            raise RuntimeError("building the GIMP 3 test root needs root (mmdebstrap --mode=root and chroot)")
        if not shutil.which("mmdebstrap"):
            _apt_install("mmdebstrap")
        mirror = mirror or mirror_from_apt_sources()
        partial = root.with_name(root.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        cmd = [
            "mmdebstrap",
            "--mode=root",
            "--variant=apt",
            "--include=" + ",".join(PACKAGES),
            # No documentation or translations: the root is only run, never read.
            "--dpkgopt=path-exclude=/usr/share/doc/*",
            "--dpkgopt=path-exclude=/usr/share/man/*",
            "--dpkgopt=path-exclude=/usr/share/locale/*",
            "--dpkgopt=path-include=/usr/share/locale/locale.alias",
            SUITE,
            str(partial),
            mirror,
        ]
        started = time.monotonic()
        log = log or root.with_name(root.name + ".build.log")
        with open(log, "w") as out:
            done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            raise RuntimeError(f"mmdebstrap failed ({done.returncode}); see {log}")
        (partial / STAMP).write_text(_stamp_text())
        with open(log, "a") as out:
            out.write(f"built from {mirror} in {time.monotonic() - started:.0f} s\n")
        shutil.rmtree(root, ignore_errors=True)
        partial.rename(root)  # atomic: a root is either complete or absent
        return root


def chroot_command(
    root: Path, argv: Sequence[str], *, binds: Sequence[Path], env: dict[str, str], cwd: Path | None = None
) -> list[str]:
    """A command running argv inside root, in a private mount namespace, host paths bound at the same place.

    The mounts live only in the new namespace, so nothing is left mounted when the command ends or is killed.
    """
    lines = [
        "set -e",
        f'R="{root}"',
        'mount -t proc proc "$R/proc"',
        'mount --rbind /dev "$R/dev"',
        'mount --rbind /sys "$R/sys"',
    ]
    for path in binds:
        path = Path(path)
        lines.append(f'mkdir -p "$R{path}" && mount --rbind "{path}" "$R{path}"')
    env_args = " ".join(_shell_quote(f"{k}={v}") for k, v in env.items())
    inner = " ".join(_shell_quote(a) for a in argv)
    cd = f"cd {_shell_quote(str(cwd))} && " if cwd else ""
    lines.append(
        f'exec chroot "$R" /usr/bin/env -i {env_args} /bin/sh -c {_shell_quote(cd + "exec " + inner)}'
    )
    return ["unshare", "--mount", "--propagation", "private", "--fork", "/bin/sh", "-c", "\n".join(lines)]


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["build", "path", "mirror"])
    parser.add_argument("--root", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.command == "mirror":
        print(mirror_from_apt_sources())
    elif args.command == "path":
        print(args.root or default_root())
    else:
        started = time.monotonic()
        root = build_root(args.root)
        print(f"{root} ready in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
