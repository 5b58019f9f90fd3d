"""Helpers for batch scripts run inside GIMP (python-fu-eval): GIMP's own Python, no numpy, no pytest."""

from __future__ import annotations

import json
import os

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio  # noqa: E402

ARGS = json.loads(os.environ.get("PHOTOMEND_TEST_ARGS", "{}"))
MARKER = "PHOTOMEND-RESULT "
FORMATS = {1: "Y' float", 2: "Y'A float", 3: "R'G'B' float", 4: "R'G'B'A float"}


def emit(**fields: object) -> None:
    """One result line for the test (GIMP's batch exit code is 0 whatever happened, so results go here)."""
    print(MARKER + json.dumps(fields, default=str), flush=True)


def load(path: str) -> Gimp.Image:
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))


def channels(drawable: Gimp.Drawable) -> int:
    return (1 if drawable.is_gray() else 3) + (1 if drawable.has_alpha() else 0)


def dump_layer(layer: Gimp.Drawable, path: str) -> dict:
    """Raw float32 of the layer, read back from GIMP (what the test compares), and its shape."""
    n = channels(layer)
    rect = Gegl.Rectangle.new(0, 0, layer.get_width(), layer.get_height())
    data = layer.get_buffer().get(rect, 1.0, FORMATS[n], Gegl.AbyssPolicy.CLAMP)
    with open(path, "wb") as out:
        out.write(data)
    return {"path": path, "width": layer.get_width(), "height": layer.get_height(), "channels": n}


def run_procedure(
    name: str, image: Gimp.Image, layer: Gimp.Drawable, run_mode: Gimp.RunMode, **props: object
):
    """Call a plug-in procedure through the PDB; returns (status nick, [return values])."""
    procedure = Gimp.get_pdb().lookup_procedure(name)
    if procedure is None:
        return "not-registered", []
    config = procedure.create_config()
    config.set_property("run-mode", run_mode)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [layer])
    for key, value in props.items():
        config.set_property(key.replace("_", "-"), value)
    result = procedure.run(config)
    status = result.index(0)
    values = [result.index(i) for i in range(1, result.length())]
    return status.value_nick, values


def layer_names(image: Gimp.Image) -> list[str]:
    return [layer.get_name() for layer in image.get_layers()]
