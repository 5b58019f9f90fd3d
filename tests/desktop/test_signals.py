"""desktop.qt_signals: emitting from Python no longer drains `True` (the crash on quit, issue 31)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.qt_signals import EMIT_DROPS_A_REFERENCE, emit

ROOT = Path(__file__).resolve().parents[2]
EMITS = 20_000  # far more than the references True holds in a small program
PROGRAM = """
import sys
from PySide6.QtCore import QObject, Signal
{import_emit}

class Source(QObject):
    fired = Signal(object)

source = Source()
for _ in range({emits}):
    {emit}
print("emitted")
"""


def run_program(import_emit: str, call: str) -> subprocess.CompletedProcess[str]:
    code = PROGRAM.format(import_emit=import_emit, emits=EMITS, emit=call)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_pyside_fault_kills_a_program_that_emits_a_lot() -> None:
    """The cause, shown on its own: plain `signal.emit()` on this PySide takes a reference from True each
    time, and the interpreter dies with bool_dealloc (on exit, or as soon as the count runs out)."""
    if not EMIT_DROPS_A_REFERENCE:
        pytest.skip("this PySide6 keeps True's count when emitting: nothing to show")
    plain = run_program("", "source.fired.emit(None)")
    assert plain.returncode != 0
    assert "bool_dealloc" in plain.stderr


def test_emit_through_qt_signals_exits_cleanly() -> None:
    fixed = run_program("from desktop.qt_signals import emit", "emit(source.fired, None)")
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout.strip() == "emitted"


def test_emit_leaves_the_count_of_true_as_it_was(qapp) -> None:  # noqa: ANN001
    from PySide6.QtCore import QObject, Signal

    class Source(QObject):
        fired = Signal(float, str)

    source = Source()
    received: list[float] = []
    source.fired.connect(lambda value, _text: received.append(value))
    before = sys.getrefcount(True)
    for i in range(1000):
        emit(source.fired, float(i), "x")
    assert len(received) == 1000
    assert abs(sys.getrefcount(True) - before) < 50  # other threads may take or give a few meanwhile


def test_the_app_emits_only_through_qt_signals() -> None:
    """A plain `signal.emit(...)` call in desktop/ would bring the crash back."""
    offenders = [
        f"{path.name}:{node.lineno}"
        for path in sorted((ROOT / "desktop").glob("*.py"))
        if path.name != "qt_signals.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "emit"
    ]
    assert offenders == []
