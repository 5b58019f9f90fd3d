"""Batch: Blur Map on a big layer made in GIMP (the test kills the plug-in mid-run, as GIMP's Cancel does)."""

import os
import sys

sys.path.insert(0, os.environ["PHOTOMEND_BATCH_DIR"])
from common import ARGS, Gimp, emit, layer_names, run_procedure  # noqa: E402

width, height = ARGS["width"], ARGS["height"]
image = Gimp.Image.new(width, height, Gimp.ImageBaseType.RGB)
layer = Gimp.Layer.new(image, "photo", width, height, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
image.insert_layer(layer, None, 0)
noise = Gimp.DrawableFilter.new(layer, "gegl:noise-rgb", "")
layer.merge_filter(noise)
status, values = run_procedure("plug-in-photomend-blur-map", image, layer, Gimp.RunMode.NONINTERACTIVE)
emit(status=status, layers=layer_names(image))
