"""Fixtures for the GIMP plug-in tests: a real GIMP 3 (native, or in a Debian 13 root built on first use)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from plugin_gimp.install import install
from tests.plugin_gimp import gimp_root

REPO = Path(__file__).resolve().parents[2]
BATCH_DIR = Path(__file__).resolve().parent / "batch"
MARKER = "PHOTOMEND-RESULT "


@dataclass
class GimpRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    results: list[dict] = field(default_factory=list)

    @property
    def result(self) -> dict:
        assert self.results, (
            f"the batch script reported nothing\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )
        return self.results[-1]


@dataclass
class Gimp:
    """Runs batch scripts in GIMP 3 with the plug-in installed in a private GIMP profile (HOME)."""

    root: Path | None  # None: the host's own GIMP 3
    home: Path
    binds: list[Path]

    def start(
        self, script: str, args: dict, *, extra_env: dict[str, str] | None = None, gui: bool = False
    ) -> subprocess.Popen:
        """Start GIMP on a batch script (fed on stdin); the caller waits for it (see finish)."""
        env = {
            "HOME": str(self.home),
            # GIMP's PATH must not contain PhotoMend's venv: the plug-in finds PhotoMend through its sidecar.
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "PHOTOMEND_TEST_ARGS": json.dumps(args),
            "PHOTOMEND_BATCH_DIR": str(BATCH_DIR),
            **(extra_env or {}),
        }
        if gui:
            gimp = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", "gimp-3.0", "--no-splash", "--no-fonts"]
        else:
            gimp = ["gimp-console-3.0", "-i"]
        argv = [*gimp, "--batch-interpreter", "python-fu-eval", "-b", "-", "--quit"]
        if self.root is None:
            command, run_env = argv, env
        else:
            command, run_env = gimp_root.chroot_command(self.root, argv, binds=self.binds, env=env), None
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=run_env,
        )
        proc.stdin.write((BATCH_DIR / script).read_text())
        proc.stdin.close()
        proc.stdin = None  # communicate() must not flush it again
        return proc

    @staticmethod
    def finish(proc: subprocess.Popen, started: float, timeout: float = 600) -> GimpRun:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
        run = GimpRun(proc.returncode, stdout, stderr, time.monotonic() - started)
        run.results = [
            json.loads(line[len(MARKER) :]) for line in stdout.splitlines() if line.startswith(MARKER)
        ]
        return run

    def run(
        self,
        script: str,
        args: dict,
        *,
        extra_env: dict[str, str] | None = None,
        gui: bool = False,
        timeout: float = 600,
    ) -> GimpRun:
        started = time.monotonic()
        proc = self.start(script, args, extra_env=extra_env, gui=gui)
        return self.finish(proc, started, timeout)

    def temp_folders(self) -> list[Path]:
        """The bridge's temp folders as GIMP's side sees them (inside the root when there is one)."""
        tmp = Path("/tmp") if self.root is None else self.root / "tmp"
        return sorted(tmp.glob("photomend-gimp-*"))


def _binds(*paths: Path) -> list[Path]:
    """Host paths the root must see at the same place: checkout, venv, the venv's base Python, temp files."""
    chosen: list[Path] = []
    for path in sorted({p.resolve() for p in paths}, key=lambda p: len(p.parts)):
        if not any(path.is_relative_to(parent) for parent in chosen):
            chosen.append(path)
    return chosen


@pytest.fixture(scope="session")
def gimp(tmp_path_factory: pytest.TempPathFactory) -> Gimp:
    """GIMP 3 with the plug-in installed by plugin_gimp.install.install(), as `photomend-gimp install`."""
    home = tmp_path_factory.mktemp("gimp-home")
    native = gimp_root.native_gimp_console()
    if native:
        root = None
        plugins = home / ".config" / "GIMP" / "3.0" / "plug-ins"
    else:
        if os.geteuid() != 0 or not shutil.which("unshare"):
            pytest.skip("no gimp-console-3.0 here, and building the Debian 13 GIMP root needs root")
        root = gimp_root.build_root()
        # HOME lives in the (bound) pytest temp folder, so the root sees the same plug-in folder.
        plugins = home / ".config" / "GIMP" / "3.0" / "plug-ins"
    # A first start's welcome dialog would sit over the GUI test's windows.
    (plugins.parent / "gimprc").parent.mkdir(parents=True, exist_ok=True)
    (plugins.parent / "gimprc").write_text("(show-welcome-dialog no)\n")
    install(plugins, python=Path(sys.executable).absolute())
    binds = _binds(REPO, Path(sys.prefix), Path(sys.base_prefix), tmp_path_factory.getbasetemp())
    return Gimp(root=root, home=home, binds=binds)
