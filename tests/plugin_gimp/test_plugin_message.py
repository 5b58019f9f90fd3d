"""The plug-in's message after a restore, built from the worker's reply (GIMP's modules stubbed: no GIMP)."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from unittest import mock

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "plugin_gimp" / "photomend" / "photomend.py"


@pytest.fixture
def photomend(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    gi = types.ModuleType("gi")
    gi.require_version = lambda _name, _version: None
    repository = types.ModuleType("gi.repository")
    for name in ("Gegl", "Gimp", "GimpUi", "GLib", "GObject"):
        setattr(repository, name, mock.MagicMock(name=name))
    repository.Gimp.PlugIn = type("PlugIn", (), {})
    gi.repository = repository
    monkeypatch.setitem(sys.modules, "gi", gi)
    monkeypatch.setitem(sys.modules, "gi.repository", repository)
    spec = importlib.util.spec_from_file_location("photomend_plugin_under_test", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_message_lists_each_step_with_its_restorer_time_and_findings(photomend: types.ModuleType) -> None:
    reply = {
        "notes": [],
        "findings": ["Found grain of about 13.2/255 and removed it."],
        "steps": [
            {"label": "brighten", "restorer": "network", "findings": [], "seconds": 0.04},
            {
                "label": "reduce noise",
                "restorer": "grain",
                "findings": ["Found grain of about 13.2/255 and removed it."],
                "seconds": 1.52,
            },
        ],
    }
    assert photomend.run_message("reduce noise; brighten", reply).split("\n") == [
        "PhotoMend (reduce noise; brighten):",
        "1. brighten (network, 0.0 s)",
        "2. reduce noise (grain, 1.5 s)",
        "    Found grain of about 13.2/255 and removed it.",
    ]


def test_the_notes_come_first_and_a_lone_step_that_found_nothing_goes_unsaid(
    photomend: types.ModuleType,
) -> None:
    quiet = {"notes": [], "findings": [], "steps": [{"label": "reduce noise", "restorer": "network"}]}
    assert photomend.run_message("reduce noise", quiet) == ""
    noted = {**quiet, "notes": ["Blur is undone by deconvolution, not by the network."]}
    assert photomend.run_message("remove blur", noted).split("\n") == [
        "PhotoMend (remove blur):",
        "Blur is undone by deconvolution, not by the network.",
        "1. reduce noise (network, 0.0 s)",
    ]


def test_an_older_worker_without_steps_still_has_its_findings_said(photomend: types.ModuleType) -> None:
    reply = {
        "notes": [],
        "findings": ["Found an even out-of-focus blur (a disk of radius 3.00 px) and undid it."],
    }
    assert photomend.run_message("remove blur", reply) == (
        "PhotoMend (remove blur):\nFound an even out-of-focus blur (a disk of radius 3.00 px) and undid it."
    )
    assert photomend.run_message("remove blur", {"notes": [], "findings": []}) == ""


def test_an_enlargement_says_the_new_size_and_that_the_image_was_scaled(photomend: types.ModuleType) -> None:
    finding = "Enlarged ×2 with the super-resolution network to 128×96."
    reply = {
        "notes": [],
        "findings": [finding],
        "steps": [{"label": "enlarge", "restorer": "enlarge", "findings": [finding], "seconds": 0.4}],
    }
    # A lone step is said when it found something: the enlargement always names its new size.
    assert photomend.run_message("enlarge ×2", reply).split("\n") == [
        "PhotoMend (enlarge ×2):",
        "1. enlarge (enlarge, 0.4 s)",
        f"    {finding}",
    ]
    assert photomend.enlarge_message((80, 60), (160, 120), masked=True).split("\n") == [
        "The image was scaled from 80×60 to 160×120 to hold the enlarged layer (the layers below by GIMP's "
        "own interpolation); one undo restores it.",
        "The selection was scaled with the image and masks the new layer.",
    ]
    assert "selection" not in photomend.enlarge_message((80, 60), (160, 120), masked=False)
    # Not scaled (a new image, or nothing enlarged): nothing to add.
    assert photomend.enlarge_message((80, 60), (80, 60), masked=True) == ""
