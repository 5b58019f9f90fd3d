"""Batch: a 12 MP layer made in GIMP (plasma + noise), run through the bridge; prints each run's timings."""

import json
import os
import sys
import time

sys.path.insert(0, os.environ["PHOTOMEND_BATCH_DIR"])
from common import ARGS, Gimp, emit, run_procedure  # noqa: E402

width, height = ARGS.get("width", 4000), ARGS.get("height", 3000)
image = Gimp.Image.new(width, height, Gimp.ImageBaseType.RGB)
layer = Gimp.Layer.new(image, "photo", width, height, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
image.insert_layer(layer, None, 0)
for operation, props in (("gegl:plasma", {"turbulence": 1.5}), ("gegl:noise-rgb", {"red": 0.08})):
    drawable_filter = Gimp.DrawableFilter.new(layer, operation, "")
    config = drawable_filter.get_config()
    for key, value in props.items():
        config.set_property(key, value)
    layer.merge_filter(drawable_filter)

for procedure, props in ARGS["runs"]:
    started = time.perf_counter()
    status, values = run_procedure(procedure, image, layer, Gimp.RunMode.NONINTERACTIVE, **props)
    wall = time.perf_counter() - started
    report = json.loads(values[-1]) if status == "success" else {"error": values[0] if values else ""}
    emit(procedure=procedure, status=status, wall_s=wall, report=report, megapixels=width * height / 1e6)
    if status == "success":
        image.remove_layer(values[0])  # next run starts from the same single layer
