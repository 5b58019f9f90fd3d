"""emit(signal, *args): a Qt signal emitted from Python without PySide6 6.12's reference-count leak on `True`.

PySide6 6.12.0's `SignalInstance.emit()` returns `True` without taking a reference to it, so every emit
from Python takes one reference away from the `True` object (a failed `disconnect()` does the same to
`False`). On Python 3.11, where `True` is an ordinary counted object, the count reaches zero at some point
— typically while the interpreter tears down at exit, where the last holders of `True` release it — and
the process dies with "Fatal Python error: bool_dealloc: deallocating True or False ... Garbage-collecting"
(issue 31: the app on quit after a batch; `pytest tests/desktop/test_batch.py` every time).

The fault is measured once, at import, not assumed from the version: `emit()` gives the reference back only
where a probe shows it missing. For the calls PySide makes on our behalf and third-party code that emits or
disconnects (pytest-qt's waitSignal), a reserve of references is added to `True` and `False` as well: they
are static singletons that are never freed (Python 3.12 makes them immortal), so extra references cost
nothing and keep the interpreter's bool_dealloc check from firing.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal, SignalInstance

PROBE_EMITS = 64
RESERVE = 1 << 16

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


class _Probe(QObject):
    fired = Signal()


def _emit_drops_a_reference() -> bool:
    """Emit a private signal PROBE_EMITS times and see whether `True` lost that many references. Another
    thread may take or give references meanwhile, so the probe runs three times and the majority decides."""
    probe = _Probe()
    votes = 0
    for _ in range(3):
        before = sys.getrefcount(True)
        for _ in range(PROBE_EMITS):
            result = probe.fired.emit()
            del result
        lost = before - sys.getrefcount(True)
        if lost >= PROBE_EMITS // 2:
            votes += 1
            for _ in range(lost):
                _incref(True)  # the probe's own losses
    return votes >= 2


EMIT_DROPS_A_REFERENCE = _emit_drops_a_reference()
if EMIT_DROPS_A_REFERENCE:
    # RESERVE references each, in a tuple that is itself never freed (one reference too many), so that
    # tearing the interpreter down does not hand them back.
    _reserve = (True, False) * RESERVE
    _incref(_reserve)


def emit(signal: SignalInstance, *args: object) -> None:
    """`signal.emit(*args)`, giving back the reference PySide takes from the bool it returns."""
    result = signal.emit(*args)
    if EMIT_DROPS_A_REFERENCE and isinstance(result, bool):
        _incref(result)
