"""Batch: run PhotoMend Blur Map through the PDB and report the new layer and score."""

import sys

sys.path.insert(0, __import__("os").environ["PHOTOMEND_BATCH_DIR"])
from common import ARGS, Gimp, dump_layer, emit, layer_names, load, run_procedure  # noqa: E402

image = load(ARGS["photo"])
source = image.get_layers()[0]
status, values = run_procedure(
    "plug-in-photomend-blur-map", image, source, Gimp.RunMode.NONINTERACTIVE, opacity=70.0
)
fields = {"status": status, "layers": layer_names(image)}
if status == "success":
    fields.update(
        score=values[1],
        report=values[2],
        map=dump_layer(values[0], ARGS["dump"] + "-map.f32"),
        opacity=values[0].get_opacity(),
    )
else:
    fields["error"] = values[0] if values else ""
emit(**fields)
