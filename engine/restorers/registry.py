"""The explicit list of restorers (no directory scan, so PyInstaller and readers see all).

A fault's specialists are read in this order, and a later one that finds its fault supersedes an earlier
one (the shake is read after the even blur, whose kernel its path must explain better). Add a restorer
here, by hand: the planner finds it by the faults it declares.
"""

from __future__ import annotations

from engine.restorers.base import Restorer
from engine.restorers.defocus import DefocusRestorer
from engine.restorers.enlarge import EnlargeRestorer
from engine.restorers.exposure import ExposureRestorer
from engine.restorers.grain import GrainRestorer
from engine.restorers.grain_jpeg import GrainJpegRestorer
from engine.restorers.jpeg import JpegRestorer
from engine.restorers.network import GENERALIST
from engine.restorers.shake import ShakeRestorer

#: The specialists, each for the faults it declares (grain+jpeg: both at once, where they run back to back).
RESTORERS: tuple[Restorer, ...] = (
    JpegRestorer(),
    ExposureRestorer(),
    GrainJpegRestorer(),
    GrainRestorer(),
    DefocusRestorer(),
    ShakeRestorer(),
    EnlargeRestorer(),
)

__all__ = ["GENERALIST", "RESTORERS", "get_restorer", "specialists_for"]


def specialists_for(fault: str) -> tuple[Restorer, ...]:
    """The registered specialists for `fault`, in registry order."""
    return tuple(restorer for restorer in RESTORERS if fault in restorer.faults)


def get_restorer(name: str) -> Restorer:
    for restorer in (*RESTORERS, GENERALIST):
        if restorer.name == name:
            return restorer
    raise KeyError(f"unknown restorer {name!r}")
