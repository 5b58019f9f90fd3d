"""Static contracts run in the test suite: engine layering (import-linter), ruff, mypy on engine."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_engine_imports_no_qt_torch_gi_or_faces() -> None:
    result = _run(str(BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_the_contract_catches_an_engine_import_of_the_gimp_plugin(tmp_path: Path) -> None:
    # The same contract on a copy of the engine that imports the plug-in's installer, as `photomend gimp` did.
    shutil.copytree(ROOT / "engine", tmp_path / "engine", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "engine" / "gimp_probe.py").write_text("from plugin_gimp import install\n", encoding="utf-8")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    result = subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache"], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "engine.gimp_probe -> plugin_gimp" in result.stdout


def test_engine_import_does_not_load_forbidden_modules() -> None:
    # The static contract misses dynamic imports; check what importing every engine module really loads.
    code = (
        "import sys, pkgutil, importlib, engine\n"
        "for m in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    importlib.import_module(m.name)\n"
        "forbidden = {'torch', 'PySide6', 'gi', 'desktop', 'training', 'plugin_gimp'}\n"
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
