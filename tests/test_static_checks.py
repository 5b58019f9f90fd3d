"""Static contracts run in the test suite: engine layering (import-linter), ruff, mypy on engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_engine_imports_no_qt_torch_or_gi() -> None:
    result = _run(str(BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_engine_import_does_not_load_forbidden_modules() -> None:
    # The static contract misses dynamic imports; check what importing every engine module really loads.
    code = (
        "import sys, pkgutil, importlib, engine\n"
        "for m in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    importlib.import_module(m.name)\n"
        "forbidden = {'torch', 'PySide6', 'gi', 'desktop', 'training'}\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in forbidden)\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = _run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            ["ruff", "check", "engine", "desktop", "plugin_gimp", "training", "bench", "tests"], id="ruff"
        ),
        pytest.param(["mypy"], id="mypy-engine"),
    ],
)
def test_linters_pass(args: list[str]) -> None:
    result = _run(str(BIN / args[0]), *args[1:])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
